/** The mempool against a plain in-memory chain view and a real (main-thread) signature verifier. */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { Mempool, type MempoolChainView } from "../../../node/mempool/mempool.ts";
import type { MempoolOptions } from "../../../node/mempool/options.ts";
import { SignatureVerifier } from "../../../node/mempool/verifier.ts";
import { SignedTransaction } from "../../../node/types/transaction.ts";
import { decodeTransaction, decodeUnhashed, type TxEnvelope } from "../../../node/types/txcodec.ts";
import { DEFAULT_PARAMS } from "../../../node/types/params.ts";
import { utf8 } from "../../../node/util/hex.ts";
import { PouwError } from "../../../node/util/errors.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const keys = Array.from({ length: 4 }, (_, i) => AccountKey.fromLabel(`mempool-test/${i}`));
const to = AccountKey.fromLabel("mempool-test/recipient").address;
const verifier = new SignatureVerifier({ threads: 0 });
afterAll(() => verifier.close());

/** A chain view the test controls: committed nonces and balances per sender, and the base fee. */
class TestView implements MempoolChainView {
  chainId = utf8("pouw-test-1");
  params = DEFAULT_PARAMS;
  fee = 1n;
  accounts = new Map<string, { nonce: bigint; balance: bigint }>(keys.map((k) => [k.address.toString() && Buffer.from(k.address).toString("hex"), { nonce: 0n, balance: 10n ** 15n }]));
  baseFee(): bigint {
    return this.fee;
  }
  account(senderHex: string) {
    return this.accounts.get(senderHex);
  }
  setNonce(k: AccountKey, nonce: bigint): void {
    this.accounts.get(Buffer.from(k.address).toString("hex"))!.nonce = nonce;
  }
}

function pool(opts: Partial<MempoolOptions> = {}, view = new TestView()) {
  const evicted: TxEnvelope[] = [];
  const mp = new Mempool(opts, { view, verifier, onEvicted: (envs) => evicted.push(...envs) });
  return { mp, view, evicted };
}

// Signing costs about a millisecond: sign each (key, nonce, tip) once.
const signed = new Map<string, TxEnvelope>();
function tx(k: number, nonce: number, tip = 1n, maxFee = 100n): TxEnvelope {
  const id = `${k}/${nonce}/${tip}/${maxFee}`;
  let env = signed.get(id);
  if (!env) {
    env = signedTransfer(keys[k]!, { nonce: BigInt(nonce), to, amount: 5n, maxFeePerGas: maxFee, maxPriorityFeePerGas: tip }).env;
    signed.set(id, env);
  }
  return env;
}

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "ADMITTED";
  } catch (e) {
    expect(e).toBeInstanceOf(PouwError);
    return (e as PouwError).code;
  }
};

const hashes = (it: Iterable<TxEnvelope>) => [...it].map((e) => e.hashHex);

describe("mempool admission", () => {
  it("admits a valid transaction once", async () => {
    const { mp } = pool();
    expect(await codeOf(mp.add(tx(0, 0)))).toBe("ADMITTED");
    expect(mp.size).toBe(1);
    expect(mp.get(tx(0, 0).hashHex)).toBe(tx(0, 0));
    expect(mp.verified(tx(0, 0))).toBe(true);
    expect(await codeOf(mp.add(tx(0, 0)))).toBe("ALREADY_KNOWN");
    expect(mp.size).toBe(1);
  });

  it("rejects what the chain would never include, with the chain's codes", async () => {
    const { mp, view } = pool({ maxNonceAhead: 4 });
    view.setNonce(keys[0]!, 2n);
    expect(await codeOf(mp.add(tx(0, 1)))).toBe("NONCE_TOO_LOW");
    expect(await codeOf(mp.add(tx(0, 7)))).toBe("NONCE_TOO_HIGH");
    expect(await codeOf(mp.add(tx(0, 6)))).toBe("ADMITTED"); // exactly maxNonceAhead ahead: queued
    view.fee = 101n;
    expect(await codeOf(mp.add(tx(0, 2)))).toBe("FEE_BELOW_BASE_FEE");
    view.fee = 1n;
    view.accounts.get(Buffer.from(keys[1]!.address).toString("hex"))!.balance = 1000n;
    expect(await codeOf(mp.add(tx(1, 0)))).toBe("INSUFFICIENT_FUNDS");
    const other = signedTransfer(keys[2]!, { chainId: "other-chain", nonce: 0n, to, amount: 1n }).env;
    expect(await codeOf(mp.add(other))).toBe("WRONG_CHAIN_ID");
    expect(mp.size).toBe(1); // only the queued nonce 6
  });

  it("rejects a bad signature without affecting the rest of its batch", async () => {
    const { mp } = pool();
    const good = tx(0, 0);
    const s = SignedTransaction.deserialize(tx(1, 0).bytes);
    s.signature[100] ^= 1;
    const bad = decodeTransaction(SignedTransaction.serialize(s));
    const res = await mp.addBatch([good, bad, tx(2, 0)]);
    expect(res.map((r) => r?.code ?? null)).toEqual([null, "BAD_SIGNATURE", null]);
    expect(mp.has(bad.hashHex)).toBe(false);
    expect(mp.size).toBe(2);
  });

  it("refuses the same transaction twice in one batch", async () => {
    const { mp } = pool();
    const res = await mp.addBatch([tx(0, 0), tx(0, 0)]);
    expect(res.map((r) => r?.code ?? null)).toEqual([null, "ALREADY_KNOWN"]);
  });
});

