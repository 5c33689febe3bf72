/**
 * A training job as every node computes it (DESIGN §8): the initial weights
 * and each step's minibatch are pure functions of (seed, jobId, step), the
 * kernel is bit-exact, so any node re-executing steps t..t+k from checkpoint
 * t gets the same checkpoint t+k. Checkpoints carry the optimizer's velocity
 * too, since a segment cannot be re-executed without it.
 */
import { endianness } from "node:os";
import { sha256 } from "../crypto/hash.ts";
import type { JobSpecT, JobTargetJson } from "../types/transaction.ts";
import { concatBytes, utf8 } from "../util/hex.ts";
import type { Dataset } from "./datasets.ts";
import { WorkError, WorkErrorCode } from "./errors.ts";
import { f } from "./kernel/f32.ts";
import { layerSlices, MlpKernel, parameterCount, type TrainingKernel } from "./kernel/mlp.ts";
import { HashStream, u32le } from "./random.ts";

/** Limits on a job's shape, so a job cannot ask validators for unbounded work or memory. */
export const JOB_LIMITS = {
  maxLayers: 8,
  maxWidth: 4096,
  // A checkpoint (parameters and momentum, 8 bytes each) must fit in a blob (MAX_BLOB_BYTES).
  maxParameters: 600_000,
  maxBatchSize: 1024,
  maxSteps: 1_000_000,
} as const;

const bitsBuf = new Uint32Array(1);
const floatBuf = new Float32Array(bitsBuf.buffer);

export function bitsToF32(bits: number): number {
  bitsBuf[0] = bits;
  return floatBuf[0]!;
}

export function f32ToBits(x: number): number {
  floatBuf[0] = x;
  return bitsBuf[0]!;
}

/** A spec's target fields from their written form (a loss threshold as float32 bits). */
export function targetFields(t: JobTargetJson): Pick<JobSpecT, "targetMetric" | "targetThreshold"> {
  return t.metric === "accuracy" ? { targetMetric: 0, targetThreshold: t.thresholdBps } : { targetMetric: 1, targetThreshold: f32ToBits(t.threshold) };
}

/** The written form of a spec's target. */
export function targetJson(spec: Pick<JobSpecT, "targetMetric" | "targetThreshold">): JobTargetJson {
  return spec.targetMetric === 0 ? { metric: "accuracy", thresholdBps: spec.targetThreshold } : { metric: "loss", threshold: bitsToF32(spec.targetThreshold) };
}

/** Checks a job spec's shape and numbers (and, given the dataset, that the model fits it); throws `BAD_JOB_SPEC`. */
export function validateJobSpec(spec: JobSpecT, dataset?: Pick<Dataset, "features" | "classes">): void {
  const bad = (msg: string): never => {
    throw new WorkError(WorkErrorCode.BAD_JOB_SPEC, msg);
  };
  const { layers } = spec;
  if (layers.length < 2 || layers.length > JOB_LIMITS.maxLayers) bad(`a model has 2 to ${JOB_LIMITS.maxLayers} layer sizes, got ${layers.length}`);
  if (layers.some((d) => d < 1 || d > JOB_LIMITS.maxWidth)) bad(`layer sizes are 1 to ${JOB_LIMITS.maxWidth}`);
  if (parameterCount(layers) > JOB_LIMITS.maxParameters) bad(`${parameterCount(layers)} parameters, at most ${JOB_LIMITS.maxParameters}`);
  if (spec.batchSize < 1 || spec.batchSize > JOB_LIMITS.maxBatchSize) bad(`batch size is 1 to ${JOB_LIMITS.maxBatchSize}`);
  if (spec.steps < 1 || spec.steps > JOB_LIMITS.maxSteps) bad(`steps are 1 to ${JOB_LIMITS.maxSteps}`);
  if (spec.segmentLength < 1 || spec.segmentLength > spec.steps) bad("segment length is 1 to steps");
  const lr = bitsToF32(spec.learningRateBits);
  const mu = bitsToF32(spec.momentumBits);
  if (!(lr > 0 && lr <= 16)) bad("learning rate must be in (0, 16]");
  if (!(mu >= 0 && mu < 1)) bad("momentum must be in [0, 1)");
  if (spec.targetMetric > 1) bad("target metric is 0 (accuracy) or 1 (loss)");
  if (spec.targetMetric === 0 && spec.targetThreshold > 10_000) bad("an accuracy target is in basis points, at most 10,000");
  if (dataset) {
    if (layers[0] !== dataset.features) bad(`the first layer has ${layers[0]} inputs, the dataset ${dataset.features} features`);
    if (layers[layers.length - 1] !== dataset.classes) bad(`the last layer has ${layers[layers.length - 1]} outputs, the dataset ${dataset.classes} classes`);
  }
}

