/**
 * The `validator_identity` req/resp protocol: how a node learns which of its
 * peers are validators (decision 0009). A validator answers with its
 * consensus public key and an ML-DSA signature over
 * "pouw/peer-identity/v1" ‖ chain id ‖ the answering node's libp2p peer id,
 * so the proof binds the key to that one connection's identity (Noise has
 * already authenticated the peer id) and cannot be replayed by another peer.
 * A non-validator answers with nothing. The asker checks the signature and
 * that the key belongs to the active set (the caller's `isValidatorKey`);
 * the set can change at an epoch, so membership is asked again each time.
 */
import { ContainerType, type ValueOf } from "@chainsafe/ssz";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Libp2p } from "@libp2p/interface";
import { mlDsa } from "../crypto/mldsa.ts";
import { PublicKey, Signature } from "../types/primitives.ts";
import { protocolId, request, serve } from "./reqresp.ts";

export const ValidatorIdentity = new ContainerType({ publicKey: PublicKey, signature: Signature }, { typeName: "ValidatorIdentity" });
export type ValidatorIdentityT = ValueOf<typeof ValidatorIdentity>;

const DOMAIN = new TextEncoder().encode("pouw/peer-identity/v1");
const TIMEOUT_MS = 5_000;
const PROOF_BYTES = PublicKey.lengthBytes + Signature.lengthBytes;

/** The bytes a validator signs to say "the libp2p peer `peerId` is my node on chain `chainId`". */
export function identityMessage(chainId: string, peerId: string): Uint8Array {
  const chain = new TextEncoder().encode(chainId);
  const peer = peerIdFromString(peerId).toMultihash().bytes;
  const out = new Uint8Array(DOMAIN.length + 1 + chain.length + peer.length);
  out.set(DOMAIN, 0);
  out[DOMAIN.length] = chain.length;
  out.set(chain, DOMAIN.length + 1);
  out.set(peer, DOMAIN.length + 1 + chain.length);
  return out;
}

/** A validator's proof for its own peer id. */
export function signIdentity(chainId: string, peerId: string, key: { publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array }): Uint8Array {
  return ValidatorIdentity.serialize({ publicKey: key.publicKey, signature: key.sign(identityMessage(chainId, peerId)) });
}

/** The public key a proof from `peerId` proves, or null (malformed, or a signature that does not verify). */
export function verifyIdentity(chainId: string, peerId: string, bytes: Uint8Array): Uint8Array | null {
  let id: ValidatorIdentityT;
  try {
    id = ValidatorIdentity.deserialize(bytes);
  } catch {
    return null;
  }
  return mlDsa().verify(id.publicKey, identityMessage(chainId, peerId), id.signature) ? id.publicKey : null;
}

export async function serveIdentity(libp2p: Libp2p, chainId: string, proof: Uint8Array | null): Promise<void> {
  await serve(libp2p, protocolId(chainId, "validator_identity"), { maxResponseBytes: PROOF_BYTES, timeoutMs: TIMEOUT_MS }, async () => (proof ? [proof] : []));
}

/** Asks `peer` for its proof: the proven public key, null for a peer that claims none, or throws on a bad proof or a failed request. */
export async function requestIdentity(libp2p: Libp2p, chainId: string, peer: string): Promise<Uint8Array | null> {
  const res = await request(libp2p, peer, protocolId(chainId, "validator_identity"), new Uint8Array(0), { maxResponseBytes: PROOF_BYTES, timeoutMs: TIMEOUT_MS });
  if (res.length === 0) return null;
  const key = verifyIdentity(chainId, peer, res[0]!);
  if (!key) throw new Error("validator identity does not verify");
  return key;
}
