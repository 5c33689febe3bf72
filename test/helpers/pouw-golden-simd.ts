/**
 * The golden jobs of test/vectors/pouw-golden.json trained with the SIMD
 * kernel (node/pouw/kernel/simd.ts) instead of the reference kernel. Run as a
 * worker thread with `workerData: { pouwGoldenSimd: true }` it posts every
 * job's result to its parent.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { SimdMlpKernel } from "../../node/pouw/kernel/simd.ts";
import { checkpointHash, f32ToBits, initialState, Trainer, trainWithCheckpoints, weightsHash } from "../../node/pouw/training.ts";
import { fromHex, toHex } from "../../node/util/hex.ts";
import { GOLDEN_INPUTS, goldenDataset, goldenSpec, type GoldenInput, type GoldenResult } from "./pouw-golden.ts";

export function runGoldenSimd(input: GoldenInput): GoldenResult {
  const dataset = goldenDataset(input);
  const spec = goldenSpec(input, dataset);
  const jobId = fromHex(input.jobId);
  const trainer = new Trainer(spec, jobId, dataset, new SimdMlpKernel(spec.layers, spec.batchSize));
  if (!(trainer.kernel instanceof SimdMlpKernel)) throw new Error("the trainer does not use the SIMD kernel");
  const state = initialState(spec, jobId);
  const checkpoints: string[] = [];
  const r = trainWithCheckpoints(trainer, state, (_, blob) => checkpoints.push(toHex(checkpointHash(blob))));
  if (!r.finite) throw new Error(`golden job ${input.name} did not stay finite`);
  const ev = trainer.evaluate(state.params);
  return { datasetId: toHex(dataset.id), checkpoints, finalWeightsHash: toHex(weightsHash(state.params)), accuracyBps: ev.accuracyBps, lossBits: f32ToBits(ev.loss) };
}

if (!isMainThread && (workerData as { pouwGoldenSimd?: boolean } | null)?.pouwGoldenSimd) {
  parentPort!.postMessage(Object.fromEntries(GOLDEN_INPUTS.map((g) => [g.name, runGoldenSimd(g)])));
}
