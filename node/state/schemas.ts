/** The authenticated state tree (DESIGN §5) as SSZ schemas. */
import { ContainerType, ListCompositeType, type ValueOf } from "@chainsafe/ssz";
import { Address, Amount, Uint64 } from "../types/primitives.ts";
import { ValidatorSet } from "../types/validator.ts";

/** An account leaf carries its address, so a proof shows address → account. */
export const Account = new ContainerType({ address: Address, balance: Amount, nonce: Uint64 }, { typeName: "Account" });

export const MAX_ACCOUNTS = 2 ** 32;
export const AccountList = new ListCompositeType(Account, MAX_ACCOUNTS);

export const Totals = new ContainerType(
  {
    /** Units in existence: genesis plus issuance minus burns. */
    supply: Amount,
    /** Units burned so far (base fees, slashes). */
    burned: Amount,
    /** Undistributed PoUW issuance (DESIGN §8). */
    pouwPool: Amount,
  },
  { typeName: "Totals" },
);

/** The state root in every header is `hashTreeRoot(State)`. */
export const State = new ContainerType({ accounts: AccountList, validators: ValidatorSet, totals: Totals }, { typeName: "State" });

/** Everything of the state but the accounts, stored as one record. */
export const StateMeta = new ContainerType({ validators: ValidatorSet, totals: Totals, accountCount: Uint64 }, { typeName: "StateMeta" });

export type AccountT = ValueOf<typeof Account>;
export type TotalsT = ValueOf<typeof Totals>;
