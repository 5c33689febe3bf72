/**
 * Messages, events and actions of the Tendermint state machine. Values are
 * identified by their block hash as hex; the machine never sees a block, only
 * whether the node found it valid. Messages reaching the machine are already
 * authenticated (signature checked, sender in the set) by the node.
 */

/** A block hash (hex), or null for nil. */
export type ValueId = string;

export type Step = "propose" | "prevote" | "precommit" | "decided";
export type VoteKind = "prevote" | "precommit";

export interface ProposalMsg {
  height: number;
  round: number;
  value: ValueId;
  /** The round in which the proposer saw a polka for `value`, or -1. */
  polRound: number;
  proposer: string;
}

export interface VoteMsg {
  kind: VoteKind;
  height: number;
  round: number;
  value: ValueId | null;
  validator: string;
}

export type TimeoutStep = "propose" | "prevote" | "precommit";

export type ConsensusEvent =
  /** A proposal from the network; `valid` is the node's verdict on the block. */
  | { type: "proposal"; proposal: ProposalMsg; valid: boolean }
  | { type: "vote"; vote: VoteMsg }
  | { type: "timeout"; step: TimeoutStep; height: number; round: number }
  /** The block this validator proposes (answer to a `getValue` action). */
  | { type: "value"; height: number; round: number; value: ValueId };

export type ConsensusAction =
  /** Build a block to propose at (height, round). */
  | { type: "getValue"; height: number; round: number }
  /** Sign and broadcast this proposal (already counted locally). */
  | { type: "propose"; proposal: ProposalMsg }
  /** Sign and broadcast this vote, then feed it back as a `vote` event (it counts only once signed). */
  | { type: "vote"; vote: VoteMsg }
  | { type: "scheduleTimeout"; step: TimeoutStep; height: number; round: number; ms: number }
  /** The height is decided: commit `value` with these precommits. */
  | { type: "decide"; height: number; round: number; value: ValueId; precommits: VoteMsg[] }
  /** Two conflicting votes by one validator (duplicate-vote evidence). */
  | { type: "evidence"; a: VoteMsg; b: VoteMsg };

export interface TimeoutParams {
  proposeMs: number;
  proposeDeltaMs: number;
  prevoteMs: number;
  prevoteDeltaMs: number;
  precommitMs: number;
  precommitDeltaMs: number;
}

/** CometBFT's defaults: timeouts grow linearly with the round. */
export const DEFAULT_TIMEOUTS: TimeoutParams = {
  proposeMs: 3000,
  proposeDeltaMs: 500,
  prevoteMs: 1000,
  prevoteDeltaMs: 500,
  precommitMs: 1000,
  precommitDeltaMs: 500,
};
