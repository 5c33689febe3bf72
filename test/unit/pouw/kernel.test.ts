/**
 * The reference training kernel: golden vectors pinned in test/vectors/ and
 * reproduced bit for bit in this thread, a worker thread and a child process;
 * exp/log accuracy; segment re-execution from a checkpoint blob; job
 * separation; deterministic failure on non-finite values; malformed specs
 * and checkpoints refused with their codes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { WorkErrorCode } from "../../../node/pouw/errors.ts";
import { EXP_MAX, EXP_MIN, expf, logf } from "../../../node/pouw/kernel/f32.ts";
import { checkpointHash, decodeCheckpoint, encodeCheckpoint, f32ToBits, initialState, Trainer, trainWithCheckpoints, validateJobSpec, weightsHash } from "../../../node/pouw/training.ts";
import { fromHex, toHex } from "../../../node/util/hex.ts";
import { GOLDEN_INPUTS, goldenSpec, runGolden, type GoldenInput, type GoldenResult } from "../../helpers/pouw-golden.ts";

const vectors = JSON.parse(readFileSync(new URL("../../vectors/pouw-golden.json", import.meta.url), "utf8")) as { vectors: { input: GoldenInput; expected: GoldenResult }[] };
const expected = Object.fromEntries(vectors.vectors.map((v) => [v.input.name, v.expected]));
const RUNNER = fileURLToPath(new URL("../../helpers/pouw-golden-run.ts", import.meta.url));

describe("golden vectors", () => {
  it("the vector file holds the jobs the helper defines", () => {
    expect(vectors.vectors.map((v) => v.input)).toEqual(GOLDEN_INPUTS);
  });

  it("this thread reproduces every checkpoint hash, the final weights and the metrics", () => {
    for (const input of GOLDEN_INPUTS) expect(runGolden(input), input.name).toEqual(expected[input.name]);
  }, 60_000);

  it("a worker thread reproduces them", async () => {
    const w = new Worker(RUNNER);
    const got = await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await w.terminate();
    expect(got).toEqual(expected);
  }, 60_000);

  it("a child process reproduces them", () => {
    const out = execFileSync(process.execPath, [RUNNER], { encoding: "utf8", maxBuffer: 1 << 20 });
    expect(JSON.parse(out)).toEqual(expected);
  }, 60_000);

  it("the mnist job learns: validation accuracy after 24 steps is well above chance", () => {
    expect(expected["mnist-784-128-10"]!.accuracyBps).toBeGreaterThan(5000);
  });
});

describe("float32 exp and log", () => {
  it("expf is within 3e-7 relative of e^x over its range", () => {
    fc.assert(
      fc.property(fc.float({ min: Math.fround(EXP_MIN), max: Math.fround(EXP_MAX), noNaN: true }), (x) => {
        const want = Math.exp(x);
        expect(Math.abs(expf(x) - want) / want).toBeLessThan(3e-7);
      }),
      { seed: 0x0e4f, numRuns: 5000 },
    );
    expect(expf(0)).toBe(1);
    expect(expf(-1000)).toBe(expf(EXP_MIN));
  });

  it("logf is within 2e-7 absolute + relative of ln x for positive normal floats", () => {
    fc.assert(
      fc.property(fc.float({ min: Math.fround(1.2e-38), max: Math.fround(3e38), noNaN: true }), (x) => {
        const want = Math.log(x);
        expect(Math.abs(logf(x) - want)).toBeLessThan(2e-7 + 2e-7 * Math.abs(want));
      }),
      { seed: 0x106f, numRuns: 5000 },
    );
    expect(logf(1)).toBe(0);
  });
});

describe("training jobs", () => {
  const data = syntheticDataset({ seed: "kernel-test", features: 8, classes: 3, train: 256, validation: 64 });
  const spec = (over: Partial<ReturnType<typeof goldenSpec>> = {}) => ({
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
    ...over,
  });
  const jobA = new Uint8Array(32).fill(0xa);
  const jobB = new Uint8Array(32).fill(0xb);

  function checkpoints(s: ReturnType<typeof spec>, jobId: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    trainWithCheckpoints(new Trainer(s, jobId, data), initialState(s, jobId), (_, blob) => out.push(blob));
    return out;
  }

  it("re-executing any segment from its start checkpoint blob gives the next checkpoint exactly", () => {
    const s = spec();
    const blobs = checkpoints(s, jobA);
    expect(blobs.length).toBe(4);
    for (let i = 0; i + 1 < blobs.length; i++) {
      const state = decodeCheckpoint(blobs[i]!, 8 * 16 + 16 + 16 * 3 + 3);
      new Trainer(s, jobA, data).run(state, (i + 1) * 10);
      expect(toHex(checkpointHash(encodeCheckpoint(state)))).toBe(toHex(checkpointHash(blobs[i + 1]!)));
    }
  });

  it("a segment re-executed under another job id does not match (a proof cannot be replayed for another job)", () => {
    const s = spec();
    const a = checkpoints(s, jobA);
    const b = checkpoints(s, jobB);
    for (let i = 0; i < a.length; i++) expect(toHex(checkpointHash(a[i]!))).not.toBe(toHex(checkpointHash(b[i]!)));
    const state = decodeCheckpoint(a[1]!, initialState(s, jobA).params.length);
    new Trainer(s, jobB, data).run(state, 20);
    expect(toHex(checkpointHash(encodeCheckpoint(state)))).not.toBe(toHex(checkpointHash(a[2]!)));
  });

  it("weights that overflow end training as failed at that step, the same way every time", () => {
    const s = spec();
    const run = () => {
      const state = initialState(s, jobA);
      new Trainer(s, jobA, data).run(state, 5);
      // Blow up one hidden unit's weights (as a forged or divergent checkpoint would): its activation overflows to Infinity.
      for (let i = 0; i < 8; i++) state.params[i * 16] = 3e38;
      const steps: number[] = [];
      const r = new Trainer(s, jobA, data).run(state, 30, (step) => steps.push(step));
      return { r, steps, at: state.step };
    };
    const first = run();
    expect(first.r.finite).toBe(false);
    expect(first.at).toBe(6);
    expect(first.steps).toEqual([6]);
    expect(run()).toEqual(first);
  });

  it("different seeds or data give different final weights; the same inputs the same", () => {
    const s = spec();
    const run = (sp: ReturnType<typeof spec>) => {
      const st = initialState(sp, jobA);
      new Trainer(sp, jobA, data).run(st, sp.steps);
      return toHex(weightsHash(st.params));
    };
    expect(run(s)).toBe(run(spec()));
    expect(run(spec({ seed: new Uint8Array(32).fill(6) }))).not.toBe(run(s));
  });

  it("refuses malformed specs with BAD_JOB_SPEC", () => {
    const bad = [
      spec({ layers: [8] }),
      spec({ layers: [8, 0, 3] }),
      spec({ layers: [8, 5000, 3] }),
      spec({ batchSize: 0 }),
      spec({ steps: 0 }),
      spec({ segmentLength: 31 }),
      spec({ learningRateBits: f32ToBits(NaN) }),
      spec({ learningRateBits: f32ToBits(-0.1) }),
      spec({ momentumBits: f32ToBits(1) }),
      spec({ targetMetric: 2 }),
      spec({ layers: [9, 16, 3] }),
      spec({ layers: [8, 16, 4] }),
    ];
    for (const s of bad) expect(() => validateJobSpec(s, data), JSON.stringify(s.layers)).toThrow(expect.objectContaining({ code: WorkErrorCode.BAD_JOB_SPEC }));
    expect(() => validateJobSpec(spec(), data)).not.toThrow();
  });

  it("refuses malformed checkpoints with BAD_CHECKPOINT", () => {
    const s = spec();
    const blob = checkpoints(s, jobA)[1]!;
    const n = initialState(s, jobA).params.length;
    expect(decodeCheckpoint(blob, n).step).toBe(10);
    const wrongMagic = new Uint8Array(blob);
    wrongMagic[0] ^= 1;
    for (const [b, count] of [[blob.subarray(0, blob.length - 1), n], [wrongMagic, n], [blob, n + 1], [new Uint8Array(3), n]] as const) {
      expect(() => decodeCheckpoint(b, count)).toThrow(expect.objectContaining({ code: WorkErrorCode.BAD_CHECKPOINT }));
    }
  });

  it("fromHex ids in the vectors are the job ids used", () => {
    expect(fromHex(GOLDEN_INPUTS[0]!.jobId).length).toBe(32);
  });
});
