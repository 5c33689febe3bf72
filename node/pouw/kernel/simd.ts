/**
 * The WebAssembly SIMD training kernel: the same results as the reference
 * kernel (./mlp.ts), bit for bit, about 20× faster. The arithmetic lives in
 * ./assembly/mlp.ts, compiled to ./mlp-simd.wasm (committed; rebuilt and
 * compared by CI with `npm run build:kernel`); this file owns the memory
 * layout and runs the layers in the reference's order.
 *
 * Each kernel has its own wasm instance and memory: parameters and velocity
 * are copied in before a step and out after it, since the caller's arrays
 * are updated in place.
 */
import { readFileSync } from "node:fs";
import { f } from "./f32.ts";
import { checkKernelShape, layerSlices, parameterCount, type EvalResult, type LayerSlice, type StepResult, type TrainingKernel } from "./mlp.ts";

// The project's lib (ES2023, no DOM) has no WebAssembly types: the few used here.
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface SimdKernelExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  MODE_STORE: { value: number };
  MODE_RELU: { value: number };
  MODE_MASK: { value: number };
  MODE_UPDATE: { value: number };
  expf(x: number): number;
  logf(x: number): number;
  beginUpdate(lr: number, mu: number): void;
  updatesFinite(): number;
  gemm(mode: number, R: number, N: number, K: number, a: number, ars: number, aks: number, b: number, bks: number, bias: number, out: number, ldc: number, aux: number): void;
  biasUpdate(d: number, B: number, N: number, params: number, velocity: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  outputDeltas(logits: number, labels: number, B: number, C: number, invB: number, delta: number, p: number): number;
  evaluateChunk(logits: number, labels: number, n: number, C: number, lossSum: number): number;
  takeCorrect(): number;
  heapBase(): number;
}

let compiled: WasmModule | undefined;

/** The compiled kernel module, compiled once per thread. */
export function simdKernelModule(): WasmModule {
  compiled ??= new WA.Module(readFileSync(new URL("./mlp-simd.wasm", import.meta.url)));
  return compiled;
}

/** A fresh instance of the kernel module (no imports). */
export function instantiateSimdKernel(): SimdKernelExports {
  return new WA.Instance(simdKernelModule(), {}).exports as unknown as SimdKernelExports;
}

const PAGE = 65536;
const align16 = (n: number) => (n + 15) & ~15;

export class SimdMlpKernel implements TrainingKernel {
  readonly layers: readonly number[];
  readonly batchSize: number;
  readonly slices: LayerSlice[];
  readonly parameterCount: number;
  private readonly wasm: SimdKernelExports;
  private readonly modes: { store: number; relu: number; mask: number; update: number };
  /** Byte offsets in wasm memory. */
  private readonly ptr: { params: number; velocity: number; wt: number; act: number[]; delta: number[]; p: number; labels: number };
  private readonly paramsView: Float32Array;
  private readonly velocityView: Float32Array;
  private readonly inputView: Float32Array;
  private readonly labelView: Uint8Array;

  constructor(layers: readonly number[], batchSize: number) {
    checkKernelShape(layers, batchSize);
    this.layers = [...layers];
    this.batchSize = batchSize;
    this.slices = layerSlices(layers);
    this.parameterCount = parameterCount(layers);
    const w = (this.wasm = instantiateSimdKernel());
    this.modes = { store: w.MODE_STORE.value, relu: w.MODE_RELU.value, mask: w.MODE_MASK.value, update: w.MODE_UPDATE.value };

    // Layout: params, velocity, Wᵀ scratch (for backprop), activations, deltas, softmax scratch, labels.
    let at = align16(Math.max(w.heapBase(), 1024));
    const take = (bytes: number) => {
      const p = at;
      at = align16(at + bytes);
      return p;
    };
    const P = this.parameterCount;
    const B = batchSize;
    const params = take(4 * P);
    const velocity = take(4 * P);
    const wt = take(4 * Math.max(0, ...this.slices.slice(1).map((s) => s.din * s.dout)));
    const act = layers.map((d) => take(4 * B * d));
    const delta = layers.map((d, l) => (l === 0 ? 0 : take(4 * B * d)));
    const p = take(4 * layers[layers.length - 1]!);
    const labels = take(B);
    this.ptr = { params, velocity, wt, act, delta, p, labels };

    // Grow first: growing detaches every view of the old buffer.
    const need = Math.ceil(at / PAGE);
    const have = w.memory.buffer.byteLength / PAGE;
    if (need > have) w.memory.grow(need - have);
    const buf = w.memory.buffer;
    this.paramsView = new Float32Array(buf, params, P);
    this.velocityView = new Float32Array(buf, velocity, P);
    this.inputView = new Float32Array(buf, act[0]!, B * layers[0]!);
    this.labelView = new Uint8Array(buf, labels, B);
  }

