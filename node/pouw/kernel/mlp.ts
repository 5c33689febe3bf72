/**
 * The reference training kernel (DESIGN §8): a multilayer perceptron with
 * ReLU hidden layers, softmax cross-entropy and SGD with momentum, in plain
 * TypeScript over Float32Array with every operation rounded to float32.
 * It defines the bits: a faster kernel must produce the same weights
 * exactly, so the order of every sum below is part of the protocol.
 *
 * Layout: parameters are one Float32Array, layer by layer, each layer its
 * weights W[i][j] (input i, output j; row-major, din × dout) then its biases.
 * The optimizer's velocity has the same layout.
 *
 * Per layer, per sample b and output j:
 *   forward   z[b][j] = bias[j] + Σ_{i ascending} in[b][i]·W[i][j]   (hidden: ReLU, max(z, 0))
 *   output    δ[b][c] = (softmax(z[b])[c] − [c = label]) · (1/B)
 *             softmax: m = max_c z, e_c = exp(z_c − m), s = Σ_{c ascending} e_c, p_c = e_c / s
 *   weights   dW[i][j] = Σ_{b ascending} in[b][i]·δ[b][j]   (from +0)
 *   biases    db[j]    = Σ_{b ascending} δ[b][j]             (from +0)
 *   backprop  δ'[b][i] = in[b][i] > 0 ? Σ_{j ascending} δ[b][j]·W[i][j] : 0   (W before the update)
 *   update    v = μ·v + g;  w = w − η·v
 * Every product and every sum is a separate float32 operation (no fused multiply-add).
 */
import { expf, f, logf } from "./f32.ts";

export interface LayerSlice {
  din: number;
  dout: number;
  /** Offset of W in the parameter array. */
  w: number;
  /** Offset of the biases. */
  b: number;
}

export function layerSlices(layers: readonly number[]): LayerSlice[] {
  const out: LayerSlice[] = [];
  let at = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const din = layers[l]!;
    const dout = layers[l + 1]!;
    out.push({ din, dout, w: at, b: at + din * dout });
    at += din * dout + dout;
  }
  return out;
}

export function parameterCount(layers: readonly number[]): number {
  return layerSlices(layers).reduce((n, s) => n + s.din * s.dout + s.dout, 0);
}

export interface StepResult {
  /** Mean cross-entropy of the batch before the update (float32). */
  loss: number;
  /** False when a parameter or the loss became NaN or infinite: the job fails. */
  finite: boolean;
}

export interface EvalResult {
  correct: number;
  /** Σ over samples, ascending, of each sample's cross-entropy (float32). */
  lossSum: number;
  finite: boolean;
}

/**
 * What a training kernel does. Every implementation must give the reference
 * kernel's results bit for bit (test/unit/pouw/ holds the checks).
 */
export interface TrainingKernel {
  readonly layers: readonly number[];
  readonly batchSize: number;
  /** One SGD-with-momentum step on a batch (x: batchSize × layers[0] floats, y: labels); updates params and velocity in place. */
  step(params: Float32Array, velocity: Float32Array, x: Float32Array, y: Uint8Array, learningRate: number, momentum: number): StepResult;
  /** Accuracy and summed loss over `count` samples. */
  evaluate(params: Float32Array, x: Float32Array, y: Uint8Array, count: number): EvalResult;
}

