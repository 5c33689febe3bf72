/**
 * The golden training jobs of test/vectors/pouw-golden.json: their inputs,
 * and the function that trains one and reports every checkpoint hash, the
 * final weights hash and the validation metrics. Used by the vector
 * generator (scripts/pouw-vectors.ts) and by the tests, in the main thread,
 * a worker thread and a child process.
 */
import { mnist10k, syntheticDataset, type Dataset } from "../../node/pouw/datasets.ts";
import { checkpointHash, f32ToBits, initialState, Trainer, trainWithCheckpoints, weightsHash } from "../../node/pouw/training.ts";
import type { TrainingKernel } from "../../node/pouw/kernel/mlp.ts";
import type { JobSpecT, TrainingSettingsJson } from "../../node/types/transaction.ts";
import { fromHex, toHex } from "../../node/util/hex.ts";

export interface GoldenInput extends TrainingSettingsJson {
  name: string;
  dataset: { kind: "synthetic"; seed: string; features: number; classes: number; train: number; validation: number } | { kind: "mnist-10k" };
  seed: string;
  jobId: string;
}

export interface GoldenResult {
  datasetId: string;
  checkpoints: string[];
  finalWeightsHash: string;
  accuracyBps: number;
  lossBits: number;
}

export const GOLDEN_INPUTS: GoldenInput[] = [
  {
    name: "synthetic-16-32-4",
    dataset: { kind: "synthetic", seed: "golden", features: 16, classes: 4, train: 512, validation: 128 },
    layers: [16, 32, 4],
    learningRate: 0.1,
    momentum: 0.9,
    batchSize: 32,
    steps: 60,
    segmentLength: 20,
    seed: "0x" + "11".repeat(32),
    jobId: "0x" + "22".repeat(32),
  },
  {
    name: "mnist-784-128-10",
    dataset: { kind: "mnist-10k" },
    layers: [784, 128, 10],
    learningRate: 0.1,
    momentum: 0.9,
    batchSize: 64,
    steps: 24,
    segmentLength: 8,
    seed: "0x" + "33".repeat(32),
    jobId: "0x" + "44".repeat(32),
  },
];

export function goldenDataset(input: GoldenInput): Dataset {
  const d = input.dataset;
  return d.kind === "mnist-10k" ? mnist10k() : syntheticDataset(d);
}

export function goldenSpec(input: GoldenInput, dataset: Dataset): JobSpecT {
  return {
    datasetId: dataset.id,
    layers: input.layers,
    learningRateBits: f32ToBits(input.learningRate),
    momentumBits: f32ToBits(input.momentum),
    batchSize: input.batchSize,
    steps: input.steps,
    segmentLength: input.segmentLength,
    seed: fromHex(input.seed),
    targetMetric: 0,
    targetThreshold: 0,
    deadline: 0,
  };
}

/** Trains a golden job with the reference kernel, or with `kernel` when given. */
export function runGolden(input: GoldenInput, kernel?: (layers: readonly number[], batchSize: number) => TrainingKernel): GoldenResult {
  const dataset = goldenDataset(input);
  const spec = goldenSpec(input, dataset);
  const jobId = fromHex(input.jobId);
  const trainer = new Trainer(spec, jobId, dataset, kernel?.(spec.layers, spec.batchSize));
  const state = initialState(spec, jobId);
  const checkpoints: string[] = [];
  const r = trainWithCheckpoints(trainer, state, (_, blob) => checkpoints.push(toHex(checkpointHash(blob))));
  if (!r.finite) throw new Error(`golden job ${input.name} did not stay finite`);
  const ev = trainer.evaluate(state.params);
  return { datasetId: toHex(dataset.id), checkpoints, finalWeightsHash: toHex(weightsHash(state.params)), accuracyBps: ev.accuracyBps, lossBits: f32ToBits(ev.loss) };
}
