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

  it("unequal powers: one validator with more than a third stalls nothing while it is honest", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = simulate({ seed, validators: 4, powers: [40n, 10n, 10n, 10n], byzantine: -1, healAt: 2000, maxDelayMs: 200, dropRate: 0.2, partitions: true, heightsAfterHeal: 3, deadlineAfterHealMs: 60_000 });
      assertAgreement(r);
      expect(r.terminated, `seed ${seed}`).toBe(true);
    }
  });
});
