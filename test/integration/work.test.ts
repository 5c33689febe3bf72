/**
 * Useful work end to end on a live single-validator node (real LevelDB in a
 * temp dir, JSON-RPC on 127.0.0.1, the validator's verifier and the worker
 * each in their own worker thread): a job is trained by the worker, its
 * blobs published, its proof attested valid by the validator, accepted, and
 * paid after the challenge window. A proof claiming more than it achieved is
 * attested invalid and its bond slashed; a proof whose blobs are withheld
 * gets no attestation and is rejected at its deadline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommittedBlock } from "../../node/chain/blockchain.ts";
import { PouwClient } from "../../node/client/client.ts";
import { signAndWait } from "../../node/client/send.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { PouwNode } from "../../node/node.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { prove } from "../../node/pouw/proof.ts";
import { f32ToBits } from "../../node/pouw/training.ts";
import { WorkThread } from "../../node/pouw/work-pool.ts";
import { ProofStatus } from "../../node/state/schemas.ts";
import { TxSelector, type JobSpecT, type TransactionT } from "../../node/types/transaction.ts";
import { fromHex, toHex } from "../../node/util/hex.ts";
import { silentLogger } from "../../node/util/logger.ts";
import { JobWorker } from "../../node/work/worker.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { until } from "../helpers/until.ts";

const data = syntheticDataset({ seed: "work-e2e", features: 12, classes: 4, train: 400, validation: 100 });
const net = makeTestNet({
  label: "work-e2e",
  accounts: 3,
  params: { attestationDeadline: 8, challengeWindow: 3, blockTimeMs: 200 },
  datasets: [{ name: data.name, id: toHex(data.id), features: 12, classes: 4, train: 400, validation: 100 }],
});
const [requester, workerKey, cheater] = net.accounts as [AccountKey, AccountKey, AccountKey];
const REWARD = 7_000_000_000n;
const BOND = 2_000_000_000n;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}


describe("useful work on a live node", () => {
  let dir: string;
  let node: PouwNode;
  let client: PouwClient;
  const history: { height: number; pool: bigint; worker: bigint }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pouw-work-"));
    const port = await freePort();
    node = await PouwNode.create({ dataDir: dir, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port }, metrics: true });
    node.chain.onCommit((c: CommittedBlock) => {
      history.push({ height: c.block.header.height, pool: node.chain.world.totals.pouwPool, worker: node.chain.world.getAccount(workerKey.address)?.balance ?? 0n });
    });
    await node.start();
    client = new PouwClient(`http://127.0.0.1:${port}/`);
  });

  afterAll(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const spec = (over: Partial<JobSpecT> = {}): JobSpecT => ({
    datasetId: data.id,
    layers: [12, 24, 4],
    learningRateBits: f32ToBits(0.1),
    momentumBits: f32ToBits(0.9),
    batchSize: 16,
    steps: 120,
    segmentLength: 20,
    seed: new Uint8Array(32).fill(6),
    targetMetric: 0,
    targetThreshold: 8000,
    deadline: node.chain.head.header.height + 400,
    ...over,
  });

  async function createJob(s: JobSpecT): Promise<string> {
    const r = await signAndWait(client, requester, { selector: TxSelector.CreateJob, value: { spec: s, reward: REWARD, workerBond: BOND } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    return r.hash;
  }

  it("the worker trains and proves a job; the validator attests it; it is accepted and paid reward, bond and the PoUW pool", async () => {
    const jobId = await createJob(spec());
    const thread = new WorkThread();
    const steps: number[] = [];
    // The speed gauge as it stood at each progress report (set just before the report).
    const speeds: Promise<number>[] = [];
    const speed = async () => (await node.metrics!.workerStepsPerSecond.get()).values[0]?.value ?? NaN;
    const worker = new JobWorker({
      client,
      key: workerKey,
      thread,
      logger: silentLogger(),
      metrics: node.metrics,
      onProgress: (_, step) => {
        steps.push(step);
        if (step > 0) speeds.push(speed());
      },
    });
    try {
      const out = await worker.runOnce();
      expect(out.kind).toBe("submitted");
      if (out.kind !== "submitted") return;
      expect(out.jobId).toBe(jobId);
      expect(out.accuracyBps).toBeGreaterThanOrEqual(8000);
      expect(steps[steps.length - 1]).toBe(120);
      expect(Math.min(...(await Promise.all(speeds)))).toBeGreaterThan(0);
      expect(await speed()).toBe(0); // idle again
      const proofId = out.proofId!;
      const accepted = await until(() => client.getWorkProof(proofId), (p) => p.status !== "pending", 30_000, "the validator's attestation");
      expect(accepted.status).toBe("accepted");
      expect(accepted.attesters).toEqual([net.validator.bech32]);
      const paid = await until(() => client.getWorkProof(proofId), (p) => p.status === "paid", 30_000, "payment after the challenge window");
      expect(paid.decidedAt).toBe(accepted.payableAt);
      expect((await client.getJob(jobId)).status).toBe("completed");
      // At the paying block the worker got reward + bond + the whole pool (it was the only proof paid).
      const at = history.findIndex((h) => h.height === paid.decidedAt);
      const issued = (node.chain.params.blockReward * BigInt(10_000 - node.chain.params.stakingShareBps)) / 10_000n;
      expect(history[at]!.worker - history[at - 1]!.worker).toBe(REWARD + BOND + history[at - 1]!.pool + issued);
      expect(history[at]!.pool).toBe(0n);
      // The blobs are served: the manifest under its Merkle root.
      const manifest = await client.getBlob(paid.commitment.checkpointsRoot);
      expect(manifest.length).toBe(32 * paid.commitment.count);
    } finally {
      await thread.close();
    }
  }, 90_000);

  it("a proof that claims a lower loss than its model has is attested invalid; the bond is slashed 50/40/10", async () => {
    const s = spec({ seed: new Uint8Array(32).fill(7), targetMetric: 1, targetThreshold: f32ToBits(5) });
    const jobId = await createJob(s);
    const out = prove(s, fromHex(jobId), data);
    for (const b of out.blobs) await client.putBlob(b);
    await client.putBlob(out.manifest, toHex(out.commitment.checkpointsRoot));
    expect(out.loss).toBeGreaterThan(0);
    const commitment = { ...out.commitment, claimedMetric: f32ToBits(out.loss / 2), bond: BOND };
    const before = BigInt((await client.getAccount(requester.bech32)).balance);
    const r = await signAndWait(client, cheater, { selector: TxSelector.SubmitProof, value: { jobId: fromHex(jobId), commitment } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    const proofId = (await client.getJob(jobId)).proof!;
    const p = await until(() => client.getWorkProof(proofId), (x) => x.status !== "pending", 30_000, "the validator's verdict");
    expect(p.status).toBe("rejected");
    expect(p.dissenters).toEqual([net.validator.bech32]);
    expect(node.workVerifier!.results.get(proofId.slice(2))?.reason).toMatch(/claimed loss .* the final model has loss/);
    expect((await client.getJob(jobId)).status).toBe("open");
    expect(BigInt((await client.getAccount(requester.bech32)).balance) - before).toBe((BOND * 40n) / 100n);
  }, 60_000);

  it("a proof whose blobs are withheld gets no attestation and is rejected at its deadline", async () => {
    const s = spec({ seed: new Uint8Array(32).fill(8) });
    const jobId = await createJob(s);
    const out = prove(s, fromHex(jobId), data);
    const r = await signAndWait(client, cheater, { selector: TxSelector.SubmitProof, value: { jobId: fromHex(jobId), commitment: { ...out.commitment, bond: BOND } } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    const proofId = (await client.getJob(jobId)).proof!;
    const p = await until(() => client.getWorkProof(proofId), (x) => x.status !== "pending", 30_000, "the attestation deadline");
    expect(p.status).toBe("rejected");
    expect(p.attesters).toEqual([]);
    expect(p.dissenters).toEqual([]);
    expect(p.decidedAt).toBe(p.attestationDeadline);
    expect(node.chain.world.proofs.find((x) => toHex(x.id) === proofId)!.status).toBe(ProofStatus.Rejected);
  }, 60_000);

  it("the metrics counted what the blocks did: one proof accepted then paid, two rejected, each decision's latency, jobs by status", async () => {
    const text = await node.metrics!.registry.metrics();
    const value = (series: string) => Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.split(" ")[1]);
    expect(["accepted", "rejected", "paid", "fraudulent"].map((r) => value(`pouw_proofs_total{result="${r}"}`))).toEqual([1, 2, 1, 0]);
    expect(value("pouw_attestation_latency_blocks_count")).toBe(3);
    // The withheld proof was decided at its deadline: attestationDeadline blocks after submission.
    expect(value(`pouw_attestation_latency_blocks_bucket{le="+Inf"}`)).toBe(3);
    expect(value("pouw_attestation_latency_blocks_sum")).toBeGreaterThanOrEqual(node.chain.params.attestationDeadline);
    expect(["open", "proving", "completed"].map((s) => value(`pouw_jobs{status="${s}"}`))).toEqual([2, 0, 1]);
  });
});