describe("nonce queues and ordering", () => {
  it("yields ready transactions best tip first, each sender in nonce order, and holds gaps back", async () => {
    const { mp, view } = pool();
    await mp.addBatch([tx(0, 1, 50n), tx(0, 0, 1n), tx(1, 0, 10n), tx(1, 1, 2n), tx(2, 1, 99n)]);
    // Sender 0's nonce 0 pays 1 and gates its nonce 1 (tip 50); sender 2 has only nonce 1 (a gap).
    expect(hashes(mp.pending(1n))).toEqual(hashes([tx(1, 0, 10n), tx(1, 1, 2n), tx(0, 0, 1n), tx(0, 1, 50n)]));
    // Filling the gap makes sender 2 ready.
    await mp.add(tx(2, 0, 3n));
    expect(hashes(mp.pending(1n)).slice(0, 2)).toEqual(hashes([tx(1, 0, 10n), tx(2, 0, 3n)]));
    // After the account nonce moves past a queued transaction it is pruned on commit.
    view.setNonce(keys[1]!, 2n);
    mp.removeCommitted([tx(1, 0, 10n)]);
    expect(mp.has(tx(1, 1, 2n).hashHex)).toBe(false);
    expect(mp.size).toBe(4);
  });

  it("orders by effective tip at the given base fee, and skips senders whose next transaction cannot pay it", async () => {
    const { mp } = pool();
    // maxFee 20 with tip 15 is worth min(15, 20 - baseFee); maxFee 100 with tip 8 is worth 8.
    await mp.addBatch([tx(0, 0, 15n, 20n), tx(1, 0, 8n, 100n)]);
    expect(hashes(mp.pending(1n))).toEqual(hashes([tx(0, 0, 15n, 20n), tx(1, 0, 8n, 100n)]));
    expect(hashes(mp.pending(14n))).toEqual(hashes([tx(1, 0, 8n, 100n), tx(0, 0, 15n, 20n)]));
    expect(hashes(mp.pending(21n))).toEqual(hashes([tx(1, 0, 8n, 100n)]));
  });

  it("keeps later nonces queued when one is removed", async () => {
    const { mp } = pool();
    await mp.addBatch([tx(0, 0), tx(0, 1), tx(0, 2)]);
    expect(mp.remove(tx(0, 0).hashHex)).toBe(true);
    expect(mp.size).toBe(2);
    expect([...mp.pending(1n)]).toEqual([]);
    await mp.add(tx(0, 0, 2n));
    expect(hashes(mp.pending(1n))).toEqual(hashes([tx(0, 0, 2n), tx(0, 1), tx(0, 2)]));
  });
});

describe("replace by fee", () => {
  it("replaces a waiting transaction only when both fee caps rise by 10 %", async () => {
    const { mp } = pool();
    await mp.add(tx(0, 0, 10n, 100n));
    expect(await codeOf(mp.add(tx(0, 0, 11n, 109n)))).toBe("REPLACEMENT_UNDERPRICED");
    expect(await codeOf(mp.add(tx(0, 0, 10n, 200n)))).toBe("REPLACEMENT_UNDERPRICED");
    expect(await codeOf(mp.add(tx(0, 0, 11n, 110n)))).toBe("ADMITTED");
    expect(mp.size).toBe(1);
    expect(mp.has(tx(0, 0, 10n, 100n).hashHex)).toBe(false);
    expect(hashes(mp.pending(1n))).toEqual(hashes([tx(0, 0, 11n, 110n)]));
  });
});

