/**
 * Tendermint consensus for one validator, as Algorithm 1 of Buchman, Kwon and
 * Milosevic, "The latest gossip on BFT consensus" (2018). Line numbers below
 * are the paper's.
 *
 * Deterministic and free of I/O: `handle(event)` updates this object's state
 * and returns the actions the node must carry out (sign and broadcast, build a
 * block, schedule a timeout, commit). No clock, no randomness, no network: the
 * node feeds in authenticated messages and fired timeouts, so a simulated
 * network can drive many machines in one process. (State is updated in place
 * rather than copied per event: vote sets are large and events many.)
 */
import type { ProposerSet } from "../../chain/proposer.ts";
import { HeightVotes } from "./votes.ts";
import {
  DEFAULT_TIMEOUTS,
  type ConsensusAction,
  type ConsensusEvent,
  type ProposalMsg,
  type Step,
  type TimeoutParams,
  type TimeoutStep,
  type ValueId,
  type VoteKind,
  type VoteMsg,
} from "./types.ts";

const MAX_PROPOSALS_PER_ROUND = 4;

export interface MachineOptions {
  /** This validator's id (address hex), or null for a node that only follows. */
  self: string | null;
  timeouts?: TimeoutParams;
  /** Most messages held for the next height while this one finishes. */
  maxBuffered?: number;
}

export interface MachineSnapshot {
  height: number;
  round: number;
  step: Step;
  lockedValue: ValueId | null;
  lockedRound: number;
  validValue: ValueId | null;
  validRound: number;
  decision: ValueId | null;
}

export class Tendermint {
  readonly self: string | null;
  private readonly timeouts: TimeoutParams;
  private readonly maxBuffered: number;

  height = 0;
  round = 0;
  step: Step = "propose";
  private lockedValue: ValueId | null = null;
  private lockedRound = -1;
  private validValue: ValueId | null = null;
  private validRound = -1;
  private decision: ValueId | null = null;

  private set: ProposerSet | null = null;
  private powers = new Map<string, bigint>();
  private total = 0n;
  /** Proposals by round, then value: a Byzantine proposer may send several; the first received leads. */
  private proposals = new Map<number, Map<ValueId, { proposal: ProposalMsg; valid: boolean }>>();
  private votes = new HeightVotes();
  /** Validators heard from in each round (any message), for the f+1 round skip (line 55). */
  private heard = new Map<number, Map<string, bigint>>();
  /** "For the first time" rules already fired, by rule and round. */
  private fired = new Set<string>();
  /** Rounds of this height in which this node has asked for its precommit. */
  private precommittedIn = new Set<number>();
  private buffered: ConsensusEvent[] = [];
  private out: ConsensusAction[] = [];

  constructor(opts: MachineOptions) {
    this.self = opts.self;
    this.timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
    this.maxBuffered = opts.maxBuffered ?? 10_000;
  }

  snapshot(): MachineSnapshot {
    const { height, round, step, lockedValue, lockedRound, validValue, validRound, decision } = this;
    return { height, round, step, lockedValue, lockedRound, validValue, validRound, decision };
  }

  get validators(): ProposerSet | null {
    return this.set;
  }

  /**
   * Starts `height` with its validator set (proposer priorities for round 0),
   * at `round` (later than 0 only after a restart that interrupted a round).
   */
  startHeight(height: number, set: ProposerSet, round = 0): ConsensusAction[] {
    this.height = height;
    this.set = set;
    this.powers = new Map(set.validators.map((v) => [v.id, v.power]));
    this.total = set.totalPower;
    this.lockedValue = null;
    this.lockedRound = -1;
    this.validValue = null;
    this.validRound = -1;
    this.decision = null;
    this.proposals = new Map();
    this.votes = new HeightVotes();
    this.heard = new Map();
    this.fired = new Set();
    this.precommittedIn = new Set();
    this.out = [];
    this.startRound(round);
    const replay = this.buffered.filter((e) => eventHeight(e) === height);
    this.buffered = this.buffered.filter((e) => eventHeight(e) > height);
    for (const e of replay) this.dispatch(e);
    this.evaluate();
    return this.flush();
  }

  handle(event: ConsensusEvent): ConsensusAction[] {
    if (!this.set) throw new Error("startHeight first");
    const h = eventHeight(event);
    if (h > this.height) {
      if (h === this.height + 1 && event.type !== "timeout" && this.buffered.length < this.maxBuffered) this.buffered.push(event);
      return [];
    }
    if (h < this.height) return [];
    this.dispatch(event);
    this.evaluate();
    return this.flush();
  }

