/**
 * Velocities that turn subnormal as training proceeds, in both kernels, bit
 * for bit. A weight whose gradient is exactly 0 step after step (its input is
 * 0 whenever its unit is active) has its velocity multiplied by μ every step:
 * it becomes subnormal and, once μ·k rounds back to k (k·2^-149, e.g. k = 4
 * for μ = 0.9), stays there for good. Wasm does not flush subnormals, and
 * neither does the reference kernel: these tests pin that both keep them, the
 * same way, over the many steps it takes to get there (bench/pouw.ts times
 * the kernels in that regime).
 */
import { describe, expect, it } from "vitest";
import { mnist10k } from "../../../node/pouw/datasets.ts";
import { f } from "../../../node/pouw/kernel/f32.ts";
import { MlpKernel, parameterCount } from "../../../node/pouw/kernel/mlp.ts";
import { SimdMlpKernel } from "../../../node/pouw/kernel/simd.ts";
import { f32ToBits, initialState, Trainer } from "../../../node/pouw/training.ts";
import type { JobSpecT } from "../../../node/types/transaction.ts";

const LEAST = 2 ** -149;
const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < 2 ** -126;
const countSubnormal = (a: Float32Array) => a.reduce((n, x) => n + (isSubnormal(x) ? 1 : 0), 0);

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe("subnormal velocities, SIMD kernel = reference kernel", () => {
  // Features 0–3 are always 0 (their weights' gradients are exactly 0), feature 4 is rarely nonzero
  // (a gradient now and then on a velocity that has gone subnormal), the rest are dense.
  const layers = [12, 7, 3];
  const B = 8;
  const P = parameterCount(layers);
  const cases = [
    { lr: 0.1, mu: 0.9, stuck: 4 }, // 0.9·4 = 3.6 → 4; 0.9·5 = 4.5 → 4 (ties to even)
    { lr: 0.7, mu: 0.5, stuck: 1 }, // 0.5·1 = 0.5 → 0 (ties to even): nothing stays, they reach +0 / −0
    { lr: 0.02, mu: 0.99, stuck: 50 }, // 0.99·50 = 49.5 → 50
  ];

  for (const { lr, mu, stuck } of cases) {
    it(`lr ${lr}, μ ${mu}: 1,500 steps bit-identical every step, subnormal velocities reached and kept alike`, () => {
      const r = rng(Math.round(mu * 1000));
      const p1 = Float32Array.from({ length: P }, () => f((r() * 2 - 1) * 0.5));
      // Velocities from 1e-2 down to already subnormal (random mantissas), both signs; those of the always-0
      // features start just above 2^-126, so that even at μ = 0.99 they are stuck before step 1,400.
      const v1 = Float32Array.from({ length: P }, (_, k) => {
        if (k < 4 * layers[1]!) return f((r() < 0.5 ? -1 : 1) * (1 + r()) * 2e-38);
        const u = r();
        const sign = r() < 0.5 ? -1 : 1;
        if (u < 0.15) return sign * Math.floor(1 + r() * (2 ** 23 - 1)) * LEAST;
        if (u < 0.2) return sign * Math.floor(1 + r() * 64) * LEAST;
        return f(sign * r() * 1e-2);
      });
      const p2 = p1.slice();
      const v2 = v1.slice();
      const ref = new MlpKernel(layers, B);
      const simd = new SimdMlpKernel(layers, B);
      let maxSubnormal = 0;
      let stuckAt1400: Float32Array | undefined;
      let paramsAt1400: Float32Array | undefined;
      for (let t = 0; t < 1500; t++) {
        const x = Float32Array.from({ length: B * layers[0]! }, (_, k) => {
          const feature = k % layers[0]!;
          if (feature < 4) return 0;
          if (feature === 4) return r() < 0.02 ? f(r()) : 0;
          return f(r());
        });
        const y = Uint8Array.from({ length: B }, () => Math.floor(r() * 3));
        const a = ref.step(p1, v1, x, y, lr, mu);
        const b = simd.step(p2, v2, x, y, lr, mu);
        expect(a.finite && b.finite, `step ${t} finite`).toBe(true);
        expect(f32ToBits(b.loss), `step ${t} loss`).toBe(f32ToBits(a.loss));
        expect(sameBits(p1, p2), `step ${t} params`).toBe(true);
        expect(sameBits(v1, v2), `step ${t} velocity`).toBe(true);
        maxSubnormal = Math.max(maxSubnormal, countSubnormal(v1));
        if (t === 1399) {
          stuckAt1400 = v1.slice();
          paramsAt1400 = p1.slice();
        }
      }
      // The weights of the always-0 features: gradient exactly 0 at every step.
      const zeroGrad: number[] = [];
      for (let i = 0; i < 4; i++) for (let j = 0; j < layers[1]!; j++) zeroGrad.push(i * layers[1]! + j);
      expect(maxSubnormal).toBeGreaterThan(10);
      if (stuck > 1) {
        // After 1,500 steps of v ← μ·v every zero-gradient velocity is ±stuck·2^-149,
        // and has been for the last 100 steps, its weight unchanged (η·v rounds to 0 next to it).
        for (const k of zeroGrad) {
          expect(Math.abs(v1[k]!), `velocity ${k}`).toBe(stuck * LEAST);
          expect(v1[k]).toBe(stuckAt1400![k]);
          expect(p1[k]).toBe(paramsAt1400![k]);
        }
      } else {
        for (const k of zeroGrad) expect(v1[k], `velocity ${k}`).toBe(0);
      }
    }, 60_000);
  }

  it("an mnist job after 800 steps (thousands of velocities subnormal): the next steps agree in both kernels", () => {
    const data = mnist10k();
    const layers = [784, 128, 10];
    const spec: JobSpecT = {
      datasetId: data.id,
      layers,
      learningRateBits: f32ToBits(0.1),
      momentumBits: f32ToBits(0.9),
      batchSize: 64,
      steps: 805,
      segmentLength: 100,
      seed: new Uint8Array(32).fill(0x5e),
      targetMetric: 0,
      targetThreshold: 0,
      deadline: 0,
    };
    const jobId = new Uint8Array(32).fill(0xbe);
    // The SIMD kernel to step 800 (the reference takes minutes for that); every step from there is checked against the reference.
    const a = initialState(spec, jobId);
    expect(new Trainer(spec, jobId, data, new SimdMlpKernel(layers, 64)).run(a, 800).finite).toBe(true);
    const b = { step: a.step, params: a.params.slice(), velocity: a.velocity.slice() };
    const subnormalAt800 = countSubnormal(a.velocity);
    expect(subnormalAt800).toBeGreaterThan(1000);
    expect(countSubnormal(a.params)).toBe(0);
    const ref = new Trainer(spec, jobId, data, new MlpKernel(layers, 64));
    const simd = new Trainer(spec, jobId, data, new SimdMlpKernel(layers, 64));
    for (let t = 801; t <= 805; t++) {
      const la = ref.run(a, t);
      const lb = simd.run(b, t);
      expect(la.finite && lb.finite).toBe(true);
      expect(f32ToBits(lb.loss), `step ${t} loss`).toBe(f32ToBits(la.loss));
      expect(sameBits(a.params, b.params), `step ${t} params`).toBe(true);
      expect(sameBits(a.velocity, b.velocity), `step ${t} velocity`).toBe(true);
    }
    expect(countSubnormal(a.velocity)).toBeGreaterThan(subnormalAt800 / 2);
  }, 120_000);
});
