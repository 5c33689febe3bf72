/** The Tendermint machine rule by rule (Algorithm 1 line numbers in the names). */
import { describe, expect, it } from "vitest";
import { ProposerSet } from "../../../node/chain/proposer.ts";
import { Tendermint as Machine } from "../../../node/consensus/tendermint/machine.ts";
import type { ConsensusAction, ConsensusEvent, TimeoutParams, ValueId, VoteKind } from "../../../node/consensus/tendermint/types.ts";

/**
 * A machine whose privval always signs: each own vote it asks for is fed
 * straight back (as the engine does once privval has signed), and the actions
 * that causes are returned with the rest.
 */
class Tendermint extends Machine {
  override handle(e: ConsensusEvent): ConsensusAction[] {
    return this.signAll(super.handle(e));
  }
  override startHeight(height: number, set: ProposerSet, round = 0): ConsensusAction[] {
    return this.signAll(super.startHeight(height, set, round));
  }
  private signAll(actions: ConsensusAction[]): ConsensusAction[] {
    const out: ConsensusAction[] = [];
    for (const a of actions) {
      out.push(a);
      if (a.type === "vote") out.push(...this.handle({ type: "vote", vote: a.vote }));
    }
    return out;
  }
}

const T: TimeoutParams = { proposeMs: 1000, proposeDeltaMs: 100, prevoteMs: 500, prevoteDeltaMs: 50, precommitMs: 500, precommitDeltaMs: 50 };
const four = () => ProposerSet.fromPowers(["v0", "v1", "v2", "v3"].map((id) => ({ id, power: 10n })));

/** A machine at height 1 for `self`, whose round-r proposer is `proposer(r)`. */
function machine(self: string, set = four()) {
  const m = new Tendermint({ self, timeouts: T });
  const start = m.startHeight(1, set);
  const proposer = (r: number) => set.proposerAt(r).id;
  const vote = (kind: VoteKind, validator: string, value: ValueId | null, round = 0, height = 1) => m.handle({ type: "vote", vote: { kind, height, round, value, validator } });
  const propose = (value: ValueId, round = 0, polRound = -1, valid = true) => m.handle({ type: "proposal", proposal: { height: 1, round, value, polRound, proposer: proposer(round) }, valid });
  return { m, start, proposer, vote, propose };
}
const votesOut = (as: ConsensusAction[]) => as.flatMap((a) => (a.type === "vote" ? [`${a.vote.kind}:${a.vote.round}:${a.vote.value ?? "nil"}`] : []));
const others = (self: string) => ["v0", "v1", "v2", "v3"].filter((v) => v !== self);

