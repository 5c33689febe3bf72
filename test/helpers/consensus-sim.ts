/**
 * A simulated network of Tendermint machines in virtual time: seeded random
 * delays, drops and partitions until `healAt`, then a good network. Nodes
 * re-gossip what they have for their height (as CometBFT's gossip routines
 * do) and send decided heights to peers that are behind, so lost messages are
 * eventually replaced. One validator may be Byzantine: it runs an honest
 * machine but equivocates on everything it sends: each peer gets the real
 * message, a conflicting one, or nothing, at random.
 */
import { ProposerSet } from "../../node/chain/proposer.ts";
import { Tendermint } from "../../node/consensus/tendermint/machine.ts";
import type { ConsensusAction, ConsensusEvent, ProposalMsg, TimeoutParams, VoteMsg } from "../../node/consensus/tendermint/types.ts";
import { Heap } from "../../node/util/heap.ts";
import { mulberry32 } from "./rng.ts";

export interface SimOptions {
  seed: number;
  validators: number;
  powers?: bigint[];
  /** Index of the Byzantine validator, or -1. */
  byzantine: number;
  /** Until this virtual time (ms) the network delays up to `maxDelayMs`, drops and partitions. */
  healAt: number;
  maxDelayMs: number;
  dropRate: number;
  partitions: boolean;
  /** Heights every honest node must decide after `healAt`. */
  heightsAfterHeal: number;
  /** Give up (termination failure) after this much virtual time past `healAt`. */
  deadlineAfterHealMs: number;
  /**
   * Crash-restarts before `healAt`: each picks an honest node at a random
   * moment, stops it (its queued work is lost) for up to `maxDowntimeMs`, and
   * restarts it from its WAL (the events its machine handled at its current
   * height, and the votes it signed) and its privval's last signature.
   */
  restarts?: number;
  maxDowntimeMs?: number;
  /** Restart without replaying the WAL (to check that the tests notice: liveness needs it). */
  noWalReplay?: boolean;
}

export const SIM_TIMEOUTS: TimeoutParams = { proposeMs: 300, proposeDeltaMs: 100, prevoteMs: 150, prevoteDeltaMs: 100, precommitMs: 150, precommitDeltaMs: 100 };
const GOSSIP_MS = 250;
const COMMIT_DELAY_MS = 20;

type Msg = { kind: "proposal"; p: ProposalMsg } | { kind: "vote"; v: VoteMsg };

interface QueueItem {
  at: number;
  seq: number;
  node: number;
  run: () => void;
}

interface SimNode {
  id: string;
  machine: Tendermint;
  /** Bumped by a crash: queued work of an earlier incarnation does nothing. */
  incarnation: number;
  down: boolean;
  /** The WAL: events its machine handled at its current height, in order; and those held for the next one. */
  wal: ConsensusEvent[];
  walNext: ConsensusEvent[];
  /** Privval: the last (height, round, step) signed and its value; every vote signed at the current height. */
  lastSigned: { height: number; round: number; step: number; value: string | null } | null;
  signed: VoteMsg[];
  byzantine: boolean;
  decided: Map<number, string>;
  /** Everything sent or received for the current height, to re-gossip. */
  current: Msg[];
  /** Decided heights: the proposal and precommits that decided them. */
  history: Map<number, Msg[]>;
  /** Highest height heard from each peer. */
  peerHeight: number[];
}

export interface SimResult {
  /** Per honest node, decided value per height. */
  decisions: Map<number, string>[];
  honest: number[];
  healedHeights: number[];
  terminated: boolean;
  /** Crash-restarts that happened. */
  restarts: number;
  evidence: number;
  events: number;
  endTime: number;
  /** Every node's machine state at the end, for diagnosing a failure. */
  states: ReturnType<Tendermint["snapshot"]>[];
  machines: Tendermint[];
}

