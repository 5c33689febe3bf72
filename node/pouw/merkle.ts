/**
 * The Merkle tree over a proof's checkpoint hashes (DESIGN §8: the
 * commitment's `checkpointsRoot`): SHA-256 of pairs over the leaves padded
 * with zero hashes to a power of two, as SSZ merkleizes a vector. A branch
 * lists the siblings from the leaf up.
 */
import { sha256 } from "../crypto/hash.ts";

const ZERO = new Uint8Array(32);

function pad(leaves: readonly Uint8Array[]): Uint8Array[] {
  let n = 1;
  while (n < leaves.length) n *= 2;
  return [...leaves, ...Array.from({ length: n - leaves.length }, () => ZERO)];
}

export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return ZERO;
  let level = pad(leaves);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

export function merkleBranch(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (index < 0 || index >= leaves.length) throw new RangeError(`leaf ${index} of ${leaves.length}`);
  const branch: Uint8Array[] = [];
  let level = pad(leaves);
  let i = index;
  while (level.length > 1) {
    branch.push(level[i ^ 1]!);
    const next: Uint8Array[] = [];
    for (let k = 0; k < level.length; k += 2) next.push(sha256(level[k]!, level[k + 1]!));
    level = next;
    i >>= 1;
  }
  return branch;
}

/** True when `leaf` sits at `index` of a tree of `count` leaves with this root. */
export function verifyBranch(root: Uint8Array, leaf: Uint8Array, index: number, count: number, branch: readonly Uint8Array[]): boolean {
  if (index < 0 || index >= count) return false;
  let depth = 0;
  while (1 << depth < count) depth++;
  if (branch.length !== depth) return false;
  let h = leaf;
  let i = index;
  for (const sib of branch) {
    h = i & 1 ? sha256(sib, h) : sha256(h, sib);
    i >>= 1;
  }
  return Buffer.from(h).equals(Buffer.from(root));
}
