/**
 * The WebAssembly SIMD kernel against the reference kernel: bit-identical
 * parameters, velocity, losses and evaluations over random shapes (widths
 * not divisible by 4 included); the golden vectors reproduced through a
 * Trainer in this thread and in a worker thread; the same failing step when
 * weights overflow; exp and log identical to f32.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { expf, f, logf } from "../../../node/pouw/kernel/f32.ts";
import { MlpKernel, parameterCount, type TrainingKernel } from "../../../node/pouw/kernel/mlp.ts";
import { instantiateSimdKernel, SimdMlpKernel } from "../../../node/pouw/kernel/simd.ts";
import { f32ToBits, initialState, JOB_LIMITS, Trainer } from "../../../node/pouw/training.ts";
import { GOLDEN_INPUTS, type GoldenInput, type GoldenResult } from "../../helpers/pouw-golden.ts";
import { runGoldenSimd } from "../../helpers/pouw-golden-simd.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/pouw-golden.json", import.meta.url), "utf8")) as { vectors: { input: GoldenInput; expected: GoldenResult }[] };
const expected = Object.fromEntries(vectors.vectors.map((v) => [v.input.name, v.expected]));
const SIMD_RUNNER = fileURLToPath(new URL("../../helpers/pouw-golden-simd.ts", import.meta.url));

/** Index of the first element whose bits differ (any NaN equals any NaN when `nanEqual`), or -1. */
function firstDiff(a: Float32Array, b: Float32Array, nanEqual = false): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i]) continue;
    if (nanEqual && Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    return i;
  }
  return -1;
}

const sameNumber = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

/** xorshift32 values for one test case. */
function rng(seed: number) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  /** float32s of magnitude up to `scale`, with exact zeros, negative zeros and subnormals mixed in. */
  const floats = (n: number, scale: number, zeros: number) =>
    Float32Array.from({ length: n }, () => {
      const u = next();
      if (u < zeros) return 0;
      if (u < zeros + 0.01) return -0;
      if (u < zeros + 0.02) return f((next() - 0.5) * 2e-39);
      return f((next() * 2 - 1) * scale);
    });
  return { next, floats };
}

