/** The worker-thread signature verifier agrees with the main thread, splits batches, and survives a dead worker. */
import { afterAll, describe, expect, it } from "vitest";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { mlDsa } from "../../../node/crypto/mldsa.ts";
import { SignatureVerifier, type VerifyItem } from "../../../node/mempool/verifier.ts";
import { SignedTransaction } from "../../../node/types/transaction.ts";
import { decodeTransaction, decodeUnhashed, envelopeOf } from "../../../node/types/txcodec.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const keys = Array.from({ length: 3 }, (_, i) => AccountKey.fromLabel(`verifier-test/${i}`));
const items: VerifyItem[] = Array.from({ length: 40 }, (_, i) => {
  const key = keys[i % keys.length]!;
  const message = new TextEncoder().encode(`message ${i}`);
  const signature = key.sign(message);
  if (i % 7 === 3) signature[i] ^= 1; // some bad signatures
  if (i % 11 === 5) return { publicKey: key.publicKey, message: new TextEncoder().encode("other"), signature };
  if (i === 13) return { publicKey: key.publicKey.subarray(1), message, signature }; // wrong length
  return { publicKey: key.publicKey, message, signature };
});
const expected = items.map((it) => mlDsa().verify(it.publicKey, it.message, it.signature));

describe("SignatureVerifier", () => {
  const pools: SignatureVerifier[] = [];
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it("gives the main thread's answers, item by item, for large and small batches", async () => {
    expect(expected.filter((x) => !x).length).toBeGreaterThan(5);
    const v = new SignatureVerifier({ threads: 2 });
    pools.push(v);
    expect(await v.verifyBatch(items)).toEqual(expected);
    expect(await v.verifyBatch(items.slice(0, 3))).toEqual(expected.slice(0, 3));
    expect(await v.verifyBatch([])).toEqual([]);
    const inline = new SignatureVerifier({ threads: 0 });
    pools.push(inline);
    expect(await inline.verifyBatch(items)).toEqual(expected);
  });

  it("a lazy verifier starts its threads on the first batch, not before", async () => {
    const v = new SignatureVerifier({ threads: 1, lazy: true });
    pools.push(v);
    const threads = () => (v as unknown as { pool: unknown[] }).pool.length;
    expect(v.running).toBe(false);
    expect(threads()).toBe(0);
    expect(await v.verifyBatch(items)).toEqual(expected);
    expect(v.running).toBe(true);
    expect(threads()).toBe(1);
    const eager = new SignatureVerifier({ threads: 1 });
    pools.push(eager);
    expect(eager.running).toBe(true);
  });

  it("replaces a worker that died and still answers every item", async () => {
    const v = new SignatureVerifier({ threads: 1 });
    pools.push(v);
    await v.verifyBatch([]);
    const thread = (v as unknown as { pool: { worker: { terminate(): Promise<number> } }[] }).pool[0]!;
    const answer = v.verifyBatch(items);
    await thread.worker.terminate(); // dies with the batch in flight
    expect(await answer).toEqual(expected);
    expect(await v.verifyBatch(items.slice(0, 5))).toEqual(expected.slice(0, 5));
  });

  it("refuses work after close", async () => {
    const v = new SignatureVerifier({ threads: 1 });
    await v.close();
    await expect(v.verifyBatch(items)).rejects.toMatchObject({ code: "VERIFIER_CLOSED" });
  });

  it("digestAndVerify: each transaction's hash and signing message as decodeTransaction derives them, and its verdict", async () => {
    const to = AccountKey.fromLabel("verifier-test/to").address;
    const txs = Array.from({ length: 37 }, (_, i) => signedTransfer(keys[i % keys.length]!, { nonce: BigInt(i), to, amount: BigInt(i + 1) }).bytes);
    // Some with a flipped signature bit: same bytes layout, so they decode, hash differently and fail verification.
    const bad = new Set([4, 17, 30]);
    const inputs = txs.map((b, i) => {
      if (!bad.has(i)) return b;
      const copy = new Uint8Array(b);
      const { signature } = SignedTransaction.deserialize(copy, { reuseBytes: true });
      signature[100]! ^= 1;
      return copy;
    });
    for (const threads of [0, 2]) {
      const v = new SignatureVerifier({ threads });
      pools.push(v);
      for (const batch of [inputs, inputs.slice(0, 5)]) {
        const got = await v.digestAndVerify(batch);
        expect(got.length).toBe(batch.length);
        batch.forEach((b, i) => {
          const env = decodeTransaction(b);
          expect(Buffer.from(got[i]!.hash).toString("hex"), `threads ${threads}, tx ${i}`).toBe(Buffer.from(env.hash).toString("hex"));
          expect(envelopeOf(decodeUnhashed(b), got[i]!.hash, got[i]!.txRoot)).toEqual(env);
          expect(got[i]!.ok).toBe(!bad.has(i));
        });
      }
      expect(await v.digestAndVerify([])).toEqual([]);
    }
  });
});
