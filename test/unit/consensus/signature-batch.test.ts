/** Consensus signatures checked in a verifier thread, a burst at a time. */
import { afterAll, describe, expect, it } from "vitest";
import { SignatureBatch } from "../../../node/consensus/signature-batch.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { SignatureVerifier } from "../../../node/mempool/verifier.ts";

const keys = Array.from({ length: 4 }, (_, i) => AccountKey.fromLabel(`signature-batch/${i}`));
const message = (i: number) => new TextEncoder().encode(`vote ${i}`);

describe("SignatureBatch", () => {
  const verifier = new SignatureVerifier({ threads: 1 });
  afterAll(() => verifier.close());

  it("checks what arrives in one turn of the event loop as one batch, each with its own verdict", async () => {
    const calls: number[] = [];
    const batch = new SignatureBatch({ verifyBatch: (items) => (calls.push(items.length), verifier.verifyBatch(items)) });
    const checks = keys.map((k, i) => batch.check(k.publicKey, message(i), k.sign(message(i))));
    // A signature over another message, and one by another key: both refused.
    checks.push(batch.check(keys[0]!.publicKey, message(0), keys[0]!.sign(message(1))));
    checks.push(batch.check(keys[1]!.publicKey, message(1), keys[2]!.sign(message(1))));
    expect(await Promise.all(checks)).toEqual([true, true, true, true, false, false]);
    expect(calls).toEqual([6]);
    // A later turn is a batch of its own.
    expect(await batch.check(keys[3]!.publicKey, message(3), keys[3]!.sign(message(3)))).toBe(true);
    expect(calls).toEqual([6, 1]);
  });

  it("passes a verifier failure to every check of the batch", async () => {
    const batch = new SignatureBatch({ verifyBatch: () => Promise.reject(new Error("verifier closed")) });
    const a = batch.check(keys[0]!.publicKey, message(0), keys[0]!.sign(message(0)));
    const b = batch.check(keys[1]!.publicKey, message(1), keys[1]!.sign(message(1)));
    await expect(a).rejects.toThrow("verifier closed");
    await expect(b).rejects.toThrow("verifier closed");
  });
});
