/**
 * Process-level faults on real `pouw start` validators over libp2p on
 * 127.0.0.1 (scripts/nemesis.ts): the 3-validator restart right after
 * signing a precommit (the permanent halt the outside review found), and a
 * short seeded nemesis over 4 validators (SIGKILL at each consensus step,
 * SIGKILL at random, SIGSTOP of one and two) under transfer load. After each
 * fault heals the chain commits again within 10 s, no two validators commit
 * different blocks, and every accepted transaction is finalized.
 * `npm run soak -- --minutes N` runs the long version.
 */
import { describe, expect, it } from "vitest";
import { useClusters } from "../helpers/cluster.ts";
import { FAILPOINTS, ForkWatch, rng, runNemesis, TransferLoad, untilCommitAbove, type FaultKind } from "../../scripts/nemesis.ts";

const cluster = useClusters("faults");

describe("faults on validator processes", { timeout: 600_000 }, () => {
  it("3 validators: one killed right after it signed (a prevote, then a precommit) and restarted: the chain commits again within 10 s", async () => {
    const c = await cluster(3, 400);
    expect(await untilCommitAbove(c, 3, 60_000)).not.toBeNull();
    const forks = new ForkWatch(c);
    for (const [victim, step] of [
      [2, "signed-precommit"],
      [1, "signed-prevote"],
    ] as const) {
      // The victim signs its vote (privval and WAL) and dies before sending it.
      const head = await c.maxHead();
      await c.kill(victim);
      await c.start(victim, { POUW_FAILPOINT: `${step}@${head + 2}` });
      expect(await c.waitExit(victim, 30_000), `validator ${victim} reached its failpoint`).toBe(true);
      expect(c.log(victim).some((l) => l.includes(`failpoint ${step}`))).toBe(true);
      // Each holds exactly a third: without the victim's vote nothing commits.
      const stuck = await c.maxHead();
      await new Promise((r) => setTimeout(r, 2000));
      expect(await c.maxHead()).toBe(stuck);

      await c.start(victim);
      const t = await untilCommitAbove(c, stuck, 10_000);
      expect(t, `${step}: no commit above ${stuck} within 10 s of the restart`).not.toBeNull();
      expect(c.log(victim).some((l) => l.includes("Replaying the consensus WAL"))).toBe(true);
      // And it keeps going, with the victim signing, on one chain.
      expect(await untilCommitAbove(c, stuck + 5, 20_000)).not.toBeNull();
    }
    await forks.check();
    expect(forks.forks).toEqual([]);
    await c.stopAll();
  });

  it("4 validators under load, a seeded nemesis: every fault heals within 10 s, no fork, no accepted transaction lost", async () => {
    const c = await cluster(4, 500);
    expect(await untilCommitAbove(c, 2, 60_000)).not.toBeNull();
    const forks = new ForkWatch(c);
    const load = new TransferLoad(c, rng(7), 4, 200);
    load.start();
    const lines: string[] = [];
    // Each kind of fault once, in a seeded order: a kill at every consensus step, one at random, pauses of one and two.
    const random = rng(20261129);
    const schedule = [...FAILPOINTS.map((f) => `kill-at:${f}` as FaultKind), "kill" as const, "pause-1" as const, "pause-2" as const]
      .map((k) => ({ k, r: random() }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.k);
    const records = await runNemesis(c, { seed: 20261129, faults: schedule.length, schedule, pauseMs: [3000, 6000], recoverWithinMs: 10_000, log: (l) => lines.push(l) });
    await load.stop();
    console.log(lines.join("\n"));
    await forks.check();
    expect(forks.forks).toEqual([]);
    expect(records.length).toBe(schedule.length);
    expect(records.filter((r) => r.halted), lines.join("\n")).toEqual([]);
    expect(load.accepted.size).toBeGreaterThan(20);
    const lost = await load.unfinalized(0, 60_000);
    expect(lost, `accepted but not finalized: ${lost.length} of ${load.accepted.size}`).toEqual([]);
    await c.stopAll();
  });
});