describe("SIMD kernel = reference kernel, bit for bit", () => {
  const width = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 64, 65));
  const caseArb = fc.record({
    layers: fc.array(width, { minLength: 2, maxLength: 4 }),
    batch: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(1, 4, 5, 8, 32)),
    seed: fc.nat(),
    scale: fc.constantFrom(1e-3, 0.05, 0.3, 1, 4, 1e18),
    inputScale: fc.constantFrom(0.01, 1, 30),
    lr: fc.float({ min: Math.fround(1e-4), max: 4, noNaN: true }),
    mu: fc.float({ min: 0, max: Math.fround(0.99), noNaN: true }),
    steps: fc.integer({ min: 1, max: 4 }),
  });

  it("params, velocity, loss, finite and evaluation agree over random shapes, values and hyperparameters", () => {
    let finiteRuns = 0;
    let failedRuns = 0;
    fc.assert(
      fc.property(caseArb, ({ layers, batch, seed, scale, inputScale, lr, mu, steps }) => {
        const r = rng(seed);
        const P = parameterCount(layers);
        const C = layers[layers.length - 1]!;
        const ref = new MlpKernel(layers, batch);
        const simd = new SimdMlpKernel(layers, batch);
        const p1 = r.floats(P, scale, 0.05);
        const v1 = r.floats(P, scale / 10, 0.2);
        const p2 = p1.slice();
        const v2 = v1.slice();
        for (let t = 0; t < steps; t++) {
          const x = r.floats(batch * layers[0]!, inputScale, 0.3);
          const y = Uint8Array.from({ length: batch }, () => Math.floor(r.next() * C));
          const a = ref.step(p1, v1, x, y, lr, mu);
          const b = simd.step(p2, v2, x, y, lr, mu);
          expect(b.finite, `step ${t} finite`).toBe(a.finite);
          if (!a.finite) {
            // NaN bit patterns are unspecified (DESIGN §8); everything else must still agree, and training ends here.
            expect(firstDiff(p1, p2, true), `step ${t} params`).toBe(-1);
            expect(firstDiff(v1, v2, true), `step ${t} velocity`).toBe(-1);
            expect(sameNumber(a.loss, b.loss), `step ${t} loss ${a.loss} vs ${b.loss}`).toBe(true);
            failedRuns++;
            return;
          }
          expect(firstDiff(p1, p2), `step ${t} params`).toBe(-1);
          expect(firstDiff(v1, v2), `step ${t} velocity`).toBe(-1);
          expect(f32ToBits(b.loss), `step ${t} loss`).toBe(f32ToBits(a.loss));
        }
        const count = 1 + Math.floor(r.next() * (2 * batch + 5));
        const ex = r.floats(count * layers[0]!, inputScale, 0.3);
        const ey = Uint8Array.from({ length: count }, () => Math.floor(r.next() * C));
        const ea = ref.evaluate(p1, ex, ey, count);
        const eb = simd.evaluate(p2, ex, ey, count);
        expect(eb.correct).toBe(ea.correct);
        expect(eb.finite).toBe(ea.finite);
        expect(f32ToBits(eb.lossSum)).toBe(f32ToBits(ea.lossSum));
        // evaluate leaves the caller's parameters alone
        expect(firstDiff(p1, p2)).toBe(-1);
        finiteRuns++;
      }),
      { seed: 0x51d, numRuns: 400 },
    );
    // The generator reaches both outcomes.
    expect(finiteRuns).toBeGreaterThan(100);
    expect(failedRuns).toBeGreaterThan(5);
  }, 120_000);

  it("the mnist shape (784-128-10, batch 64) agrees over many steps", () => {
    const layers = [784, 128, 10];
    const r = rng(0x784);
    const P = parameterCount(layers);
    const ref = new MlpKernel(layers, 64);
    const simd = new SimdMlpKernel(layers, 64);
    const p1 = r.floats(P, 0.08, 0);
    const v1 = new Float32Array(P);
    const p2 = p1.slice();
    const v2 = v1.slice();
    for (let t = 0; t < 6; t++) {
      const x = Float32Array.from({ length: 64 * 784 }, () => (r.next() < 0.8 ? 0 : f(Math.floor(r.next() * 256) / 255)));
      const y = Uint8Array.from({ length: 64 }, () => Math.floor(r.next() * 10));
      const a = ref.step(p1, v1, x, y, 0.1, 0.9);
      const b = simd.step(p2, v2, x, y, 0.1, 0.9);
      expect(a.finite && b.finite).toBe(true);
      expect(f32ToBits(b.loss)).toBe(f32ToBits(a.loss));
      expect(firstDiff(p1, p2)).toBe(-1);
      expect(firstDiff(v1, v2)).toBe(-1);
    }
  }, 60_000);

  it("the widest layers and the largest batch JOB_LIMITS allow (4096 wide, batch 1024) agree", () => {
    const layers = [JOB_LIMITS.maxWidth, 3, JOB_LIMITS.maxWidth];
    const B = JOB_LIMITS.maxBatchSize;
    const r = rng(0x4096);
    const P = parameterCount(layers);
    const p1 = r.floats(P, 0.05, 0.01);
    const v1 = r.floats(P, 0.01, 0.5);
    const p2 = p1.slice();
    const v2 = v1.slice();
    const x = r.floats(B * layers[0]!, 1, 0.3);
    const y = Uint8Array.from({ length: B }, () => Math.floor(r.next() * 256));
    const a = new MlpKernel(layers, B).step(p1, v1, x, y, 0.1, 0.9);
    const b = new SimdMlpKernel(layers, B).step(p2, v2, x, y, 0.1, 0.9);
    expect(a.finite && b.finite).toBe(true);
    expect(f32ToBits(b.loss)).toBe(f32ToBits(a.loss));
    expect(firstDiff(p1, p2)).toBe(-1);
    expect(firstDiff(v1, v2)).toBe(-1);
  }, 60_000);

  it("the wasm exp and log are f32.ts's, bit for bit (clamped ranges, subnormal and huge inputs too)", () => {
    const w = instantiateSimdKernel();
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(f32ToBits(w.expf(x))).toBe(f32ToBits(expf(x)));
        if (x > 0 && x >= 2 ** -126 && x < Infinity) expect(f32ToBits(w.logf(x))).toBe(f32ToBits(logf(x)));
      }),
      { seed: 0x51d, numRuns: 20_000 },
    );
    fc.assert(
      fc.property(fc.float({ min: -100, max: 100, noNaN: true }), fc.float({ min: Math.fround(0.5), max: 64, noNaN: true }), (x, s) => {
        expect(f32ToBits(w.expf(x))).toBe(f32ToBits(expf(x)));
        expect(f32ToBits(w.logf(s))).toBe(f32ToBits(logf(s)));
      }),
      { seed: 0x51e, numRuns: 20_000 },
    );
    expect(Number.isNaN(w.expf(NaN))).toBe(true);
  });
});