/** Refuses a model shape or batch size no kernel can run (every kernel's constructor checks it). */
export function checkKernelShape(layers: readonly number[], batchSize: number): void {
  if (layers.length < 2 || layers.some((d) => !Number.isInteger(d) || d < 1)) throw new RangeError(`bad layer sizes ${layers.join("-")}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`bad batch size ${batchSize}`);
}

/** The reference kernel for one model shape and batch size; scratch memory is allocated once. */
export class MlpKernel implements TrainingKernel {
  readonly layers: readonly number[];
  readonly batchSize: number;
  readonly slices: LayerSlice[];
  readonly parameterCount: number;
  /** act[0] is the input; act[l] the output of layer l (ReLU applied on hidden layers; logits last). */
  private readonly act: Float32Array[];
  private readonly delta: Float32Array[];
  private readonly grad: Float32Array;

  constructor(layers: readonly number[], batchSize: number) {
    checkKernelShape(layers, batchSize);
    this.layers = [...layers];
    this.batchSize = batchSize;
    this.slices = layerSlices(layers);
    this.parameterCount = parameterCount(layers);
    this.act = layers.map((d) => new Float32Array(batchSize * d));
    this.delta = layers.map((d) => new Float32Array(batchSize * d));
    this.grad = new Float32Array(this.parameterCount);
  }

  /** Forward pass of `n` samples (n ≤ batchSize) already in act[0]; leaves logits in the last activation. */
  private forward(params: Float32Array, n: number): void {
    const L = this.slices.length;
    for (let l = 0; l < L; l++) {
      const { din, dout, w, b } = this.slices[l]!;
      const input = this.act[l]!;
      const out = this.act[l + 1]!;
      for (let s = 0; s < n; s++) {
        const o = s * dout;
        for (let j = 0; j < dout; j++) out[o + j] = params[b + j]!;
        const xi0 = s * din;
        for (let i = 0; i < din; i++) {
          const xi = input[xi0 + i]!;
          const wi = w + i * dout;
          for (let j = 0; j < dout; j++) out[o + j] = f(out[o + j]! + f(xi * params[wi + j]!));
        }
        if (l + 1 < L) for (let j = 0; j < dout; j++) if (!(out[o + j]! > 0)) out[o + j] = 0;
      }
    }
  }

  /**
   * Softmax of sample s's logits into `p` (length classes) and its cross-entropy
   * log(s) − (z_label − m).
   */
  private softmax(s: number, label: number, p: Float32Array | null): number {
    const logits = this.act[this.act.length - 1]!;
    const C = this.layers[this.layers.length - 1]!;
    const o = s * C;
    let m = logits[o]!;
    for (let c = 1; c < C; c++) if (logits[o + c]! > m) m = logits[o + c]!;
    let sum = 0;
    for (let c = 0; c < C; c++) {
      const e = expf(f(logits[o + c]! - m));
      if (p) p[c] = e;
      sum = f(sum + e);
    }
    if (p) for (let c = 0; c < C; c++) p[c] = f(p[c]! / sum);
    return f(logf(sum) - f(logits[o + label]! - m));
  }

  /** One SGD-with-momentum step on a batch: x is batchSize × layers[0] floats, y the labels. */
  step(params: Float32Array, velocity: Float32Array, x: Float32Array, y: Uint8Array, learningRate: number, momentum: number): StepResult {
    const B = this.batchSize;
    const L = this.slices.length;
    const C = this.layers[L]!;
    this.act[0]!.set(x.subarray(0, B * this.layers[0]!));
    this.forward(params, B);

    // Output deltas and the loss.
    const invB = f(1 / B);
    const p = new Float32Array(C);
    const dOut = this.delta[L]!;
    let lossSum = 0;
    for (let s = 0; s < B; s++) {
      lossSum = f(lossSum + this.softmax(s, y[s]!, p));
      for (let c = 0; c < C; c++) dOut[s * C + c] = f(f(p[c]! - (c === y[s] ? 1 : 0)) * invB);
    }

    // Backward, last layer first; gradients into `grad` (same layout as params).
    const g = this.grad;
    for (let l = L - 1; l >= 0; l--) {
      const { din, dout, w, b } = this.slices[l]!;
      const input = this.act[l]!;
      const d = this.delta[l + 1]!;
      g.fill(0, w, b + dout);
      for (let s = 0; s < B; s++) {
        const xs = s * din;
        const ds = s * dout;
        for (let i = 0; i < din; i++) {
          const xi = input[xs + i]!;
          const gi = w + i * dout;
          for (let j = 0; j < dout; j++) g[gi + j] = f(g[gi + j]! + f(xi * d[ds + j]!));
        }
        for (let j = 0; j < dout; j++) g[b + j] = f(g[b + j]! + d[ds + j]!);
      }
      if (l > 0) {
        const prev = this.delta[l]!;
        for (let s = 0; s < B; s++) {
          const xs = s * din;
          const ds = s * dout;
          for (let i = 0; i < din; i++) {
            if (!(input[xs + i]! > 0)) {
              prev[xs + i] = 0;
              continue;
            }
            const wi = w + i * dout;
            let acc = 0;
            for (let j = 0; j < dout; j++) acc = f(acc + f(d[ds + j]! * params[wi + j]!));
            prev[xs + i] = acc;
          }
        }
      }
    }

    // Momentum SGD.
    let finite = Number.isFinite(lossSum);
    const lr = f(learningRate);
    const mu = f(momentum);
    for (let k = 0; k < params.length; k++) {
      const v = f(f(mu * velocity[k]!) + g[k]!);
      velocity[k] = v;
      const nw = f(params[k]! - f(lr * v));
      params[k] = nw;
      if (!(nw - nw === 0)) finite = false; // NaN or ±Infinity
    }
    return { loss: f(lossSum * invB), finite };
  }

  /** Accuracy and summed loss over `count` samples of x/y, evaluated batchSize at a time (samples are independent). */
  evaluate(params: Float32Array, x: Float32Array, y: Uint8Array, count: number): EvalResult {
    const B = this.batchSize;
    const d0 = this.layers[0]!;
    const L = this.slices.length;
    const C = this.layers[L]!;
    let correct = 0;
    let lossSum = 0;
    for (let start = 0; start < count; start += B) {
      const n = Math.min(B, count - start);
      this.act[0]!.set(x.subarray(start * d0, (start + n) * d0));
      this.forward(params, n);
      const logits = this.act[L]!;
      for (let s = 0; s < n; s++) {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[s * C + c]! > logits[s * C + best]!) best = c;
        if (best === y[start + s]) correct++;
        lossSum = f(lossSum + this.softmax(s, y[start + s]!, null));
      }
    }
    return { correct, lossSum, finite: Number.isFinite(lossSum) };
  }
}
