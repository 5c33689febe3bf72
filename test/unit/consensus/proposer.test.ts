import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProposerSet } from "../../../node/chain/proposer.ts";

const ids = ["aa", "bb", "cc", "dd", "ee", "ff"];

describe("CometBFT proposer priority", () => {
  it("rotates equal powers in address order", () => {
    let set = ProposerSet.fromPowers(ids.slice(0, 4).map((id) => ({ id, power: 10n })));
    const seq: string[] = [];
    for (let h = 0; h < 8; h++) {
      seq.push(set.proposer.id);
      set = set.next();
    }
    expect(seq).toEqual(["aa", "bb", "cc", "dd", "aa", "bb", "cc", "dd"]);
  });

  it("follows CometBFT's sequence for powers 1, 2, 3 (priorities as in its spec's worked example)", () => {
    // Computed by hand from the algorithm: p += power; max proposes; max -= total (6).
    let set = ProposerSet.fromPowers([{ id: "aa", power: 1n }, { id: "bb", power: 2n }, { id: "cc", power: 3n }]);
    const seq: string[] = [];
    for (let h = 0; h < 6; h++) {
      seq.push(set.proposer.id);
      set = set.next();
    }
    // priorities: (1,2,3)->cc (1,2,-3); (2,4,0)->bb (2,-2,0); (3,0,3)->aa (-3,0,3); (-2,2,6)->cc (-2,2,0);
    // (-1,4,3)->bb (-1,-2,3); (0,0,6)->cc
    expect(seq).toEqual(["cc", "bb", "aa", "cc", "bb", "cc"]);
  });

  it("rounds within a height follow the same rotation, and do not change the next height's set", () => {
    const set = ProposerSet.fromPowers(ids.slice(0, 3).map((id) => ({ id, power: 5n })));
    expect([0, 1, 2, 3].map((r) => set.proposerAt(r).id)).toEqual(["aa", "bb", "cc", "aa"]);
    expect(set.proposer.id).toBe("aa");
    expect(set.next().proposer.id).toBe("bb");
  });

  it("gives each validator proposals in proportion to its power, deterministically", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }), (powers) => {
        const vals = powers.map((p, i) => ({ id: ids[i]!, power: BigInt(p) }));
        const total = powers.reduce((a, b) => a + b, 0);
        const rounds = total * 3;
        const count = new Map<string, number>();
        let set = ProposerSet.fromPowers(vals);
        let again = ProposerSet.fromPowers(vals);
        for (let i = 0; i < rounds; i++) {
          count.set(set.proposer.id, (count.get(set.proposer.id) ?? 0) + 1);
          expect(again.proposer.id).toBe(set.proposer.id);
          set = set.next();
          again = again.next();
        }
        // Over 3 × total steps each validator proposes 3 × its power times, give or take the window.
        vals.forEach((v, i) => expect(Math.abs((count.get(v.id) ?? 0) - 3 * powers[i]!)).toBeLessThanOrEqual(2));
        // Priorities stay centred and bounded.
        for (const v of set.validators) expect(v.priority < 3n * set.totalPower && v.priority > -3n * set.totalPower).toBe(true);
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it("refuses empty sets, zero power and duplicates", () => {
    expect(() => ProposerSet.fromPowers([])).toThrow(RangeError);
    expect(() => ProposerSet.fromPowers([{ id: "aa", power: 0n }])).toThrow(RangeError);
    expect(() => ProposerSet.fromPowers([{ id: "aa", power: 1n }, { id: "aa", power: 2n }])).toThrow(RangeError);
  });
});