/** Number of checkpoints a finished job has: W_0, W_k, W_2k, …, and W_steps (the last segment may be shorter). */
export function checkpointCount(spec: Pick<JobSpecT, "steps" | "segmentLength">): number {
  return Math.ceil(spec.steps / spec.segmentLength) + 1;
}

/** The step at which checkpoint i is taken. */
export function checkpointStep(spec: Pick<JobSpecT, "steps" | "segmentLength">, i: number): number {
  return Math.min(i * spec.segmentLength, spec.steps);
}

export interface TrainingState {
  step: number;
  params: Float32Array;
  velocity: Float32Array;
}

/**
 * Initial weights: Glorot-uniform, w = (2u − 1)·√(6 / (din + dout)) with u a
 * 24-bit fraction from the job's hash stream, drawn layer by layer in
 * parameter order; biases and velocity zero.
 */
export function initialState(spec: JobSpecT, jobId: Uint8Array): TrainingState {
  const params = new Float32Array(parameterCount(spec.layers));
  const rng = new HashStream("pouw/init/v1", spec.seed, jobId);
  for (const s of layerSlices(spec.layers)) {
    const limit = f(Math.sqrt(6 / (s.din + s.dout)));
    for (let k = 0; k < s.din * s.dout; k++) {
      const u = f((rng.nextU32() >>> 8) / 16_777_216); // a 24-bit fraction: exact
      params[s.w + k] = f(f(f(u * 2) - 1) * limit);
    }
  }
  return { step: 0, params, velocity: new Float32Array(params.length) };
}

/** The training-set indices of step t's minibatch: batchSize words of the (seed, jobId, t) hash stream, modulo trainCount. */
export function batchIndices(spec: JobSpecT, jobId: Uint8Array, step: number, trainCount: number): Uint32Array {
  const rng = new HashStream("pouw/batch/v1", spec.seed, jobId, u32le(step));
  const out = new Uint32Array(spec.batchSize);
  for (let b = 0; b < out.length; b++) out[b] = rng.below(trainCount);
  return out;
}

const LE = endianness() === "LE";

/** Little-endian bytes of a Float32Array (a view on little-endian machines). */
export function f32Bytes(a: Float32Array): Uint8Array {
  if (LE) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  return out;
}

