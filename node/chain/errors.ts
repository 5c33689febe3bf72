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
} as const;
export type TxErrorCode = (typeof TxErrorCode)[keyof typeof TxErrorCode];

export class TxError extends PouwError<TxErrorCode> {}

/** Why an included transaction failed in execution (it still pays its fee and bumps the nonce). */
export const ExecErrorCode = {
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
  BALANCE_OVERFLOW: "BALANCE_OVERFLOW",
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
} as const;
export type BlockErrorCode = (typeof BlockErrorCode)[keyof typeof BlockErrorCode];

export class BlockError extends PouwError<BlockErrorCode> {}
