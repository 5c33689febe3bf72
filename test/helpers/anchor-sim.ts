/**
 * Anchor-contract test helpers: validator sets of the vector anchor keys
 * (`anchorKey(i)`), and checkpoints signed for PouwAnchor's calldata form
 * (64-byte EIP-2098 signatures packed in validator order plus a signer bitmap).
 */
import { concat, type Hex } from "viem";
import { anchorAddress, checkpointDigest, signDigest, sortMembers, toCompact, validatorSetHash, type Checkpoint } from "../../node/anchor/checkpoint.ts";
import { anchorKey } from "./checkpoint-vectors.ts";

export interface KeyedMember {
  address: Hex;
  power: bigint;
  key: Hex;
}

/** Anchor keys `ids` with `powers`, sorted by address (the contract's order). */
export function anchorSet(ids: readonly number[], powers: readonly bigint[]): KeyedMember[] {
  const keyOf = new Map(ids.map((id) => [anchorAddress(anchorKey(id)), anchorKey(id)]));
  return sortMembers(ids.map((id, i) => ({ address: anchorAddress(anchorKey(id)), power: powers[i]! }))).map((m) => ({ ...m, key: keyOf.get(m.address)! }));
}

export const setHash = (set: readonly KeyedMember[]): Hex => validatorSetHash(set);

/** The constructor / submitCheckpoint arguments for a set. */
export function setArgs(set: readonly KeyedMember[]): { validators: Hex[]; powers: bigint[] } {
  return { validators: set.map((m) => m.address), powers: set.map((m) => m.power) };
}

/** The smallest prefix (by set position) whose power is more than 2/3 of the total. */
export function overTwoThirds(set: readonly KeyedMember[]): number[] {
  const total = set.reduce((s, m) => s + m.power, 0n);
  const out: number[] = [];
  let signed = 0n;
  for (let i = 0; i < set.length && signed * 3n <= total * 2n; i++) {
    out.push(i);
    signed += set[i]!.power;
  }
  return out;
}

/** Compact (64-byte) signatures of set members `positions` over the checkpoint's digest, in the given order. */
export async function compactSignatures(c: Checkpoint, set: readonly KeyedMember[], positions: readonly number[]): Promise<Hex[]> {
  const digest = checkpointDigest(c);
  return Promise.all(positions.map(async (i) => toCompact(await signDigest(digest, set[i]!.key))));
}

export function bitmapOf(positions: readonly number[]): bigint {
  return positions.reduce((b, i) => b | (1n << BigInt(i)), 0n);
}

/** Signatures and bitmap as submitCheckpoint takes them: members `positions` (any order in, ascending out). */
export async function signCheckpoint(c: Checkpoint, set: readonly KeyedMember[], positions: readonly number[]): Promise<{ signatures: Hex; bitmap: bigint }> {
  const sorted = [...new Set(positions)].sort((a, b) => a - b);
  const sigs = await compactSignatures(c, set, sorted);
  return { signatures: sigs.length === 0 ? "0x" : concat(sigs), bitmap: bitmapOf(sorted) };
}
