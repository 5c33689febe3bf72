/**
 * The kernel nodes train and verify with: the WebAssembly SIMD kernel (bit
 * for bit the reference's results, about 20× faster), or the reference
 * kernel where WebAssembly SIMD is unavailable.
 */
import { MlpKernel, type TrainingKernel } from "./mlp.ts";
import { SimdMlpKernel } from "./simd.ts";

let simdBroken = false;

export function fastKernel(layers: readonly number[], batchSize: number): TrainingKernel {
  if (!simdBroken) {
    try {
      return new SimdMlpKernel(layers, batchSize);
    } catch {
      simdBroken = true;
    }
  }
  return new MlpKernel(layers, batchSize);
}
