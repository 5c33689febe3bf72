/** Merkle proofs of accounts against a state root. */
import { ProofType, createNodeFromProof, type SingleProof } from "@chainsafe/persistent-merkle-tree";
import { bytesEqual } from "../util/hex.ts";
import { Account, State, type AccountT } from "./schemas.ts";
import type { WorldState } from "./world.ts";

export interface AccountProof {
  /** Position of the account in the accounts list. */
  index: number;
  /** Generalized index of the account's subtree root in the state tree. */
  gindex: bigint;
  /** Sibling hashes from the account up to the state root. */
  witnesses: Uint8Array[];
}

export function accountGindex(index: number): bigint {
  return State.getPathInfo(["accounts", index]).gindex;
}

export function createAccountProof(world: WorldState, index: number): AccountProof {
  return { index, gindex: accountGindex(index), witnesses: world.accountWitnesses(index) };
}

/** True when `account` sits at `proof.index` of the state whose root is `stateRoot`. */
export function verifyAccountProof(stateRoot: Uint8Array, account: AccountT, proof: AccountProof): boolean {
  if (proof.gindex !== accountGindex(proof.index)) return false;
  // Exactly one witness per level of the path: padding is not a valid proof.
  if (proof.witnesses.length !== proof.gindex.toString(2).length - 1) return false;
  try {
    const single: SingleProof = { type: ProofType.single, gindex: proof.gindex, leaf: Account.hashTreeRoot(account), witnesses: proof.witnesses };
    const node = createNodeFromProof(single);
    return bytesEqual(node.root, stateRoot);
  } catch {
    return false;
  }
}