describe("replaced transactions", () => {
  const hex = (k: AccountKey) => Buffer.from(k.address).toString("hex");

  it("remembers a fee-bumped transaction with the hash that replaced it, along a chain of bumps, and after the replacement is included", async () => {
    const { mp, view } = pool();
    const [a, b, c] = [tx(0, 0, 10n, 100n), tx(0, 0, 11n, 110n), tx(0, 0, 13n, 130n)];
    await mp.add(a);
    expect(mp.replacement(a.hashHex)).toBeUndefined();
    await mp.add(b);
    expect(mp.replacement(a.hashHex)).toEqual({ replacedBy: b.hashHex, senderHex: hex(keys[0]!), nonce: 0n });
    await mp.add(c);
    expect(mp.replacement(b.hashHex)?.replacedBy).toBe(c.hashHex);
    expect(mp.replacement(a.hashHex)?.replacedBy).toBe(b.hashHex); // a wallet follows the chain
    expect(mp.replacement(c.hashHex)).toBeUndefined();
    view.setNonce(keys[0]!, 1n);
    mp.removeCommitted([c]);
    expect(mp.size).toBe(0);
    expect(mp.replacement(a.hashHex)?.replacedBy).toBe(b.hashHex);
    expect(mp.replacement(b.hashHex)?.replacedBy).toBe(c.hashHex);
  });

  it("records a waiting transaction as replaced by the other one of the same sender and nonce that a block included", async () => {
    const { mp, view } = pool();
    const mine = tx(1, 0, 10n, 100n);
    const later = tx(1, 1, 10n, 100n);
    await mp.addBatch([mine, later]);
    const theirs = tx(1, 0, 12n, 300n); // the fee bump reached the proposer through another node's pool
    view.setNonce(keys[1]!, 1n);
    mp.removeCommitted([theirs]);
    expect(mp.has(mine.hashHex)).toBe(false);
    expect(mp.replacement(mine.hashHex)).toEqual({ replacedBy: theirs.hashHex, senderHex: hex(keys[1]!), nonce: 0n });
    expect(mp.has(later.hashHex)).toBe(true);
    expect(mp.replacement(later.hashHex)).toBeUndefined();
  });

  it("forgets the oldest beyond maxRemembered, and forgets a replaced transaction that is admitted again", async () => {
    const { mp } = pool({ maxRemembered: 2 });
    for (const k of [0, 1, 2]) {
      await mp.add(tx(k, 0, 10n, 100n));
      await mp.add(tx(k, 0, 11n, 110n));
    }
    expect(mp.replacement(tx(0, 0, 10n, 100n).hashHex)).toBeUndefined();
    expect(mp.replacement(tx(1, 0, 10n, 100n).hashHex)?.replacedBy).toBe(tx(1, 0, 11n, 110n).hashHex);
    expect(mp.replacement(tx(2, 0, 10n, 100n).hashHex)?.replacedBy).toBe(tx(2, 0, 11n, 110n).hashHex);
    // The replacement leaves the pool (found invalid while building a block); the original comes back.
    mp.remove(tx(2, 0, 11n, 110n).hashHex);
    await mp.add(tx(2, 0, 10n, 100n));
    expect(mp.replacement(tx(2, 0, 10n, 100n).hashHex)).toBeUndefined();
    expect(mp.get(tx(2, 0, 10n, 100n).hashHex)).toBeDefined();
    const off = pool({ maxRemembered: 0 }).mp;
    await off.add(tx(3, 0, 10n, 100n));
    await off.add(tx(3, 0, 11n, 110n));
    expect(off.replacement(tx(3, 0, 10n, 100n).hashHex)).toBeUndefined();
  });
});

