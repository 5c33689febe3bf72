import { ContainerType, ListCompositeType, type ValueOf } from "@chainsafe/ssz";
import { Address, EthAddress, PublicKey, Uint64 } from "./primitives.ts";
import { MAX_VALIDATORS } from "./block.ts";

/** A member of an active validator set; `validatorsHash` in headers is the root of the list. */
export const ValidatorInfo = new ContainerType(
  { address: Address, publicKey: PublicKey, anchorAddress: EthAddress, power: Uint64 },
  { typeName: "ValidatorInfo" },
);
export const ValidatorSet = new ListCompositeType(ValidatorInfo, MAX_VALIDATORS);

export type ValidatorInfoT = ValueOf<typeof ValidatorInfo>;
export type ValidatorSetT = ValueOf<typeof ValidatorSet>;

const setRoots = new WeakMap<ValidatorSetT, Uint8Array>();

/**
 * `hashTreeRoot` of a validator set, computed once per set object (a set is
 * replaced, never mutated, when it changes): every block header carries it
 * twice, and it hashes every member's 1,312-byte public key.
 */
export function validatorSetRoot(set: ValidatorSetT): Uint8Array {
  let r = setRoots.get(set);
  if (!r) setRoots.set(set, (r = ValidatorSet.hashTreeRoot(set)));
  return r;
}
