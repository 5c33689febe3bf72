/**
 * A training curve: the validation loss and accuracy of a proof's
 * checkpoints, for the explorer (pouw_getJobCurve). Each point is one pass
 * over the dataset's validation split, so the node runs this in a work
 * thread (work-thread.ts), never on the event loop that runs consensus.
 */
import type { JobSpecT } from "../types/transaction.ts";
import type { Dataset } from "./datasets.ts";
import { parameterCount } from "./kernel/mlp.ts";
import { decodeCheckpoint, Trainer } from "./training.ts";

export interface CurvePoint {
  /** The checkpoint's index in the proof's manifest. */
  index: number;
  step: number;
  loss: number;
  accuracyBps: number;
}

/** One point per checkpoint blob that decodes as this job's model and evaluates finite, in the order given. */
export function evaluateCheckpoints(spec: JobSpecT, jobId: Uint8Array, dataset: Dataset, checkpoints: readonly { index: number; blob: Uint8Array }[]): CurvePoint[] {
  let trainer: Trainer;
  try {
    trainer = new Trainer(spec, jobId, dataset);
  } catch {
    return [];
  }
  const n = parameterCount(spec.layers);
  const points: CurvePoint[] = [];
  for (const { index, blob } of checkpoints) {
    try {
      const state = decodeCheckpoint(blob, n);
      const ev = trainer.evaluate(state.params);
      if (ev.finite) points.push({ index, step: state.step, loss: ev.loss, accuracyBps: ev.accuracyBps });
    } catch {
      // not a checkpoint of this model: no point
    }
  }
  return points;
}