describe("Tendermint machine", () => {
  it("a single validator proposes, votes and decides on its own", () => {
    const set = ProposerSet.fromPowers([{ id: "solo", power: 1n }]);
    const m = new Tendermint({ self: "solo", timeouts: T });
    expect(m.startHeight(7, set).map((a) => a.type)).toEqual(["getValue", "scheduleTimeout"]);
    const out = m.handle({ type: "value", height: 7, round: 0, value: "B" });
    expect(out.filter((a) => a.type !== "scheduleTimeout").map((a) => a.type)).toEqual(["propose", "vote", "vote", "decide"]);
    expect(votesOut(out)).toEqual(["prevote:0:B", "precommit:0:B"]);
    const d = out.find((a) => a.type === "decide")!;
    expect(d).toMatchObject({ height: 7, round: 0, value: "B" });
    expect(m.snapshot().step).toBe("decided");
  });

  it("line 22: prevotes a valid proposal, nil for an invalid one", () => {
    const a = machine("v3");
    expect(a.proposer(0)).not.toBe("v3");
    expect(votesOut(a.propose("B"))).toEqual(["prevote:0:B"]);
    const b = machine("v3");
    expect(votesOut(b.propose("B", 0, -1, false))).toEqual(["prevote:0:nil"]);
  });

  it("ignores a proposal from anyone but the round's proposer, and votes from non-validators", () => {
    const { m, proposer } = machine("v3");
    const wrong = others("v3").find((v) => v !== proposer(0))!;
    expect(m.handle({ type: "proposal", proposal: { height: 1, round: 0, value: "X", polRound: -1, proposer: wrong }, valid: true })).toEqual([]);
    expect(m.handle({ type: "vote", vote: { kind: "prevote", height: 1, round: 0, value: "X", validator: "stranger" } })).toEqual([]);
    expect(m.snapshot().step).toBe("propose");
  });

  it("lines 36 and 49: a polka locks and precommits, > 2/3 precommits decide", () => {
    const { m, propose, vote } = machine("v3");
    propose("B");
    vote("prevote", "v0", "B");
    const out = vote("prevote", "v1", "B");
    expect(votesOut(out)).toEqual(["precommit:0:B"]);
    expect(m.snapshot()).toMatchObject({ lockedValue: "B", lockedRound: 0, validValue: "B", validRound: 0, step: "precommit" });
    vote("precommit", "v0", "B");
    const done = vote("precommit", "v1", "B");
    const d = done.find((a) => a.type === "decide");
    expect(d).toMatchObject({ value: "B", round: 0 });
    expect(d && d.type === "decide" ? d.precommits.map((p) => p.validator).sort() : []).toEqual(["v0", "v1", "v3"]);
  });

  it("lines 57–65: timeouts move propose → prevote nil → precommit nil → next round, growing per round", () => {
    const { m, vote } = machine("v3");
    expect(votesOut(m.handle({ type: "timeout", step: "propose", height: 1, round: 0 }))).toEqual(["prevote:0:nil"]);
    vote("prevote", "v0", null);
    const pc = vote("prevote", "v1", null); // line 44: > 2/3 nil prevotes
    expect(votesOut(pc)).toEqual(["precommit:0:nil"]);
    vote("precommit", "v0", null);
    const sched = vote("precommit", "v1", null); // line 47
    expect(sched).toContainEqual({ type: "scheduleTimeout", step: "precommit", height: 1, round: 0, ms: 500 });
    const next = m.handle({ type: "timeout", step: "precommit", height: 1, round: 0 });
    expect(m.snapshot().round).toBe(1);
    expect(next.filter((a) => a.type === "scheduleTimeout")).toContainEqual({ type: "scheduleTimeout", step: "propose", height: 1, round: 1, ms: 1100 });
    // A stale timeout does nothing.
    expect(m.handle({ type: "timeout", step: "propose", height: 1, round: 0 })).toEqual([]);
  });

  it("line 34: > 2/3 prevotes of mixed values schedule the prevote timeout once", () => {
    const { m, propose, vote } = machine("v3");
    propose("B");
    vote("prevote", "v0", null);
    const out = vote("prevote", "v1", "C");
    expect(out).toEqual([{ type: "scheduleTimeout", step: "prevote", height: 1, round: 0, ms: 500 }]);
    expect(vote("prevote", "v2", "D")).toEqual([]);
    expect(votesOut(m.handle({ type: "timeout", step: "prevote", height: 1, round: 0 }))).toEqual(["precommit:0:nil"]);
  });

  it("a locked validator prevotes nil for another value unless it comes with a newer polka (lines 22, 28)", () => {
    const { m, propose, vote, proposer } = machine("v3");
    propose("B");
    vote("prevote", "v0", "B");
    vote("prevote", "v1", "B"); // locked on B in round 0
    // Round 0 fails to commit: precommit timeout.
    vote("precommit", "v0", null);
    vote("precommit", "v1", null);
    m.handle({ type: "timeout", step: "precommit", height: 1, round: 0 });
    expect(m.snapshot().round).toBe(1);
    expect(proposer(1)).not.toBe("v3");
    expect(votesOut(propose("C", 1))).toEqual(["prevote:1:nil"]);

    // A fresh machine locked the same way, now shown C with a polka in round 1 > lockedRound 0.
    const b = machine("v3");
    b.propose("B");
    b.vote("prevote", "v0", "B");
    b.vote("prevote", "v1", "B");
    b.vote("precommit", "v0", null);
    b.vote("precommit", "v1", null);
    b.m.handle({ type: "timeout", step: "precommit", height: 1, round: 0 });
    b.m.handle({ type: "timeout", step: "propose", height: 1, round: 1 }); // prevotes nil in round 1
    b.vote("precommit", "v0", null, 1);
    b.vote("precommit", "v1", null, 1);
    b.vote("precommit", "v2", null, 1);
    b.m.handle({ type: "timeout", step: "precommit", height: 1, round: 1 });
    expect(b.m.snapshot().round).toBe(2);
    for (const v of ["v0", "v1", "v2"]) b.vote("prevote", v, "C", 1);
    expect(b.proposer(2)).not.toBe("v3");
    expect(votesOut(b.propose("C", 2, 1))).toEqual(["prevote:2:C"]);
  });

  it("line 55: more than a third of the power in a later round pulls this node there", () => {
    const { m, vote } = machine("v3");
    vote("prevote", "v0", null, 3);
    expect(m.snapshot().round).toBe(0);
    vote("precommit", "v1", null, 3);
    expect(m.snapshot().round).toBe(3);
  });

  it("reports an equivocating vote as evidence and counts it for each value", () => {
    const { m, propose, vote } = machine("v3");
    propose("B");
    vote("prevote", "v0", "X");
    const ev = vote("prevote", "v0", "B");
    expect(ev.find((a) => a.type === "evidence")).toMatchObject({ a: { value: "X", validator: "v0" }, b: { value: "B", validator: "v0" } });
    // v0's B prevote counts: with v1 that is a polka for B.
    expect(votesOut(vote("prevote", "v1", "B"))).toEqual(["precommit:0:B"]);
    expect(m.snapshot().lockedValue).toBe("B");
  });

  it("holds messages for the next height and replays them when it starts", () => {
    const set = four();
    const m = new Tendermint({ self: "v3", timeouts: T });
    m.startHeight(1, set);
    const next = set.next();
    const p2 = next.proposerAt(0).id;
    expect(m.handle({ type: "proposal", proposal: { height: 2, round: 0, value: "N", polRound: -1, proposer: p2 }, valid: true })).toEqual([]);
    m.handle({ type: "vote", vote: { kind: "prevote", height: 9, round: 0, value: "far", validator: "v0" } }); // too far ahead: dropped
    const out = m.startHeight(2, next);
    expect(p2).not.toBe("v3");
    expect(votesOut(out)).toEqual(["prevote:0:N"]);
  });

  it("its own vote counts only once the node feeds it back signed (privval refused: not counted)", () => {
    const set = ProposerSet.fromPowers([{ id: "solo", power: 1n }]);
    const m = new Machine({ self: "solo", timeouts: T });
    m.startHeight(1, set);
    const out = m.handle({ type: "value", height: 1, round: 0, value: "B" });
    // Asked to sign a prevote, but with nothing fed back nothing is counted: no precommit, no decision.
    expect(votesOut(out)).toEqual(["prevote:0:B"]);
    expect(m.snapshot().step).toBe("prevote");
    const signed = m.handle({ type: "vote", vote: { kind: "prevote", height: 1, round: 0, value: "B", validator: "solo" } });
    expect(votesOut(signed)).toEqual(["precommit:0:B"]);
    expect(signed.some((a) => a.type === "decide")).toBe(false);
    const done = m.handle({ type: "vote", vote: { kind: "precommit", height: 1, round: 0, value: "B", validator: "solo" } });
    expect(done.find((a) => a.type === "decide")).toMatchObject({ value: "B", round: 0 });
  });

  it("a validator that sees the others' precommits before the proposal precommits the decided value as it decides, once, and not after a nil precommit", () => {
    // The proposal reached v3 late (as on a busy machine): three precommits are held, then the proposal decides.
    const late = machine("v3");
    for (const v of ["v0", "v1", "v2"]) expect(votesOut(late.vote("precommit", v, "B"))).toEqual([]);
    const out = late.propose("B");
    expect(votesOut(out)).toEqual(["precommit:0:B"]);
    expect(out.map((a) => a.type).filter((t) => t === "vote" || t === "decide")).toEqual(["vote", "decide"]);
    const d = out.find((a) => a.type === "decide");
    expect(d).toMatchObject({ value: "B", round: 0 });
    // The decision's precommits are the ones that decided it (its own goes to the head's commit separately).
    expect(d && d.type === "decide" ? d.precommits.map((p) => p.validator).sort() : []).toEqual(["v0", "v1", "v2"]);
    expect(votesOut(late.vote("precommit", "v3", "B"))).toEqual([]);

    // Having precommitted nil in the round (its precommit timeout), it signs nothing more there.
    const nil = machine("v3");
    nil.m.handle({ type: "timeout", step: "propose", height: 1, round: 0 });
    nil.vote("prevote", "v0", null);
    expect(votesOut(nil.vote("prevote", "v1", null))).toEqual(["precommit:0:nil"]); // line 44: a nil polka
    nil.propose("B");
    const decided: ConsensusAction[] = [];
    for (const v of ["v0", "v1", "v2"]) decided.push(...nil.vote("precommit", v, "B"));
    expect(decided.find((a) => a.type === "decide")).toMatchObject({ value: "B", round: 0 });
    expect(votesOut(decided)).toEqual([]);

    // Decided from an earlier round's precommits while in a later round: no vote for a round it has left.
    const later = machine("v3");
    for (const v of ["v0", "v1"]) later.vote("prevote", v, null, 1);
    for (const v of ["v0", "v1", "v2"]) later.vote("precommit", v, "B", 1);
    expect(later.m.snapshot().round).toBe(1);
    const past: ConsensusAction[] = [];
    for (const v of ["v0", "v1", "v2"]) past.push(...later.vote("precommit", v, "C", 0));
    past.push(...later.propose("C", 0));
    expect(past.find((a) => a.type === "decide")).toMatchObject({ value: "C", round: 0 });
    expect(votesOut(past)).toEqual([]);
  });

  it("a node without a key follows and decides but never votes", () => {
    const set = four();
    const m = new Tendermint({ self: null, timeouts: T });
    m.startHeight(1, set);
    m.handle({ type: "proposal", proposal: { height: 1, round: 0, value: "B", polRound: -1, proposer: set.proposerAt(0).id }, valid: true });
    const out: ConsensusAction[] = [];
    for (const v of ["v0", "v1", "v2"]) out.push(...m.handle({ type: "vote", vote: { kind: "precommit", height: 1, round: 0, value: "B", validator: v } }));
    expect(votesOut(out)).toEqual([]);
    expect(out.find((a) => a.type === "decide")).toMatchObject({ value: "B" });
  });
});
