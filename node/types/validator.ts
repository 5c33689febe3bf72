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