describe("caps and eviction", () => {
  it("limits transactions per sender", async () => {
    const { mp } = pool({ maxPerSender: 2 });
    await mp.addBatch([tx(0, 0), tx(0, 1)]);
    expect(await codeOf(mp.add(tx(0, 2)))).toBe("SENDER_LIMIT");
    expect(await codeOf(mp.add(tx(0, 1, 2n, 200n)))).toBe("ADMITTED"); // a replacement is not a new slot
  });

  it("when full, evicts the lowest tip (and that sender's later nonces) for a better transaction, and refuses a worse one", async () => {
    const { mp, evicted } = pool({ maxTxs: 3 });
    await mp.addBatch([tx(0, 0, 5n), tx(1, 0, 2n), tx(1, 1, 9n)]);
    expect(await codeOf(mp.add(tx(2, 0, 2n)))).toBe("MEMPOOL_FULL");
    expect(mp.size).toBe(3);
    expect(await codeOf(mp.add(tx(2, 0, 6n)))).toBe("ADMITTED");
    // Sender 1's nonce 0 had the lowest tip; its nonce 1 could no longer execute, so it went too.
    expect(hashes(evicted).sort()).toEqual(hashes([tx(1, 0, 2n), tx(1, 1, 9n)]).sort());
    expect(hashes(mp.pending(1n))).toEqual(hashes([tx(2, 0, 6n), tx(0, 0, 5n)]));
  });

  it("caps the bytes held", async () => {
    const size = tx(0, 0).bytes.length;
    const { mp } = pool({ maxBytes: 2 * size });
    await mp.addBatch([tx(0, 0, 3n), tx(1, 0, 3n)]);
    expect(await codeOf(mp.add(tx(2, 0, 3n)))).toBe("MEMPOOL_FULL");
    expect(await codeOf(mp.add(tx(2, 0, 4n)))).toBe("ADMITTED");
    expect(mp.bytes).toBeLessThanOrEqual(2 * size);
  });

  it("keeps every cap and the queue invariants under random traffic", async () => {
    const opts = { maxTxs: 6, maxPerSender: 3, maxNonceAhead: 4 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ k: fc.integer({ min: 0, max: 3 }), nonce: fc.integer({ min: 0, max: 4 }), tip: fc.constantFrom(1n, 2n, 5n, 9n) }), { maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
        async (ops, commits) => {
          const { mp, view } = pool(opts);
          for (const o of ops) await mp.add(tx(o.k, o.nonce, o.tip, 100n)).catch(() => undefined);
          expect(mp.size).toBeLessThanOrEqual(opts.maxTxs);
          // Commit the next ready transaction of some senders, as a block would.
          for (const k of commits) {
            const next = [...mp.pending(1n)].find((e) => e.senderHex === Buffer.from(keys[k]!.address).toString("hex"));
            if (!next) continue;
            view.setNonce(keys[k]!, next.signed.tx.nonce + 1n);
            mp.removeCommitted([next]);
          }
          const seen = new Map<string, bigint>();
          for (const e of mp.pending(1n)) {
            const expected = seen.get(e.senderHex) ?? view.account(e.senderHex)!.nonce;
            expect(e.signed.tx.nonce).toBe(expected);
            seen.set(e.senderHex, expected + 1n);
            expect(mp.has(e.hashHex)).toBe(true);
          }
          const perSender = new Map<string, number>();
          const held = new Map(ops.map((o) => tx(o.k, o.nonce, o.tip, 100n)).map((e) => [e.hashHex, e]));
          const slots = new Set<string>();
          for (const e of held.values()) {
            if (!mp.has(e.hashHex)) continue;
            const slot = `${e.senderHex}/${e.signed.tx.nonce}`;
            expect(slots.has(slot), `two transactions held for ${slot}`).toBe(false);
            slots.add(slot);
            perSender.set(e.senderHex, (perSender.get(e.senderHex) ?? 0) + 1);
            expect(e.signed.tx.nonce).toBeGreaterThanOrEqual(view.account(e.senderHex)!.nonce);
          }
          for (const n of perSender.values()) expect(n).toBeLessThanOrEqual(opts.maxPerSender);
        },
      ),
      { seed: 20261125, numRuns: 60 },
    );
  });
});

describe("screen (admission's checks on arrival, before hashing)", () => {
  it("refuses what the mempool would refuse without a hash or a signature, and knows a resubmission by its bytes", async () => {
    const { mp, view } = pool();
    const first = tx(0, 0);
    expect(mp.screen(decodeUnhashed(first.bytes))).toBeNull();
    await mp.add(first);
    // The very same bytes again: already known, before any hashing.
    expect(mp.screen(decodeUnhashed(first.bytes))?.code).toBe("ALREADY_KNOWN");
    // Same sender and nonce, a different transaction without the fee bump: underpriced.
    expect(mp.screen(decodeUnhashed(tx(0, 0, 1n, 101n).bytes))?.code).toBe("REPLACEMENT_UNDERPRICED");
    view.setNonce(keys[1]!, 3n);
    expect(mp.screen(decodeUnhashed(tx(1, 2).bytes))?.code).toBe("NONCE_TOO_LOW");
    view.fee = 200n;
    expect(mp.screen(decodeUnhashed(tx(2, 0).bytes))?.code).toBe("FEE_BELOW_BASE_FEE");
    expect(mp.size).toBe(1);
  });

  it("addBatch with verdicts given takes them instead of verifying again", async () => {
    const { mp } = pool();
    const a = tx(3, 0);
    const b = tx(3, 1);
    const results = await mp.addBatch([a, b], [true, false]);
    expect(results.map((r) => r?.code ?? "ADMITTED")).toEqual(["ADMITTED", "BAD_SIGNATURE"]);
    expect(mp.has(a.hashHex) && !mp.has(b.hashHex)).toBe(true);
  });
});

