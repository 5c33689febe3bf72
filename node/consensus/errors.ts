import { PouwError } from "../util/errors.ts";

export const ConsensusErrorCode = {
  /** The signer was asked for a vote that could equivocate with one it already signed. */
  DOUBLE_SIGN_REFUSED: "DOUBLE_SIGN_REFUSED",
  /** The signer was asked for a vote at an earlier (height, round, step) than one it already signed. */
  SIGN_REGRESSION: "SIGN_REGRESSION",
  /** Persisted consensus state contradicts the chain (e.g. signed far ahead of the head). */
  STATE_INCONSISTENT: "CONSENSUS_STATE_INCONSISTENT",
} as const;
export type ConsensusErrorCode = (typeof ConsensusErrorCode)[keyof typeof ConsensusErrorCode];

export class ConsensusError extends PouwError<ConsensusErrorCode> {}