  /** Forward pass of n samples in act[0], with the parameters already in wasm memory. */
  private forward(n: number): void {
    const L = this.slices.length;
    const { act } = this.ptr;
    for (let l = 0; l < L; l++) {
      const { din, dout, w, b } = this.slices[l]!;
      this.wasm.gemm(l + 1 < L ? this.modes.relu : this.modes.store, n, dout, din, act[l]!, din, 1, this.ptr.params + 4 * w, dout, this.ptr.params + 4 * b, act[l + 1]!, dout, 0);
    }
  }

  step(params: Float32Array, velocity: Float32Array, x: Float32Array, y: Uint8Array, learningRate: number, momentum: number): StepResult {
    const B = this.batchSize;
    const L = this.slices.length;
    const C = this.layers[L]!;
    const P = this.parameterCount;
    if (params.length !== P || velocity.length !== P) throw new RangeError(`expected ${P} parameters and velocities`);
    const wasm = this.wasm;
    const { act, delta } = this.ptr;
    this.paramsView.set(params);
    this.velocityView.set(velocity);
    this.inputView.set(x.subarray(0, B * this.layers[0]!));
    this.labelView.set(y.subarray(0, B));
    this.forward(B);

    const invB = f(1 / B);
    const lossSum = wasm.outputDeltas(act[L]!, this.ptr.labels, B, C, invB, delta[L]!, this.ptr.p);

    // Backward, last layer first. Layer l's deltas go back through its weights before they are updated.
    wasm.beginUpdate(f(learningRate), f(momentum));
    for (let l = L - 1; l >= 0; l--) {
      const { din, dout, w, b } = this.slices[l]!;
      const pw = this.ptr.params + 4 * w;
      if (l > 0) {
        wasm.transpose(pw, din, dout, this.ptr.wt);
        wasm.gemm(this.modes.mask, B, din, dout, delta[l + 1]!, dout, 1, this.ptr.wt, din, 0, delta[l]!, din, act[l]!);
      }
      wasm.gemm(this.modes.update, din, dout, B, act[l]!, 1, din, delta[l + 1]!, dout, 0, pw, dout, this.ptr.velocity + 4 * w);
      wasm.biasUpdate(delta[l + 1]!, B, dout, this.ptr.params + 4 * b, this.ptr.velocity + 4 * b);
    }
    const finite = Number.isFinite(lossSum) && wasm.updatesFinite() === 1;
    params.set(this.paramsView);
    velocity.set(this.velocityView);
    return { loss: f(lossSum * invB), finite };
  }

  evaluate(params: Float32Array, x: Float32Array, y: Uint8Array, count: number): EvalResult {
    const B = this.batchSize;
    const d0 = this.layers[0]!;
    const L = this.slices.length;
    const C = this.layers[L]!;
    if (params.length !== this.parameterCount) throw new RangeError(`expected ${this.parameterCount} parameters`);
    this.paramsView.set(params);
    this.wasm.takeCorrect();
    let lossSum = 0;
    for (let start = 0; start < count; start += B) {
      const n = Math.min(B, count - start);
      this.inputView.set(x.subarray(start * d0, (start + n) * d0));
      this.labelView.set(y.subarray(start, start + n));
      this.forward(n);
      lossSum = this.wasm.evaluateChunk(this.ptr.act[L]!, this.ptr.labels, n, C, lossSum);
    }
    return { correct: this.wasm.takeCorrect(), lossSum, finite: Number.isFinite(lossSum) };
  }
}
