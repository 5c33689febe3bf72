/**
 * A worker thread that trains and verifies (CPU-bound work kept off the
 * node's main thread, which runs consensus). Messages in: `prove`, `verify`
 * and `evaluate` (a training curve's points) requests; out: `progress`
 * while proving, then `done` or `error`.
 */
import { parentPort } from "node:worker_threads";
import type { DatasetInfo } from "../types/genesis.ts";
import type { JobSpecT } from "../types/transaction.ts";
import { toHex } from "../util/hex.ts";
import { evaluateCheckpoints } from "./curve.ts";
import { prove, verifyProof, type Commitment } from "./proof.ts";
import { loadDataset } from "./registry.ts";

export type WorkRequest =
  | { id: number; kind: "prove"; spec: JobSpecT; jobId: Uint8Array; dataset: DatasetInfo; progressEvery: number }
  | {
      id: number;
      kind: "verify";
      spec: JobSpecT;
      jobId: Uint8Array;
      proofId: Uint8Array;
      commitment: Commitment;
      dataset: DatasetInfo;
      randomness: Uint8Array;
      sampled: number;
      /** Blobs by id hex (the verifier fetched the ones it needs). */
      blobs: Map<string, Uint8Array>;
    }
  | { id: number; kind: "evaluate"; spec: JobSpecT; jobId: Uint8Array; dataset: DatasetInfo; checkpoints: { index: number; blob: Uint8Array }[] };

export type WorkMessage =
  | { id: number; kind: "progress"; step: number; loss: number }
  | { id: number; kind: "done"; result: unknown }
  | { id: number; kind: "error"; message: string };

function datasetOf(info: DatasetInfo) {
  const d = loadDataset(info);
  if (!d) throw new Error(`this node does not hold dataset ${info.name} (${toHex(info.id)})`);
  return d;
}

parentPort!.on("message", async (req: WorkRequest) => {
  try {
    if (req.kind === "prove") {
      // Progress carries the mean minibatch loss since the last report (one batch's loss is noisy).
      let sum = 0;
      let n = 0;
      const out = prove(req.spec, req.jobId, datasetOf(req.dataset), {
        onStep: (step, loss) => {
          sum += loss;
          n++;
          if (step % req.progressEvery === 0 || step === req.spec.steps) {
            parentPort!.postMessage({ id: req.id, kind: "progress", step, loss: sum / n } satisfies WorkMessage);
            sum = 0;
            n = 0;
          }
        },
      });
      parentPort!.postMessage({ id: req.id, kind: "done", result: out } satisfies WorkMessage);
    } else if (req.kind === "evaluate") {
      const result = evaluateCheckpoints(req.spec, req.jobId, datasetOf(req.dataset), req.checkpoints);
      parentPort!.postMessage({ id: req.id, kind: "done", result } satisfies WorkMessage);
    } else {
      const result = await verifyProof({
        spec: req.spec,
        jobId: req.jobId,
        proofId: req.proofId,
        commitment: req.commitment,
        dataset: datasetOf(req.dataset),
        randomness: req.randomness,
        sampled: req.sampled,
        getBlob: async (id) => req.blobs.get(toHex(id)),
      });
      parentPort!.postMessage({ id: req.id, kind: "done", result } satisfies WorkMessage);
    }
  } catch (e) {
    parentPort!.postMessage({ id: req.id, kind: "error", message: (e as Error).message } satisfies WorkMessage);
  }
});
