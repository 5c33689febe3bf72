/** A small training job on a synthetic dataset (8 features, 3 classes): 40 steps in segments of 10. */
import { f32ToBits } from "../../node/pouw/training.ts";
import type { JobSpecT } from "../../node/types/transaction.ts";

export function smallJobSpec(datasetId: Uint8Array, over: Partial<JobSpecT> = {}): JobSpecT {
  return {
    datasetId,
    layers: [8, 16, 3],
    learningRateBits: f32ToBits(0.1),
    momentumBits: f32ToBits(0.9),
    batchSize: 8,
    steps: 40,
    segmentLength: 10,
    seed: new Uint8Array(32).fill(9),
    targetMetric: 0,
    targetThreshold: 8000,
    deadline: 30,
    ...over,
  };
}