  private flush(): ConsensusAction[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private dispatch(e: ConsensusEvent): void {
    switch (e.type) {
      case "proposal":
        return this.onProposal(e.proposal, e.valid);
      case "vote":
        return this.onVote(e.vote);
      case "timeout":
        return this.onTimeout(e.step, e.round);
      case "value":
        return this.onValue(e.round, e.value);
    }
  }

  private proposerOf(round: number): string {
    return this.set!.proposerAt(round).id;
  }

  private quorum(p: bigint): boolean {
    return p * 3n > this.total * 2n;
  }

  private hear(round: number, validator: string): void {
    let m = this.heard.get(round);
    if (!m) this.heard.set(round, (m = new Map()));
    m.set(validator, this.powers.get(validator) ?? 0n);
  }

  private onProposal(p: ProposalMsg, valid: boolean): void {
    if (p.round < 0 || p.polRound < -1 || p.polRound >= p.round) return;
    if (p.proposer !== this.proposerOf(p.round)) return;
    let m = this.proposals.get(p.round);
    if (!m) this.proposals.set(p.round, (m = new Map()));
    if (m.has(p.value)) return;
    // An equivocating proposer can send many; keep a few, and always the one a quorum voted for.
    if (m.size >= MAX_PROPOSALS_PER_ROUND && !this.votedByQuorum(p.round, p.value)) return;
    m.set(p.value, { proposal: p, valid });
    this.hear(p.round, p.proposer);
  }

  private votedByQuorum(round: number, value: ValueId): boolean {
    const pv = this.votes.peek(round, "prevote");
    const pc = this.votes.peek(round, "precommit");
    return (pv !== undefined && this.quorum(pv.powerFor(value))) || (pc !== undefined && this.quorum(pc.powerFor(value)));
  }

  /** The first proposal received for `round`. */
  private leading(round: number): { proposal: ProposalMsg; valid: boolean } | undefined {
    const m = this.proposals.get(round);
    return m ? m.values().next().value : undefined;
  }

  private proposalFor(round: number, value: ValueId): { proposal: ProposalMsg; valid: boolean } | undefined {
    return this.proposals.get(round)?.get(value);
  }

  private onVote(v: VoteMsg): void {
    const power = this.powers.get(v.validator);
    if (power === undefined || v.round < 0) return;
    const res = this.votes.get(v.round, v.kind).add(v, power);
    if (res.conflict) this.out.push({ type: "evidence", a: res.conflict, b: v });
    if (res.added) this.hear(v.round, v.validator);
  }

  private onValue(round: number, value: ValueId): void {
    if (round !== this.round || this.step !== "propose" || this.proposals.has(round) || this.proposerOf(round) !== this.self) return;
    this.broadcastProposal(round, value, -1);
  }

  private broadcastProposal(round: number, value: ValueId, polRound: number): void {
    const proposal: ProposalMsg = { height: this.height, round, value, polRound, proposer: this.self! };
    this.proposals.set(round, new Map([[value, { proposal, valid: true }]]));
    this.hear(round, this.self!);
    this.out.push({ type: "propose", proposal });
  }

  /**
   * Asks the node to sign and send a vote. It is not counted here: the node
   * feeds it back as a `vote` event once privval has signed it, so a vote
   * privval refused (a full disk, a conflicting earlier signature) never
   * counts toward a quorum this validator then commits with.
   */
  private castVote(kind: VoteKind, value: ValueId | null): void {
    if (this.self === null || !this.powers.has(this.self)) return;
    if (kind === "precommit") this.precommittedIn.add(this.round);
    const vote: VoteMsg = { kind, height: this.height, round: this.round, value, validator: this.self };
    this.out.push({ type: "vote", vote });
  }

  private schedule(step: TimeoutStep, round: number): void {
    const t = this.timeouts;
    const ms = step === "propose" ? t.proposeMs + round * t.proposeDeltaMs : step === "prevote" ? t.prevoteMs + round * t.prevoteDeltaMs : t.precommitMs + round * t.precommitDeltaMs;
    this.out.push({ type: "scheduleTimeout", step, height: this.height, round, ms });
  }

  /** Line 11. */
  private startRound(round: number): void {
    this.round = round;
    this.step = "propose";
    if (this.self !== null && this.proposerOf(round) === this.self) {
      if (this.validValue !== null) this.broadcastProposal(round, this.validValue, this.validRound);
      else this.out.push({ type: "getValue", height: this.height, round });
    }
    // Also for our own round: if building the block fails, the round still moves on.
    this.schedule("propose", round);
  }

  /** Lines 57–65. */
  private onTimeout(step: TimeoutStep, round: number): void {
    if (round !== this.round || this.step === "decided") return;
    if (step === "propose" && this.step === "propose") {
      this.castVote("prevote", null);
      this.step = "prevote";
    } else if (step === "prevote" && this.step === "prevote") {
      this.castVote("precommit", null);
      this.step = "precommit";
    } else if (step === "precommit") {
      this.startRound(round + 1);
    }
  }

  private once(rule: string, round: number): boolean {
    const k = `${rule}/${round}`;
    if (this.fired.has(k)) return false;
    this.fired.add(k);
    return true;
  }

  /** Applies every rule whose condition holds, until none does. */
  private evaluate(): void {
    for (let guard = 0; guard < 1000; guard++) {
      if (this.step === "decided") return;
      if (this.tryDecide()) return;
      if (!this.applyRules()) return;
    }
    throw new Error("consensus rules did not settle");
  }

  /** Line 49: a proposal and > 2/3 precommits for it in any round decide the height. */
  private tryDecide(): boolean {
    for (const r of this.votes.roundsWith("precommit")) {
      const rv = this.votes.peek(r, "precommit")!;
      const v = rv.valueAbove((this.total * 2n) / 3n);
      if (v === undefined || !this.quorum(rv.powerFor(v))) continue;
      const p = this.proposalFor(r, v);
      if (!p || !p.valid) continue;
      this.decision = v;
      // A validator that saw the others' precommits before it had voted itself (the proposal reached it late)
      // precommits the decided value too, so its signature still reaches the next block's lastCommit and it is not
      // counted as missing. Safe: the value is decided, and this round holds no other precommit of ours.
      if (r === this.round && this.self !== null && !this.precommittedIn.has(r) && !rv.byValidator.has(this.self)) this.castVote("precommit", v);
      this.step = "decided";
      this.out.push({ type: "decide", height: this.height, round: r, value: v, precommits: rv.votesFor(v) });
      return true;
    }
    return false;
  }

  /** One pass over lines 22–55; true when something changed. */
  private applyRules(): boolean {
    // Line 55: f+1 of the power is already in a later round: go there.
    let skipTo = -1;
    for (const [r, m] of this.heard) {
      if (r <= this.round) continue;
      let p = 0n;
      for (const x of m.values()) p += x;
      if (p * 3n > this.total && r > skipTo) skipTo = r;
    }
    if (skipTo > this.round) {
      this.startRound(skipTo);
      return true;
    }

    const r = this.round;
    const p = this.leading(r);
    const prevotes = this.votes.peek(r, "prevote");
    const precommits = this.votes.peek(r, "precommit");

    if (this.step === "propose" && p) {
      const { value, polRound } = p.proposal;
      if (polRound === -1) {
        // Line 22.
        this.castVote("prevote", p.valid && (this.lockedRound === -1 || this.lockedValue === value) ? value : null);
        this.step = "prevote";
        return true;
      }
      const pol = this.votes.peek(polRound, "prevote");
      if (pol && this.quorum(pol.powerFor(value))) {
        // Line 28.
        this.castVote("prevote", p.valid && (this.lockedRound <= polRound || this.lockedValue === value) ? value : null);
        this.step = "prevote";
        return true;
      }
    }

    // Line 34.
    if (this.step === "prevote" && prevotes && this.quorum(prevotes.total) && this.once("prevote-timeout", r)) this.schedule("prevote", r);

    // Line 36: a proposal (any received for this round) with a polka.
    const polka = prevotes?.valueAbove((this.total * 2n) / 3n);
    const pp = polka !== undefined && this.quorum(prevotes!.powerFor(polka)) ? this.proposalFor(r, polka) : undefined;
    if (pp && pp.valid && (this.step === "prevote" || this.step === "precommit") && this.once("polka", r)) {
      const value = pp.proposal.value;
      let changed = false;
      if (this.step === "prevote") {
        this.lockedValue = value;
        this.lockedRound = r;
        this.castVote("precommit", value);
        this.step = "precommit";
        changed = true;
      }
      this.validValue = value;
      this.validRound = r;
      if (changed) return true;
    }

    // Line 44.
    if (this.step === "prevote" && prevotes && this.quorum(prevotes.powerFor(null))) {
      this.castVote("precommit", null);
      this.step = "precommit";
      return true;
    }

    // Line 47.
    if (precommits && this.quorum(precommits.total) && this.once("precommit-timeout", r)) this.schedule("precommit", r);
    return false;
  }
}

function eventHeight(e: ConsensusEvent): number {
  switch (e.type) {
    case "proposal":
      return e.proposal.height;
    case "vote":
      return e.vote.height;
    default:
      return e.height;
  }
}
