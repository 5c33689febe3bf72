import { PouwError } from "../util/errors.ts";

/** Why the mempool refused a transaction that may be valid on chain (see `TxErrorCode` for invalid ones). */
export const MempoolErrorCode = {
  /** The same transaction (same hash) is already waiting. */
  ALREADY_KNOWN: "ALREADY_KNOWN",
  /** A transaction with this sender and nonce is waiting and this one does not pay enough more to replace it. */
  REPLACEMENT_UNDERPRICED: "REPLACEMENT_UNDERPRICED",
  /** The pool is at its cap and this transaction does not pay more than the cheapest one in it. */
  MEMPOOL_FULL: "MEMPOOL_FULL",
  /** The sender already has the maximum number of waiting transactions. */
  SENDER_LIMIT: "SENDER_LIMIT",
  /** The nonce is too far ahead of the sender's account nonce to be queued. */
  NONCE_TOO_HIGH: "NONCE_TOO_HIGH",
  /** The signature-verification workers are gone (the node is shutting down). */
  VERIFIER_CLOSED: "VERIFIER_CLOSED",
} as const;
export type MempoolErrorCode = (typeof MempoolErrorCode)[keyof typeof MempoolErrorCode];

export class MempoolError extends PouwError<MempoolErrorCode> {}
