/**
 * The golden jobs of test/vectors/pouw-golden.json trained with the SIMD
 * kernel (node/pouw/kernel/simd.ts) instead of the reference kernel. Run as a
 * worker thread with `workerData: { pouwGoldenSimd: true }` it posts every
 * job's result to its parent.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { SimdMlpKernel } from "../../node/pouw/kernel/simd.ts";
import { GOLDEN_INPUTS, runGolden, type GoldenInput, type GoldenResult } from "./pouw-golden.ts";

export function runGoldenSimd(input: GoldenInput): GoldenResult {
  return runGolden(input, (layers, batchSize) => new SimdMlpKernel(layers, batchSize));
}

if (!isMainThread && (workerData as { pouwGoldenSimd?: boolean } | null)?.pouwGoldenSimd) {
  parentPort!.postMessage(Object.fromEntries(GOLDEN_INPUTS.map((g) => [g.name, runGoldenSimd(g)])));
}
