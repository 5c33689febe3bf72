/**
 * The admission pipeline: transactions submitted one by one during one turn
 * of the event loop reach the mempool as a few batches (at most `maxBatch`
 * each, at most `maxInFlight` at once), each caller gets its own result, and
 * a batch that fails fails only its own callers. The journal behind it writes
 * appends and rewrites in call order.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AdmissionQueue } from "../../../node/mempool/admission.ts";
import { MempoolJournal } from "../../../node/mempool/journal.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { PouwError } from "../../../node/util/errors.ts";
import { fromHex, hexBytes } from "../../../node/util/hex.ts";

const env = (i: number) => ({ hashHex: `0x${i.toString(16).padStart(64, "0")}` }) as unknown as TxEnvelope;

describe("admission queue", () => {
  it("batches what one turn submits, keeps at most maxInFlight batches and answers each caller with its own result", async () => {
    const batches: number[] = [];
    let inFlight = 0;
    let most = 0;
    const q = new AdmissionQueue<TxEnvelope, PouwError | null>(
      async (envs) => {
        batches.push(envs.length);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return envs.map((e) => (Number.parseInt(e.hashHex.slice(-4), 16) % 3 === 0 ? new PouwError("ODD", e.hashHex) : null));
      },
      { maxBatch: 100, maxInFlight: 2 },
    );
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => q.submit(env(i))));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(1000);
    expect(Math.max(...batches)).toBeLessThanOrEqual(100);
    expect(batches.length).toBe(10);
    expect(most).toBe(2);
    results.forEach((r, i) => expect(r?.message ?? null).toBe(i % 3 === 0 ? env(i).hashHex : null));
  });

  it("a batch that throws rejects its own callers only; later submissions go on", async () => {
    let n = 0;
    const q = new AdmissionQueue<TxEnvelope, PouwError | null>(async (envs) => {
      if (n++ === 0) throw new Error("verifier closed");
      return envs.map(() => null);
    });
    const first = [q.submit(env(1)), q.submit(env(2))];
    await expect(Promise.all(first)).rejects.toThrow("verifier closed");
    expect(await q.submit(env(3))).toBeNull();
  });
});

describe("mempool journal writes", () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-journal-unit-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes appends and rewrites in call order", async () => {
    const path = join(dir, "mempool.journal");
    const { journal } = MempoolJournal.open(path);
    const tx = (b: number) => new Uint8Array(300_000).fill(b);
    // Not awaited in between: a rewrite queued between appends replaces only what came before it.
    const writes = [journal.append([tx(1), tx(2)]), journal.rewrite([tx(9)]), journal.append([tx(3)])];
    await Promise.all(writes);
    await journal.close();
    const again = MempoolJournal.open(path);
    expect(again.txs.map((t) => t[0])).toEqual([9, 3]);
    await again.journal.close();
    expect(readFileSync(path).length).toBe(2 * (4 + 300_000));
  });
});

describe("hex decoding", () => {
  it("decodes by Buffer and refuses odd lengths and non-hex digits anywhere; results never share Buffer's pool", () => {
    expect([...fromHex("0x00ff10")]).toEqual([0, 255, 16]);
    expect([...fromHex("ABcd")]).toEqual([0xab, 0xcd]);
    for (const bad of ["0x0", "0x0g", "0xzz00", "0x00zz", "0x 00", "0x00 "]) {
      expect(hexBytes(bad), bad).toBeNull();
      expect(() => fromHex(bad)).toThrow(TypeError);
    }
    const a = fromHex("0x0102");
    const b = fromHex("0x0304");
    a[0] = 9;
    expect([...b]).toEqual([3, 4]);
    expect(a.buffer.byteLength).toBe(2);
  });
});