function f32FromBytes(b: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const dv = new DataView(b.buffer, b.byteOffset, 4 * count);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** SHA-256 of the parameters' little-endian bytes: what a proof commits to as the final weights. */
export function weightsHash(params: Float32Array): Uint8Array {
  return sha256(f32Bytes(params));
}

const CKPT_MAGIC = utf8("pouw/ckpt/v1");

/** A checkpoint blob: magic ‖ u32le(step) ‖ u32le(parameterCount) ‖ parameters ‖ velocity (float32 little-endian). */
export function encodeCheckpoint(s: TrainingState): Uint8Array {
  return concatBytes(CKPT_MAGIC, u32le(s.step), u32le(s.params.length), f32Bytes(s.params), f32Bytes(s.velocity));
}

export function decodeCheckpoint(bytes: Uint8Array, expectedParameters: number): TrainingState {
  const head = CKPT_MAGIC.length + 8;
  const bad = (msg: string): never => {
    throw new WorkError(WorkErrorCode.BAD_CHECKPOINT, msg);
  };
  if (bytes.length < head || !Buffer.from(bytes.subarray(0, CKPT_MAGIC.length)).equals(Buffer.from(CKPT_MAGIC))) bad("not a checkpoint");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = dv.getUint32(CKPT_MAGIC.length, true);
  const n = dv.getUint32(CKPT_MAGIC.length + 4, true);
  if (n !== expectedParameters) bad(`checkpoint has ${n} parameters, the model ${expectedParameters}`);
  if (bytes.length !== head + 8 * n) bad(`checkpoint is ${bytes.length} bytes, expected ${head + 8 * n}`);
  return { step, params: f32FromBytes(bytes.subarray(head), n), velocity: f32FromBytes(bytes.subarray(head + 4 * n), n) };
}

/** A checkpoint blob's step and parameter count, read from its header without decoding the floats; null when it is not one. */
export function checkpointHeader(bytes: Uint8Array): { step: number; parameters: number } | null {
  const head = CKPT_MAGIC.length + 8;
  if (bytes.length < head || !Buffer.from(bytes.subarray(0, CKPT_MAGIC.length)).equals(Buffer.from(CKPT_MAGIC))) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = dv.getUint32(CKPT_MAGIC.length, true);
  const parameters = dv.getUint32(CKPT_MAGIC.length + 4, true);
  return bytes.length === head + 8 * parameters ? { step, parameters } : null;
}

/** Bytes of a checkpoint blob of a model with `parameters` parameters. */
export function checkpointBytes(parameters: number): number {
  return CKPT_MAGIC.length + 8 + 8 * parameters;
}

export function checkpointHash(blob: Uint8Array): Uint8Array {
  return sha256(blob);
}

/** Runs a job's steps on one dataset with the reference kernel. */
export class Trainer {
  readonly spec: JobSpecT;
  readonly jobId: Uint8Array;
  readonly dataset: Dataset;
  readonly kernel: TrainingKernel;
  private readonly x: Float32Array;
  private readonly y: Uint8Array;
  private readonly lr: number;
  private readonly mu: number;

  /** `kernel`: a faster kernel for this job's shape (default: the reference kernel). */
  constructor(spec: JobSpecT, jobId: Uint8Array, dataset: Dataset, kernel?: TrainingKernel) {
    validateJobSpec(spec, dataset);
    this.spec = spec;
    this.jobId = jobId;
    this.dataset = dataset;
    this.kernel = kernel ?? new MlpKernel(spec.layers, spec.batchSize);
    if (this.kernel.batchSize !== spec.batchSize || this.kernel.layers.join() !== spec.layers.join()) throw new RangeError("the kernel was built for another model shape");
    this.x = new Float32Array(spec.batchSize * dataset.features);
    this.y = new Uint8Array(spec.batchSize);
    this.lr = bitsToF32(spec.learningRateBits);
    this.mu = bitsToF32(spec.momentumBits);
  }

  /** Gathers step t's minibatch into the trainer's buffers. */
  private gather(step: number): void {
    const d = this.dataset;
    const idx = batchIndices(this.spec, this.jobId, step, d.trainCount);
    for (let b = 0; b < idx.length; b++) {
      const i = idx[b]!;
      this.x.set(d.trainX.subarray(i * d.features, (i + 1) * d.features), b * d.features);
      this.y[b] = d.trainY[i]!;
    }
  }

  /**
   * Advances `state` (in place) to step `until`. Stops early, with
   * `finite: false`, at the first step whose loss or weights are not finite.
   */
  run(state: TrainingState, until: number, onStep?: (step: number, loss: number) => void): { finite: boolean; loss: number } {
    let loss = NaN;
    while (state.step < until) {
      this.gather(state.step);
      const r = this.kernel.step(state.params, state.velocity, this.x, this.y, this.lr, this.mu);
      state.step++;
      loss = r.loss;
      onStep?.(state.step, loss);
      if (!r.finite) return { finite: false, loss };
    }
    return { finite: true, loss };
  }

  /** Accuracy (basis points, rounded down) and mean loss (float32) on the validation split. */
  evaluate(params: Float32Array): { accuracyBps: number; loss: number; finite: boolean } {
    const d = this.dataset;
    const r = this.kernel.evaluate(params, d.validationX, d.validationY, d.validationCount);
    return { accuracyBps: Math.floor((r.correct * 10_000) / d.validationCount), loss: f(r.lossSum / d.validationCount), finite: r.finite };
  }
}

/**
 * Trains from `state` to the job's last step, handing over each checkpoint
 * blob as it is reached (checkpoint 0 too, when starting from step 0). A
 * non-finite step ends training early with `finite: false`.
 */
export function trainWithCheckpoints(
  trainer: Trainer,
  state: TrainingState,
  onCheckpoint: (index: number, blob: Uint8Array) => void,
  onStep?: (step: number, loss: number) => void,
): { finite: boolean; loss: number } {
  const { spec } = trainer;
  const count = checkpointCount(spec);
  let loss = NaN;
  for (let i = 0; i < count; i++) {
    const at = checkpointStep(spec, i);
    if (at < state.step) continue;
    const r = trainer.run(state, at, onStep);
    if (state.step > 0 || at === 0) loss = r.loss;
    if (!r.finite) return { finite: false, loss };
    onCheckpoint(i, encodeCheckpoint(state));
  }
  return { finite: true, loss };
}
