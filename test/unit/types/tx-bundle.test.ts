/** Gossip bundles of transactions: round-trip, and split at the count and byte limits. */
import { describe, expect, it } from "vitest";
import { bundleTxs, TX_BUNDLE_MAX_BYTES, TX_BUNDLE_MAX_TXS, TxBundle } from "../../../node/types/tx-bundle.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("bundleTxs", () => {
  it("keeps every transaction, in order, within both limits", () => {
    const small = Array.from({ length: 2 * TX_BUNDLE_MAX_TXS + 5 }, (_, i) => new Uint8Array(100).fill(i % 251));
    const big = Array.from({ length: 500 }, (_, i) => new Uint8Array(5_000).fill(i % 251));
    for (const txs of [small, big, [...big.slice(0, 2), ...small.slice(0, 10)]]) {
      const bundles = bundleTxs(txs);
      const back = bundles.flatMap((b) => {
        expect(b.length).toBeLessThanOrEqual(TX_BUNDLE_MAX_BYTES + 4);
        const list = TxBundle.deserialize(b);
        expect(list.length).toBeLessThanOrEqual(TX_BUNDLE_MAX_TXS);
        return list;
      });
      expect(back.map(hex)).toEqual(txs.map(hex));
    }
    expect(bundleTxs(small).length).toBe(3);
    expect(bundleTxs(big).length).toBe(Math.ceil(500 / Math.floor(TX_BUNDLE_MAX_BYTES / 5_004))); // the byte limit: 209 a bundle
    expect(bundleTxs([])).toEqual([]);
  });
});
