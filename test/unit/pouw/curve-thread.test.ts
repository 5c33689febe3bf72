/**
 * Explorer training curves (pouw_getJobCurve) are evaluated in a work thread:
 * the same points as evaluating inline, while the event loop (which runs
 * consensus) keeps turning. Inline, one batch of MNIST-sized checkpoints held
 * the loop for the whole evaluation.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { evaluateCheckpoints } from "../../../node/pouw/curve.ts";
import { loadDataset } from "../../../node/pouw/registry.ts";
import { encodeCheckpoint, initialState } from "../../../node/pouw/training.ts";
import { WorkThread } from "../../../node/pouw/work-pool.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { DEVNET_GENESIS_PATH } from "../../../node/cli/home.ts";
import { smallJobSpec } from "../../helpers/job-spec.ts";

const info = parseGenesis(JSON.parse(readFileSync(DEVNET_GENESIS_PATH, "utf8"))).datasets.find((d) => d.name === "mnist-10k")!;
const spec = smallJobSpec(info.id, { layers: [784, 32, 10] });
const jobId = new Uint8Array(32).fill(3);
// Four checkpoints: the initial weights scaled differently, so each point differs.
const checkpoints = Array.from({ length: 4 }, (_, i) => {
  const s = initialState(spec, jobId);
  for (let k = 0; k < s.params.length; k++) s.params[k] = Math.fround(s.params[k]! * (0.5 + i / 2));
  return { index: i, blob: encodeCheckpoint({ ...s, step: 10 * i }) };
});

/** Runs `work` while a 5 ms timer ticks: the longest gap between ticks, and how long the work took. */
async function longestGap(work: () => Promise<unknown>): Promise<{ gapMs: number; ms: number }> {
  let last = performance.now();
  let gapMs = 0;
  const t = setInterval(() => {
    const now = performance.now();
    gapMs = Math.max(gapMs, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 20)); // a tick after the work, so a gap it caused is counted
  clearInterval(t);
  return { gapMs, ms };
}

describe("training curves in the work thread", () => {
  const thread = new WorkThread();
  afterAll(() => thread.close());

  it("gives the points an inline evaluation gives, without holding the event loop", { timeout: 120_000 }, async () => {
    const dataset = loadDataset(info)!;
    evaluateCheckpoints(spec, jobId, dataset, checkpoints.slice(0, 1)); // warm, as the thread is below
    let inline: ReturnType<typeof evaluateCheckpoints> = [];
    const blocked = await longestGap(async () => {
      inline = evaluateCheckpoints(spec, jobId, dataset, checkpoints);
    });
    expect(inline.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    expect(inline.map((p) => p.step)).toEqual([0, 10, 20, 30]);
    expect(new Set(inline.map((p) => p.loss)).size).toBe(4);
    // The workload is real: inline it held the loop for (nearly) all of it.
    expect(blocked.gapMs).toBeGreaterThan(0.8 * blocked.ms);

    await thread.evaluate({ spec, jobId, dataset: info, checkpoints: checkpoints.slice(0, 1) }); // the thread started and its dataset loaded
    let threaded: typeof inline = [];
    const free = await longestGap(async () => {
      threaded = await thread.evaluate({ spec, jobId, dataset: info, checkpoints });
    });
    expect(threaded).toEqual(inline);
    expect(free.gapMs, `longest event-loop gap ${free.gapMs.toFixed(0)} ms of a ${free.ms.toFixed(0)} ms evaluation`).toBeLessThan(Math.max(100, free.ms / 4));
  });
});
