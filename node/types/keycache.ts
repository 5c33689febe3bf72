/**
 * What a transaction derives from its public key, computed once per key: the
 * key's SSZ root (41 chunks of hashing) and its address (a SHA-256 over 1.3
 * KB). A sender's transactions all carry the same key, so at load this saves
 * about a third of decoding a transaction. Entries are found by the key's
 * first 32 bytes and then compared in full, so a crafted key that shares
 * those bytes only evicts, never matches.
 */
import { merkleizeBlocksBytes } from "@chainsafe/persistent-merkle-tree";
import { addressFromPublicKey } from "../crypto/address.ts";
import { PublicKey } from "./primitives.ts";
import { Transaction, type TransactionT } from "./transaction.ts";

export interface KeyInfo {
  readonly root: Uint8Array;
  readonly address: Uint8Array;
}

const MAX_ENTRIES = 20_000;
const cache = new Map<string, { publicKey: Buffer; info: KeyInfo }>();

export function keyInfo(publicKey: Uint8Array): KeyInfo {
  const pk = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength);
  const id = pk.toString("latin1", 0, 32);
  const hit = cache.get(id);
  if (hit && hit.publicKey.equals(pk)) return hit.info;
  const info: KeyInfo = { root: PublicKey.hashTreeRoot(publicKey), address: addressFromPublicKey(publicKey) };
  if (!hit && cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(id, { publicKey: Buffer.from(pk), info });
  return info;
}

const FIELDS = Transaction.fieldsEntries;
const PK_FIELD = FIELDS.findIndex((f) => f.fieldName === "publicKey");
if (PK_FIELD < 0) throw new Error("Transaction has no publicKey field");

/**
 * `Transaction.hashTreeRoot(tx)` with the public key's root given: the
 * container's field roots merkleized exactly as @chainsafe/ssz does
 * (test/unit/types/keycache.test.ts checks equality on random transactions).
 */
export function transactionRoot(tx: TransactionT, publicKeyRoot: Uint8Array): Uint8Array {
  const blocks = new Uint8Array(Math.ceil(FIELDS.length / 2) * 64);
  for (let i = 0; i < FIELDS.length; i++) {
    if (i === PK_FIELD) blocks.set(publicKeyRoot, i * 32);
    else {
      const f = FIELDS[i]!;
      (f.fieldType as { hashTreeRootInto(v: unknown, out: Uint8Array, offset: number): void }).hashTreeRootInto((tx as unknown as Record<string, unknown>)[f.fieldName], blocks, i * 32);
    }
  }
  const out = new Uint8Array(32);
  merkleizeBlocksBytes(blocks, Transaction.maxChunkCount, out, 0);
  return out;
}