export function simulate(o: SimOptions): SimResult {
  const rnd = mulberry32(o.seed);
  const n = o.validators;
  const ids = Array.from({ length: n }, (_, i) => `v${i}`);
  const genesis = ProposerSet.fromPowers(ids.map((id, i) => ({ id, power: o.powers?.[i] ?? 10n })));
  const sets: ProposerSet[] = [genesis];
  const setAt = (h: number) => {
    while (sets.length <= h) sets.push(sets[sets.length - 1]!.next());
    return sets[h]!;
  };
  const queue = new Heap<QueueItem>((a, b) => (a.at !== b.at ? a.at < b.at : a.seq < b.seq));
  let seq = 0;
  let now = 0;
  let events = 0;
  let evidence = 0;
  // Work queued for a node runs only if that incarnation of it is still up (a crash loses it).
  const at = (time: number, node: number, run: () => void) => {
    const n = nodes[node];
    const inc = n?.incarnation ?? 0;
    queue.push({ at: time, seq: seq++, node, run: () => (n === undefined || (!n.down && n.incarnation === inc) ? run() : undefined) });
  };
  /** Feeds an event to node i's machine, logging it to its WAL first (as the engine does). */
  const handle = (i: number, ev: ConsensusEvent): ConsensusAction[] => {
    const node = nodes[i]!;
    const h = ev.type === "proposal" ? ev.proposal.height : ev.type === "vote" ? ev.vote.height : ev.height;
    if (h === node.machine.height) node.wal.push(ev);
    else if (h === node.machine.height + 1) node.walNext.push(ev);
    return node.machine.handle(ev);
  };

  // Partitions: up to two windows before healing, each splitting the nodes in two.
  const windows: { from: number; to: number; side: boolean[] }[] = [];
  if (o.partitions) {
    for (let w = 0; w < 2; w++) {
      const from = Math.floor(rnd() * o.healAt);
      const to = Math.min(o.healAt, from + Math.floor(rnd() * o.healAt * 0.5));
      windows.push({ from, to, side: ids.map(() => rnd() < 0.5) });
    }
  }
  const linkLatency = ids.map(() => ids.map(() => Math.floor(rnd() * o.maxDelayMs)));
  const connected = (a: number, b: number, t: number) => !windows.some((w) => t >= w.from && t < w.to && w.side[a] !== w.side[b]);

  const nodes: SimNode[] = ids.map((id, i) => ({
    id,
    machine: new Tendermint({ self: id, timeouts: SIM_TIMEOUTS }),
    incarnation: 0,
    down: false,
    wal: [],
    walNext: [],
    lastSigned: null,
    signed: [],
    byzantine: i === o.byzantine,
    decided: new Map(),
    current: [],
    history: new Map(),
    peerHeight: ids.map(() => 0),
  }));

  const heightOf = (m: Msg) => (m.kind === "proposal" ? m.p.height : m.v.height);
  const senderOf = (m: Msg) => (m.kind === "proposal" ? m.p.proposer : m.v.validator);

  const send = (from: number, to: number, m: Msg) => {
    if (from === to) return;
    const t = now;
    const healed = t >= o.healAt;
    if (!healed && (rnd() < o.dropRate || !connected(from, to, t))) return;
    // Before healing each directed link has its own latency (some links are slow for the whole period), plus jitter.
    const delay = healed ? 1 + Math.floor(rnd() * Math.min(o.maxDelayMs, 50)) : 1 + linkLatency[from]![to]! + Math.floor(rnd() * o.maxDelayMs * 0.25);
    at(t + delay, to, () => deliver(to, from, m));
  };

  const valid = (value: string) => !value.startsWith("bad");

  const deliver = (to: number, from: number, m: Msg) => {
    const node = nodes[to]!;
    node.peerHeight[from] = Math.max(node.peerHeight[from]!, heightOf(m));
    if (heightOf(m) === node.machine.height && !node.current.some((x) => sameMsg(x, m))) node.current.push(m);
    const ev: ConsensusEvent = m.kind === "proposal" ? { type: "proposal", proposal: m.p, valid: valid(m.p.value) } : { type: "vote", vote: m.v };
    act(to, handle(to, ev));
  };

  const broadcast = (from: number, m: Msg) => {
    const node = nodes[from]!;
    node.current.push(m);
    if (!node.byzantine) {
      for (let to = 0; to < n; to++) send(from, to, m);
      return;
    }
    // Equivocate: each peer gets, at random, the real message, a conflicting one, or nothing.
    for (let to = 0; to < n; to++) {
      const x = rnd();
      if (x < 0.4) send(from, to, m);
      else if (x < 0.8) send(from, to, conflicting(m));
    }
  };

  const conflicting = (m: Msg): Msg => {
    if (m.kind === "proposal") return { kind: "proposal", p: { ...m.p, value: `${m.p.value}-twin` } };
    return { kind: "vote", v: { ...m.v, value: m.v.value === null ? `fake-${m.v.height}-${m.v.round}` : null } };
  };

  const act = (i: number, actions: ConsensusAction[]) => {
    const node = nodes[i]!;
    for (const a of actions) {
      switch (a.type) {
        case "getValue": {
          const value = node.byzantine && rnd() < 0.3 ? `bad-${a.height}-${a.round}` : `b${a.height}.${a.round}.${node.id}`;
          at(now + 1, i, () => act(i, handle(i, { type: "value", height: a.height, round: a.round, value })));
          break;
        }
        case "propose":
          broadcast(i, { kind: "proposal", p: a.proposal });
          break;
        case "vote": {
          // Privval: a vote signed before (replayed from the WAL) is sent again as it was; a new one only if it
          // is past the last signed (height, round, step). A refused vote is neither sent nor counted.
          const v = a.vote;
          const again = node.signed.some((x) => x.kind === v.kind && x.round === v.round && x.value === v.value && x.height === v.height);
          if (!again) {
            const step = v.kind === "prevote" ? 2 : 3;
            const last = node.lastSigned;
            const cmp = last === null ? 1 : v.height !== last.height ? v.height - last.height : v.round !== last.round ? v.round - last.round : step - last.step;
            if (cmp < 0 || (cmp === 0 && last!.value !== v.value)) break;
            node.lastSigned = { height: v.height, round: v.round, step, value: v.value };
            node.signed.push(v);
          }
          broadcast(i, { kind: "vote", v });
          act(i, handle(i, { type: "vote", vote: v }));
          break;
        }
        case "scheduleTimeout":
          at(now + a.ms, i, () => act(i, handle(i, { type: "timeout", step: a.step, height: a.height, round: a.round })));
          break;
        case "evidence":
          evidence++;
          break;
        case "decide": {
          node.decided.set(a.height, a.value);
          const proposal = node.current.find((m) => m.kind === "proposal" && m.p.round === a.round && m.p.value === a.value);
          node.history.set(a.height, [...(proposal ? [proposal] : []), ...a.precommits.map((v) => ({ kind: "vote" as const, v }))]);
          const next = a.height + 1;
          at(now + COMMIT_DELAY_MS, i, () => startHeight(i, next));
          break;
        }
      }
    }
  };

  const startHeight = (i: number, h: number) => {
    const node = nodes[i]!;
    node.current = [];
    node.wal = node.walNext.filter((e) => (e.type === "proposal" ? e.proposal.height : e.type === "vote" ? e.vote.height : e.height) === h);
    node.walNext = [];
    node.signed = node.signed.filter((v) => v.height >= h);
    act(i, node.machine.startHeight(h, setAt(h)));
  };

  /** Restarts node i at the height after its last decision: WAL replayed through a fresh machine (or not, with noWalReplay). */
  const restart = (i: number) => {
    const node = nodes[i]!;
    node.down = false;
    node.machine = new Tendermint({ self: node.id, timeouts: SIM_TIMEOUTS });
    const h = node.decided.size + 1;
    const wal = o.noWalReplay ? [] : node.wal.filter((e) => (e.type === "proposal" ? e.proposal.height : e.type === "vote" ? e.vote.height : e.height) === h);
    if (o.noWalReplay) node.signed = [];
    node.walNext = [];
    node.current = [];
    node.wal = [];
    act(i, node.machine.startHeight(h, setAt(h)));
    for (const ev of wal) {
      if (ev.type === "proposal") node.current.push({ kind: "proposal", p: ev.proposal });
      if (ev.type === "vote" && ev.vote.validator !== node.id) node.current.push({ kind: "vote", v: ev.vote });
      act(i, handle(i, ev));
    }
    at(now + GOSSIP_MS, i, () => gossip(i));
    restarted++;
  };

  const gossip = (i: number) => {
    const node = nodes[i]!;
    for (let to = 0; to < n; to++) {
      if (to === i) continue;
      const behind = node.peerHeight[to]!;
      const past = node.history.get(behind);
      if (behind < node.machine.height && past) for (const m of past) send(i, to, m);
      for (const m of node.current) send(i, to, m);
    }
    // Re-gossip is slow while the network is bad (a lossy, laggy period), quick once healed.
    at(now + (now < o.healAt ? 4 * GOSSIP_MS : GOSSIP_MS), i, () => gossip(i));
  };

  const honest = ids.map((_, i) => i).filter((i) => i !== o.byzantine);
  let restarted = 0;
  for (let i = 0; i < n; i++) {
    act(i, nodes[i]!.machine.startHeight(1, setAt(1)));
    at(GOSSIP_MS + i, i, () => gossip(i));
  }
  // Crash-restarts, scheduled outside any node's incarnation (a crash is not the node's own work).
  for (let k = 0; k < (o.restarts ?? 0); k++) {
    const victim = honest[Math.floor(rnd() * honest.length)]!;
    const crashAt = Math.floor(rnd() * o.healAt);
    const downtime = Math.floor(rnd() * (o.maxDowntimeMs ?? 1000));
    queue.push({
      at: crashAt,
      seq: seq++,
      node: -1,
      run: () => {
        const node = nodes[victim]!;
        if (node.down) return;
        node.down = true;
        node.incarnation++;
        queue.push({ at: now + downtime, seq: seq++, node: -1, run: () => restart(victim) });
      },
    });
  }

  const heightAtHeal = new Map<number, number>();
  const deadline = o.healAt + o.deadlineAfterHealMs;
  let terminated = false;
  while (queue.size > 0) {
    const item = queue.pop()!;
    now = item.at;
    if (now >= o.healAt && heightAtHeal.size === 0) for (const i of honest) heightAtHeal.set(i, nodes[i]!.decided.size);
    if (now > deadline) break;
    item.run();
    events++;
    if (heightAtHeal.size > 0 && honest.every((i) => nodes[i]!.decided.size >= heightAtHeal.get(i)! + o.heightsAfterHeal)) {
      terminated = true;
      break;
    }
  }
  return {
    decisions: honest.map((i) => nodes[i]!.decided),
    honest,
    healedHeights: honest.map((i) => nodes[i]!.decided.size - (heightAtHeal.get(i) ?? 0)),
    terminated,
    restarts: restarted,
    evidence,
    events,
    endTime: now,
    states: nodes.map((x) => x.machine.snapshot()),
    machines: nodes.map((x) => x.machine),
  };

  function sameMsg(a: Msg, b: Msg): boolean {
    if (a.kind !== b.kind || senderOf(a) !== senderOf(b)) return false;
    if (a.kind === "proposal" && b.kind === "proposal") return a.p.round === b.p.round && a.p.value === b.p.value;
    if (a.kind === "vote" && b.kind === "vote") return a.v.round === b.v.round && a.v.kind === b.v.kind && a.v.value === b.v.value;
    return false;
  }
}
