/**
 * Votes of one height, by round and kind, with power tallies per value.
 *
 * As in the paper, a quorum for a value counts messages for that value from
 * distinct validators; a validator that equivocates counts for each value it
 * voted for (safe: two > 2/3 quorums for different values would need > 1/3 of
 * the power to equivocate). Without this, a node that first heard an
 * equivocator's other vote could never count its vote in a commit the rest of
 * the network formed. The power that voted at all counts each validator once.
 * A second, different vote is reported as evidence; a validator's distinct
 * values per (round, kind) are capped so an equivocator cannot grow memory.
 */
import type { ValueId, VoteMsg } from "./types.ts";
import type { VoteKind } from "./types.ts";

const NIL = "nil";
const key = (v: ValueId | null) => v ?? NIL;
const MAX_VALUES_PER_VALIDATOR = 3;

export class RoundVotes {
  /** Each validator's votes, first first. */
  readonly byValidator = new Map<string, VoteMsg[]>();
  private readonly powerByValue = new Map<string, bigint>();
  /** Power of the validators that voted at all (each once). */
  total = 0n;

  /** Adds a vote; reports the validator's earlier vote when this one conflicts with it. */
  add(vote: VoteMsg, power: bigint): { added: boolean; conflict?: VoteMsg } {
    const prev = this.byValidator.get(vote.validator);
    if (prev?.some((p) => p.value === vote.value)) return { added: false };
    if (prev && prev.length >= MAX_VALUES_PER_VALIDATOR) return { added: false, conflict: prev[0]! };
    const k = key(vote.value);
    this.powerByValue.set(k, (this.powerByValue.get(k) ?? 0n) + power);
    if (prev) {
      prev.push(vote);
      return { added: true, conflict: prev[0]! };
    }
    this.byValidator.set(vote.validator, [vote]);
    this.total += power;
    return { added: true };
  }

  powerFor(value: ValueId | null): bigint {
    return this.powerByValue.get(key(value)) ?? 0n;
  }

  /** A non-nil value with more than `threshold` power, if any (at most one can have a quorum among honest majorities). */
  valueAbove(threshold: bigint): ValueId | undefined {
    for (const [k, p] of this.powerByValue) if (k !== NIL && p > threshold) return k;
    return undefined;
  }

  votesFor(value: ValueId | null): VoteMsg[] {
    const out: VoteMsg[] = [];
    for (const vs of this.byValidator.values()) for (const v of vs) if (v.value === value) out.push(v);
    return out;
  }
}

export class HeightVotes {
  private readonly rounds = new Map<string, RoundVotes>();

  get(round: number, kind: VoteKind): RoundVotes {
    const k = `${round}/${kind}`;
    let rv = this.rounds.get(k);
    if (!rv) this.rounds.set(k, (rv = new RoundVotes()));
    return rv;
  }

  peek(round: number, kind: VoteKind): RoundVotes | undefined {
    return this.rounds.get(`${round}/${kind}`);
  }

  roundsWith(kind: VoteKind): number[] {
    const out: number[] = [];
    for (const k of this.rounds.keys()) {
      const [r, kd] = k.split("/");
      if (kd === kind) out.push(Number(r));
    }
    return out;
  }
}
