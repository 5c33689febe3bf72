/**
 * What `npm start` does, as a process: `pouw start --devnet` initialises a
 * home from the embedded devnet genesis and runs one validator plus the
 * built-in worker. The genesis demo job (an MLP 784-128-10 on mnist-10k,
 * 600 steps) is trained to at least 90 % validation accuracy, its proof is
 * attested and accepted, and after the challenge window the worker (dev:1)
 * is paid the reward plus its PoUW-pool share and gets its bond back. The
 * log shows the loss falling.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AccountKey, devAccountLabel } from "../../node/crypto/keys.ts";
import { freePort, startChild, type ChildNode } from "../helpers/child.ts";

const DEMO_JOB = "0xd95a157205fad3696fee839d5aad8e365f8955bd5ad38c818010580b602fd6f2";

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string, log: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined as T);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log().split("\n").slice(-30).join("\n")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("npm start: a devnet validator with the built-in worker", () => {
  const home = join(mkdtempSync(join(tmpdir(), "pouw-devnet-work-")), "home");
  let child: ChildNode | undefined;
  afterAll(async () => {
    child?.proc.kill("SIGTERM");
    await child?.exited;
    rmSync(join(home, ".."), { recursive: true, force: true });
  });

  it("trains the demo mnist job past 90 %, gets the proof accepted and the worker paid", async () => {
    const port = await freePort();
    child = await startChild(home, port, ["--devnet", "--block-time", "300", "--log-level", "info"]);
    const { client } = child;
    const worker = AccountKey.fromLabel(devAccountLabel(1)).bech32;
    const job0 = await client.getJob(DEMO_JOB);
    expect(job0.status).toBe("open");
    expect(job0.spec.layers).toEqual([784, 128, 10]);
    const before = BigInt((await client.getAccount(worker)).balance);
    const proving = await until(() => client.getJob(DEMO_JOB), (j) => j.status !== "open", 240_000, "the worker's proof", child.output);
    const proofId = proving.proof!;
    const accepted = await until(() => client.getWorkProof(proofId), (p) => p.status !== "pending", 120_000, "the validator's attestation", child.output);
    expect(accepted.status, child.output().split("\n").filter((l) => /ttest|proof/i.test(l)).join("\n")).toBe("accepted");
    const claimed = accepted.commitment.claimedMetric as { accuracyBps: number };
    expect(claimed.accuracyBps).toBeGreaterThanOrEqual(9000);
    const paid = await until(() => client.getWorkProof(proofId), (p) => p.status === "paid", 120_000, "payment after the challenge window", child.output);
    expect((await client.getJob(DEMO_JOB)).status).toBe("completed");
    const after = BigInt((await client.getAccount(worker)).balance);
    expect(paid.worker).toBe(worker);
    // The worker paid the SubmitProof fee; its bond went out and came back; it got the reward and a pool share.
    const submitted = child
      .output()
      .split("\n")
      .find((l) => l.includes('"msg":"Submitted a proof"'));
    const tx = await client.getTransaction((JSON.parse(submitted!) as { tx: string }).tx);
    if (!tx || tx.status !== "finalized") throw new Error("SubmitProof not finalized");
    const fee = BigInt(tx.receipt.feeBurned) + BigInt(tx.receipt.tip);
    const share = after - before + fee - BigInt(job0.reward);
    const info = await client.chainInfo();
    expect(share > 0n).toBe(true); // the PoUW pool share
    expect(share <= (BigInt(info.height) * 1_000_000_000n * 2000n) / 10_000n).toBe(true); // at most all PoUW issuance so far
    expect(BigInt(info.totals.escrowed)).toBe(0n); // reward and bond both left escrow
    // The log shows training progress with the loss falling.
    const losses = child
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"Training"'))
      .map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(losses.length).toBeGreaterThanOrEqual(10);
    expect(losses[losses.length - 1]!.loss).toBeLessThan(losses[0]!.loss / 2);
    expect(child.output()).toMatch(/"msg":"Attested a proof valid"/);
  }, 480_000);
});
