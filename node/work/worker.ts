/**
 * A useful-work worker (DESIGN §8, steps 1–2): picks the oldest open job it
 * can train (a dataset it holds, a deadline it can meet, a reward worth it),
 * trains it in the work thread with progress and loss, publishes the
 * checkpoints and the manifest as blobs, and submits the proof with the
 * job's bond. Talks to a node only over RPC, so it runs inside `pouw start`
 * (the built-in worker) or on its own (`pouw worker`).
 */
import type { JobInfo, PouwClient } from "../client/client.ts";
import { signAndWait } from "../client/send.ts";
import type { AccountKey } from "../crypto/keys.ts";
import { loadDataset } from "../pouw/registry.ts";
import { f32ToBits, targetFields } from "../pouw/training.ts";
import { meetsTarget } from "../chain/jobs.ts";
import type { WorkThread } from "../pouw/work-pool.ts";
import { TxSelector, type JobSpecT, type TransactionT } from "../types/transaction.ts";
import type { DatasetInfo } from "../types/genesis.ts";
import { fromHex, toHex } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";

export interface JobWorkerOptions {
  client: PouwClient;
  key: AccountKey;
  thread: WorkThread;
  logger: Logger;
  /** Smallest reward worth training for, units. */
  minReward?: bigint;
  /** Seconds between looks for open jobs. */
  pollMs?: number;
  /** Called with step 0 when training starts, then every few steps with the mean loss since the last call. */
  onProgress?: (job: JobInfo, step: number, loss: number) => void;
  /** pouw_worker_training_steps_per_second: the speed over the last progress interval while training, 0 otherwise. */
  metrics?: Metrics | null;
}

export type WorkOutcome =
  | { kind: "idle" }
  | { kind: "submitted"; jobId: string; proofId: string | null; accuracyBps: number; loss: number; txHash: string }
  | { kind: "skipped"; jobId: string; reason: string };

/** The chain's job spec back from its RPC form (floats there are float32 values, so their bits round-trip). */
export function specFromJson(j: JobInfo): JobSpecT {
  const s = j.spec;
  return {
    datasetId: fromHex(s.datasetId),
    layers: s.layers,
    learningRateBits: f32ToBits(s.learningRate),
    momentumBits: f32ToBits(s.momentum),
    batchSize: s.batchSize,
    steps: s.steps,
    segmentLength: s.segmentLength,
    seed: fromHex(s.seed),
    ...targetFields(s.target),
    deadline: s.deadline,
  };
}

export class JobWorker {
  private readonly o: JobWorkerOptions;
  /** Jobs already handled (submitted or found untrainable), by id. */
  private readonly tried = new Set<string>();
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;

  constructor(o: JobWorkerOptions) {
    this.o = o;
  }

  /** Looks for work every `pollMs` until `stop()`. */
  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        const r = await this.runOnce();
        if (r.kind === "skipped") this.o.logger.info({ job: r.jobId, reason: r.reason }, "Skipped a job");
      } catch (e) {
        this.o.logger.warn({ err: e }, "Worker round failed");
      }
      if (!this.stopped) this.timer = setTimeout(() => (this.loop = tick()), this.o.pollMs ?? 2000);
    };
    this.loop = tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.loop?.catch(() => undefined);
  }

  /** One round: train and submit the best open job, if any. */
  async runOnce(): Promise<WorkOutcome> {
    const { client, logger } = this.o;
    const info = await client.chainInfo();
    const open = (await client.listJobs({ status: "open", limit: 100 })).jobs.reverse(); // oldest first
    const datasets = new Map(info.datasets.map((d) => [d.id, d]));
    for (const job of open) {
      if (this.tried.has(job.id)) continue;
      const ds = datasets.get(job.spec.datasetId);
      const reason = this.unworkable(job, ds, info.height);
      if (reason) {
        this.tried.add(job.id);
        return { kind: "skipped", jobId: job.id, reason };
      }
      this.tried.add(job.id);
      return this.work(job, { ...ds!, id: fromHex(ds!.id) });
    }
    logger.debug({ open: open.length }, "No job to train");
    return { kind: "idle" };
  }

  private unworkable(job: JobInfo, ds: { name: string; id: string; features: number; classes: number; train: number; validation: number } | undefined, height: number): string | null {
    if (!ds) return "dataset not registered";
    if (!loadDataset({ ...ds, id: fromHex(ds.id) })) return `this worker does not hold dataset ${ds.name}`;
    if (BigInt(job.reward) < (this.o.minReward ?? 0n)) return `reward ${job.reward} below the minimum`;
    if (job.spec.deadline <= height + 2) return "too close to its deadline";
    return null;
  }

  private async work(job: JobInfo, dataset: DatasetInfo): Promise<WorkOutcome> {
    const { client, key, logger, thread } = this.o;
    const spec = specFromJson(job);
    logger.info({ job: job.id, model: spec.layers.join("-"), steps: spec.steps, dataset: dataset.name, reward: job.reward }, "Training a job");
    const t0 = performance.now();
    this.o.onProgress?.(job, 0, NaN);
    const speed = this.o.metrics?.workerStepsPerSecond;
    let last = { at: t0, step: 0 };
    const progress = (step: number, loss: number) => {
      const now = performance.now();
      if (step > last.step && now > last.at) speed?.set(((step - last.step) * 1000) / (now - last.at));
      last = { at: now, step };
      this.o.onProgress?.(job, step, loss);
    };
    let out;
    try {
      out = await thread.prove(spec, fromHex(job.id), dataset, progress, Math.max(1, Math.floor(spec.steps / 20)));
    } finally {
      speed?.set(0);
    }
    const secs = (performance.now() - t0) / 1000;
    if (!out.finite) return { kind: "skipped", jobId: job.id, reason: "training did not stay finite (the job fails on every node)" };
    const meets = meetsTarget({ spec }, out.commitment.claimedMetric); // the rule SubmitProof applies
    logger.info({ job: job.id, accuracy: out.accuracyBps / 100, loss: out.loss, seconds: Math.round(secs * 10) / 10, stepsPerSecond: Math.round(spec.steps / secs) }, "Trained");
    if (!meets) return { kind: "skipped", jobId: job.id, reason: `reached accuracy ${out.accuracyBps / 100} % / loss ${out.loss}, short of the target` };
    for (const blob of out.blobs) await client.putBlob(blob);
    await client.putBlob(out.manifest, toHex(out.commitment.checkpointsRoot));
    const commitment = { ...out.commitment, bond: BigInt(job.workerBond) };
    const body = { selector: TxSelector.SubmitProof, value: { jobId: fromHex(job.id), commitment } } as TransactionT["body"];
    const final = await signAndWait(client, key, body);
    if (final.status !== "finalized") return { kind: "skipped", jobId: job.id, reason: `SubmitProof ${final.status === "rejected" ? final.error.code : final.status}` };
    if (final.receipt.status !== "success") return { kind: "skipped", jobId: job.id, reason: `SubmitProof failed: ${final.receipt.error}` };
    const proofId = (await client.getJob(job.id)).proof;
    logger.info({ job: job.id, proof: proofId, tx: final.hash, blobs: out.blobs.length + 1 }, "Submitted a proof");
    return { kind: "submitted", jobId: job.id, proofId, accuracyBps: out.accuracyBps, loss: out.loss, txHash: final.hash };
  }
}
