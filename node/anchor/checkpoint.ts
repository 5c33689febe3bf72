/**
 * Anchor-key signatures over checkpoints (DESIGN §9) and what the node hands
 * the relayer: 65-byte low-s signatures over the digest itself, their
 * EIP-2098 form, signed checkpoints and the targets they are submitted to.
 * The formats themselves (digest, set hash, withdrawal tree) live in
 * `types/settlement.ts`, below the state transition that computes them, and
 * are re-exported here.
 */
import { parseSignature, recoverAddress, serializeCompactSignature, signatureToCompactSignature, type Hex } from "viem";
import { privateKeyToAddress, sign } from "viem/accounts";
import type { AnchorMember, Checkpoint } from "../types/settlement.ts";

export * from "../types/settlement.ts";

/** The anchor key's EVM address. */
export function anchorAddress(privateKey: Hex): Hex {
  return privateKeyToAddress(privateKey);
}

/** A 65-byte r‖s‖v signature (v 27 or 28, low s) over the digest itself, no message prefix. */
export async function signDigest(digest: Hex, privateKey: Hex): Promise<Hex> {
  return sign({ hash: digest, privateKey, to: "hex" });
}

const SECP256K1_N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** The signer of a 65-byte signature, or null when it is malformed or high-s (contracts refuse those too). */
export async function recoverSigner(digest: Hex, signature: Hex): Promise<Hex | null> {
  if (signature.length !== 2 + 130) return null;
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = parseInt(signature.slice(130, 132), 16);
  if (s > SECP256K1_N_HALF || (v !== 27 && v !== 28)) return null;
  try {
    return await recoverAddress({ hash: digest, signature });
  } catch {
    return null;
  }
}

/** The EIP-2098 form (64 bytes: r ‖ yParity·2^255 + s) contracts may take to save calldata. */
export function toCompact(signature: Hex): Hex {
  return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)));
}


/**
 * A checkpoint with the anchor set that signs it and the signatures gathered
 * so far: what the node serves (`pouw_getCheckpoint`) and the relayer submits.
 */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The epoch's anchor set, ascending by address (what `validatorSetHash` commits to). */
  members: AnchorMember[];
  /** The set after the epoch (what `nextValidatorSetHash` commits to), ascending. */
  nextMembers: AnchorMember[];
  /** 65-byte r‖s‖v signatures aligned with `members`; null where a member has not signed. */
  signatures: (Hex | null)[];
}

/** Whether the signatures present carry more than 2/3 of the set's power (the contracts' rule). */
export function hasQuorum(c: SignedCheckpoint): boolean {
  const { signed, total } = signedPower(c);
  return signed * 3n > total * 2n;
}

/** The power of the members whose signatures are present, and of the whole set. */
export function signedPower(c: SignedCheckpoint): { signed: bigint; total: bigint } {
  let signed = 0n;
  let total = 0n;
  c.members.forEach((m, i) => {
    total += m.power;
    if (c.signatures[i]) signed += m.power;
  });
  return { signed, total };
}

/** One settlement chain the relayer submits checkpoints to (an EVM anchor contract or the Sui anchor object). */
export interface AnchorTarget {
  /** For logs: `evm:31337`, `sui:testnet`. */
  readonly name: string;
  /** The last epoch the anchor accepted (0 before the first). */
  lastEpoch(): Promise<bigint>;
  /** Submits one checkpoint with a quorum of signatures and waits until it is executed; returns the transaction id. Throws when it reverts. */
  submit(c: SignedCheckpoint): Promise<string>;
}