describe("golden vectors through a Trainer with the SIMD kernel", () => {
  it("this thread reproduces every checkpoint hash, the final weights and the metrics", () => {
    expect(vectors.vectors.map((v) => v.input)).toEqual(GOLDEN_INPUTS);
    for (const input of GOLDEN_INPUTS) expect(runGoldenSimd(input), input.name).toEqual(expected[input.name]);
  }, 60_000);

  it("a worker thread reproduces them", async () => {
    const w = new Worker(SIMD_RUNNER, { workerData: { pouwGoldenSimd: true } });
    try {
      const got = await new Promise((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      });
      expect(got).toEqual(expected);
    } finally {
      await w.terminate();
    }
  }, 60_000);
});

describe("non-finite values", () => {
  const data = syntheticDataset({ seed: "kernel-test", features: 8, classes: 3, train: 256, validation: 64 });
  const spec = {
    datasetId: data.id,
    layers: [8, 16, 3],
    learningRateBits: f32ToBits(0.05),
    momentumBits: f32ToBits(0.9),
    batchSize: 16,
    steps: 30,
    segmentLength: 10,
    seed: new Uint8Array(32).fill(5),
    targetMetric: 0,
    targetThreshold: 0,
    deadline: 0,
  };
  const jobId = new Uint8Array(32).fill(0xa);

  function overflowRun(kernel: () => TrainingKernel) {
    const state = initialState(spec, jobId);
    new Trainer(spec, jobId, data, kernel()).run(state, 5);
    for (let i = 0; i < 8; i++) state.params[i * 16] = 3e38;
    const steps: number[] = [];
    const r = new Trainer(spec, jobId, data, kernel()).run(state, 30, (step) => steps.push(step));
    return { r, steps, state };
  }

  it("weights of 3e38 end training as failed at the same step as the reference, with the same state", () => {
    const ref = overflowRun(() => new MlpKernel(spec.layers, spec.batchSize));
    const simd = overflowRun(() => new SimdMlpKernel(spec.layers, spec.batchSize));
    expect(ref.r.finite).toBe(false);
    expect(simd.r.finite).toBe(false);
    expect(simd.state.step).toBe(ref.state.step);
    expect(simd.steps).toEqual(ref.steps);
    expect(sameNumber(simd.r.loss, ref.r.loss)).toBe(true);
    expect(firstDiff(simd.state.params, ref.state.params, true)).toBe(-1);
    expect(firstDiff(simd.state.velocity, ref.state.velocity, true)).toBe(-1);
  });

  it("every weight at 3e38 fails on the first step in both kernels (at −3e38 ReLU zeroes the hidden layer and both stay finite); evaluation agrees", () => {
    for (const big of [3e38, -3e38]) {
      const layers = [8, 13, 3];
      const P = parameterCount(layers);
      const p1 = new Float32Array(P).fill(big);
      const p2 = p1.slice();
      const v1 = new Float32Array(P);
      const v2 = new Float32Array(P);
      const x = Float32Array.from({ length: 5 * 8 }, (_, i) => f(((i * 7) % 11) / 10));
      const y = Uint8Array.from({ length: 5 }, (_, i) => i % 3);
      const ea = new MlpKernel(layers, 5).evaluate(p1, x, y, 5);
      const eb = new SimdMlpKernel(layers, 5).evaluate(p2, x, y, 5);
      expect(eb.finite).toBe(ea.finite);
      expect(eb.correct).toBe(ea.correct);
      expect(sameNumber(eb.lossSum, ea.lossSum)).toBe(true);
      const a = new MlpKernel(layers, 5).step(p1, v1, x, y, 0.1, 0.9);
      const b = new SimdMlpKernel(layers, 5).step(p2, v2, x, y, 0.1, 0.9);
      expect(a.finite).toBe(big < 0);
      expect(b.finite).toBe(a.finite);
      expect(sameNumber(b.loss, a.loss)).toBe(true);
      expect(firstDiff(p1, p2, true)).toBe(-1);
      expect(firstDiff(v1, v2, true)).toBe(-1);
    }
  });
});
