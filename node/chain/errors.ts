import { PouwError } from "../util/errors.ts";

/** Why a transaction cannot be included in a block (it is never included, nothing is charged). */
export const TxErrorCode = {
  MALFORMED_TX: "MALFORMED_TX",
  TX_TOO_LARGE: "TX_TOO_LARGE",
  WRONG_CHAIN_ID: "WRONG_CHAIN_ID",
  BAD_SIGNATURE: "BAD_SIGNATURE",
  TX_TYPE_NOT_ENABLED: "TX_TYPE_NOT_ENABLED",
  NONCE_TOO_LOW: "NONCE_TOO_LOW",
  NONCE_GAP: "NONCE_GAP",
  FEE_BELOW_BASE_FEE: "FEE_BELOW_BASE_FEE",
  TIP_ABOVE_MAX_FEE: "TIP_ABOVE_MAX_FEE",
  GAS_LIMIT_TOO_LOW: "GAS_LIMIT_TOO_LOW",
  GAS_LIMIT_ABOVE_BLOCK: "GAS_LIMIT_ABOVE_BLOCK",
  COST_OVERFLOW: "COST_OVERFLOW",
  INSUFFICIENT_FUNDS: "INSUFFICIENT_FUNDS",
  UNKNOWN_ACCOUNT: "UNKNOWN_ACCOUNT",
  /** A challenge's start checkpoint is not available to this node (it fetches it, and the transaction waits). */
  BLOB_UNAVAILABLE: "BLOB_UNAVAILABLE",
  /** A Withdraw names a domain that `settlementDomains` does not list (when it lists any): nothing could ever claim it. */
  WITHDRAW_UNKNOWN_DOMAIN: "WITHDRAW_UNKNOWN_DOMAIN",
  /** A Withdraw to an EVM vault whose recipient is not an address (upper 12 bytes not zero): the vault would never pay it. */
  WITHDRAW_RECIPIENT_NOT_EVM: "WITHDRAW_RECIPIENT_NOT_EVM",
} as const;
export type TxErrorCode = (typeof TxErrorCode)[keyof typeof TxErrorCode];

export class TxError extends PouwError<TxErrorCode> {}

/** Why an included transaction failed in execution (it still pays its fee and bumps the nonce). */
export const ExecErrorCode = {
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
  BALANCE_OVERFLOW: "BALANCE_OVERFLOW",
  /** Staking (DESIGN §7). */
  VALIDATOR_EXISTS: "VALIDATOR_EXISTS",
  OPERATOR_HAS_VALIDATOR: "OPERATOR_HAS_VALIDATOR",
  COMMISSION_TOO_HIGH: "COMMISSION_TOO_HIGH",
  STAKE_TOO_SMALL: "STAKE_TOO_SMALL",
  UNKNOWN_VALIDATOR: "UNKNOWN_VALIDATOR",
  VALIDATOR_TOMBSTONED: "VALIDATOR_TOMBSTONED",
  VALIDATOR_HAS_NO_TOKENS: "VALIDATOR_HAS_NO_TOKENS",
  SHARES_OVERFLOW: "SHARES_OVERFLOW",
  NO_DELEGATION: "NO_DELEGATION",
  INSUFFICIENT_SHARES: "INSUFFICIENT_SHARES",
  NOT_AN_OPERATOR: "NOT_AN_OPERATOR",
  NOT_JAILED: "NOT_JAILED",
  STILL_JAILED: "STILL_JAILED",
  /** A validator's anchor address is zero, or another validator's (checkpoint sets need one distinct signer each). */
  ANCHOR_ADDRESS_ZERO: "ANCHOR_ADDRESS_ZERO",
  ANCHOR_ADDRESS_TAKEN: "ANCHOR_ADDRESS_TAKEN",
  /** Settlement (DESIGN §9). */
  WITHDRAW_ZERO_AMOUNT: "WITHDRAW_ZERO_AMOUNT",
  WITHDRAW_ZERO_DOMAIN: "WITHDRAW_ZERO_DOMAIN",
  WITHDRAW_ZERO_RECIPIENT: "WITHDRAW_ZERO_RECIPIENT",
  /** As the TxErrorCodes of the same names (admission refuses these first; execution checks again). */
  WITHDRAW_UNKNOWN_DOMAIN: "WITHDRAW_UNKNOWN_DOMAIN",
  WITHDRAW_RECIPIENT_NOT_EVM: "WITHDRAW_RECIPIENT_NOT_EVM",
  /** Useful work (DESIGN §8). */
  UNKNOWN_DATASET: "UNKNOWN_DATASET",
  BAD_JOB_SPEC: "BAD_JOB_SPEC",
  DEADLINE_PASSED: "DEADLINE_PASSED",
  JOB_NOT_FOUND: "JOB_NOT_FOUND",
  NOT_REQUESTER: "NOT_REQUESTER",
  JOB_NOT_OPEN: "JOB_NOT_OPEN",
  WRONG_CHECKPOINT_COUNT: "WRONG_CHECKPOINT_COUNT",
  BOND_TOO_LOW: "BOND_TOO_LOW",
  METRIC_BELOW_TARGET: "METRIC_BELOW_TARGET",
  PROOF_NOT_FOUND: "PROOF_NOT_FOUND",
  CHALLENGE_WINDOW_CLOSED: "CHALLENGE_WINDOW_CLOSED",
  /** The challenge's hashes, branches, step count or start checkpoint do not match the proof's commitment. */
  CHALLENGE_INVALID: "CHALLENGE_INVALID",
  /** The segment re-executes to the committed checkpoint: no fraud. */
  CHALLENGE_FAILED: "CHALLENGE_FAILED",
} as const;
export type ExecErrorCode = (typeof ExecErrorCode)[keyof typeof ExecErrorCode];

