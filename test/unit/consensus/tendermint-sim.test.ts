/**
 * Safety and liveness of the Tendermint machine over a simulated network
 * (no sockets): 1,000 seeded runs of 4 validators with random delays, drops,
 * partitions and one equivocating validator.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate, type SimResult } from "../../helpers/consensus-sim.ts";

function assertAgreement(r: SimResult): void {
  const byHeight = new Map<number, string>();
  for (const d of r.decisions) {
    for (const [h, v] of d) {
      const other = byHeight.get(h);
      if (other !== undefined) expect(v, `height ${h}: two honest nodes committed different blocks`).toBe(other);
      byHeight.set(h, v);
      expect(v.startsWith("bad"), `height ${h}: an invalid block was committed`).toBe(false);
    }
  }
}

describe("Tendermint over a simulated network", () => {
  it("1,000 seeded runs: honest nodes never commit different blocks, and all commit again after the network heals", () => {
    let runs = 0;
    let evidenceRuns = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: -1, max: 3 }),
        fc.integer({ min: 500, max: 6000 }),
        fc.integer({ min: 5, max: 400 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.boolean(),
        (seed, byzantine, healAt, maxDelayMs, dropRate, partitions) => {
          const r = simulate({ seed, validators: 4, byzantine, healAt, maxDelayMs, dropRate, partitions, heightsAfterHeal: 2, deadlineAfterHealMs: 60_000 });
          runs++;
          if (r.evidence > 0) evidenceRuns++;
          assertAgreement(r);
          expect(r.terminated, `seed ${seed}: stuck after healing (${r.healedHeights.join(",")} heights)`).toBe(true);
        },
      ),
      { seed: 20261125, numRuns: 1000 },
    );
    expect(runs).toBe(1000);
    // The equivocator is noticed: conflicting votes reach honest nodes in many runs.
    expect(evidenceRuns).toBeGreaterThan(100);
  });

  it("1,000 seeded runs with crash-restarts from the WAL at random steps: agreement, and all commit again after healing", () => {
    let restarts = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(3, 4),
        fc.integer({ min: 500, max: 5000 }),
        fc.integer({ min: 5, max: 300 }),
        fc.double({ min: 0, max: 0.4, noNaN: true }),
        fc.integer({ min: 1, max: 4 }),
        (seed, validators, healAt, maxDelayMs, dropRate, n) => {
          // Three equal validators: each holds exactly a third of the power, so one down stalls the chain until it is back.
          const r = simulate({ seed, validators, byzantine: -1, healAt, maxDelayMs, dropRate, partitions: false, heightsAfterHeal: 2, deadlineAfterHealMs: 60_000, restarts: n, maxDowntimeMs: 1500 });
          restarts += r.restarts;
          assertAgreement(r);
          expect(r.terminated, `seed ${seed}: stuck after healing (${r.healedHeights.join(",")} heights; states ${JSON.stringify(r.states)})`).toBe(true);
        },
      ),
      { seed: 20261129, numRuns: 1000 },
    );
    expect(restarts).toBeGreaterThan(1000);
  });

  it("a validator holding exactly a third of the power restarts at every step of a height: the chain always resumes", () => {
    // Powers 10/5/5/10: validators 0 and 3 each hold exactly 1/3; with one of them down nothing commits.
    for (let seed = 1; seed <= 200; seed++) {
      const r = simulate({ seed, validators: 4, powers: [10n, 5n, 5n, 10n], byzantine: -1, healAt: 3000, maxDelayMs: 100, dropRate: 0.1, partitions: false, heightsAfterHeal: 3, deadlineAfterHealMs: 60_000, restarts: 3, maxDowntimeMs: 2000 });
      assertAgreement(r);
      expect(r.terminated, `seed ${seed}`).toBe(true);
    }
  });

  it("unequal powers: one validator with more than a third stalls nothing while it is honest", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = simulate({ seed, validators: 4, powers: [40n, 10n, 10n, 10n], byzantine: -1, healAt: 2000, maxDelayMs: 200, dropRate: 0.2, partitions: true, heightsAfterHeal: 3, deadlineAfterHealMs: 60_000 });
      assertAgreement(r);
      expect(r.terminated, `seed ${seed}`).toBe(true);
    }
  });
});
