/**
 * Runs proving, verification and curve evaluation in a worker thread, one request at a time
 * (a training job already fills a core). Progress is reported while proving.
 * The thread keeps the process alive only while a request is in progress.
 */
import { Worker } from "node:worker_threads";
import type { DatasetInfo } from "../types/genesis.ts";
import type { JobSpecT } from "../types/transaction.ts";
import type { CurvePoint } from "./curve.ts";
import type { Commitment, ProverOutput, VerifyResult } from "./proof.ts";
import type { WorkMessage, WorkRequest } from "./work-thread.ts";

const THREAD_URL = new URL("./work-thread.ts", import.meta.url);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (step: number, loss: number) => void };

export class WorkThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  private spawn(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(THREAD_URL);
    w.on("message", (m: WorkMessage) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.kind === "progress") return p.onProgress?.(m.step, m.loss);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.kind === "done") p.resolve(m.result);
      else p.reject(new Error(m.message));
    });
    w.on("exit", () => {
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error("the work thread exited"));
      this.pending.clear();
    });
    // Idle, the thread does not keep the process alive; while it works for a caller, it does (run()).
    w.unref();
    return (this.worker = w);
  }

  private run<T>(req: DistributiveOmit<WorkRequest, "id">, onProgress?: (step: number, loss: number) => void): Promise<T> {
    const job = this.queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const id = this.nextId++;
          this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
          const w = this.spawn();
          w.ref(); // a `pouw worker` waiting on a proof has nothing else keeping it alive
          w.postMessage({ ...req, id } as WorkRequest);
        }),
    );
    this.queue = job.catch(() => undefined);
    return job;
  }

  prove(spec: JobSpecT, jobId: Uint8Array, dataset: DatasetInfo, onProgress?: (step: number, loss: number) => void, progressEvery = 10): Promise<ProverOutput> {
    return this.run({ kind: "prove", spec, jobId, dataset, progressEvery }, onProgress);
  }

  verify(req: { spec: JobSpecT; jobId: Uint8Array; proofId: Uint8Array; commitment: Commitment; dataset: DatasetInfo; randomness: Uint8Array; sampled: number; blobs: Map<string, Uint8Array> }): Promise<VerifyResult> {
    return this.run({ kind: "verify", ...req });
  }

  /** A training curve's points for these checkpoint blobs (curve.ts), computed in the thread. */
  evaluate(req: { spec: JobSpecT; jobId: Uint8Array; dataset: DatasetInfo; checkpoints: { index: number; blob: Uint8Array }[] }): Promise<CurvePoint[]> {
    return this.run({ kind: "evaluate", ...req });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}