/** Why a block is invalid. */
export const BlockErrorCode = {
  WRONG_CHAIN_ID: "BLOCK_WRONG_CHAIN_ID",
  BAD_HEIGHT: "BLOCK_BAD_HEIGHT",
  BAD_PARENT: "BLOCK_BAD_PARENT",
  BAD_TIME: "BLOCK_BAD_TIME",
  TIME_TOO_FAR_AHEAD: "BLOCK_TIME_TOO_FAR_AHEAD",
  BAD_BASE_FEE: "BLOCK_BAD_BASE_FEE",
  BAD_TX_ROOT: "BLOCK_BAD_TX_ROOT",
  BAD_ATTESTATION_ROOT: "BLOCK_BAD_ATTESTATION_ROOT",
  BAD_EVIDENCE_ROOT: "BLOCK_BAD_EVIDENCE_ROOT",
  BAD_LAST_COMMIT: "BLOCK_BAD_LAST_COMMIT",
  BAD_STATE_ROOT: "BLOCK_BAD_STATE_ROOT",
  BAD_GAS_USED: "BLOCK_BAD_GAS_USED",
  GAS_LIMIT_EXCEEDED: "BLOCK_GAS_LIMIT_EXCEEDED",
  TOO_MANY_TXS: "BLOCK_TOO_MANY_TXS",
  BAD_VALIDATORS_HASH: "BLOCK_BAD_VALIDATORS_HASH",
  BAD_PROPOSER: "BLOCK_BAD_PROPOSER",
  INVALID_TX: "BLOCK_INVALID_TX",
  DUPLICATE_TX: "BLOCK_DUPLICATE_TX",
  INVALID_EVIDENCE: "BLOCK_INVALID_EVIDENCE",
  INVALID_ATTESTATION: "BLOCK_INVALID_ATTESTATION",
  /**
   * Not a verdict on the block: it needs a blob (a challenge's start
   * checkpoint) that this node could not get yet. The block is neither
   * invalid nor its sender at fault; try again once the blob is fetched.
   */
  BLOB_UNAVAILABLE: "BLOCK_BLOB_UNAVAILABLE",
} as const;
export type BlockErrorCode = (typeof BlockErrorCode)[keyof typeof BlockErrorCode];

export class BlockError extends PouwError<BlockErrorCode> {}

/** True when `e` says only that this node lacks a blob the block needs (not that the block is invalid). */
export const isBlobUnavailable = (e: unknown): boolean => e instanceof BlockError && e.code === BlockErrorCode.BLOB_UNAVAILABLE;
