/**
 * `npm run soak -- --minutes N [--validators 4] [--seed S] [--block-time 500]`:
 * the long version of the fault suite (scripts/nemesis.ts). Real validator
 * processes on 127.0.0.1 under transfer load; a seeded nemesis kills them at
 * every consensus step and at random, and pauses one or two for 10–30 s, for
 * N minutes. Prints each fault, then the totals: faults injected, halts (a
 * fault after which nothing committed within 10 s: must be 0), the longest
 * recovery, forks (must be 0) and accepted transactions never finalized
 * (must be 0). Exits non-zero if any of those is not 0.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cluster, ForkWatch, rng, rpc, runNemesis, TransferLoad, untilCommitAbove } from "./nemesis.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    validators: { type: "string", default: "4" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    "block-time": { type: "string", default: "500" },
    keep: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
const n = Number(values.validators);
const seed = Number(values.seed);
const blockTime = Number(values["block-time"]);
const dir = mkdtempSync(join(tmpdir(), "pouw-soak-"));
console.log(`soak: ${n} validators, ${minutes} min, seed ${seed}, block time ${blockTime} ms, homes in ${dir}`);

const cluster = await Cluster.create(n, dir, blockTime);
let code = 1;
try {
  await Promise.all(Array.from({ length: n }, (_, i) => cluster.start(i)));
  if ((await untilCommitAbove(cluster, 2, 60_000)) === null) throw new Error("the cluster did not start committing");
  const forks = new ForkWatch(cluster);
  const forkTimer = setInterval(() => void forks.check(), 5000);
  const load = new TransferLoad(cluster, rng(seed + 1), 6, 100);
  load.start();
  const t0 = Date.now();
  const records = await runNemesis(cluster, {
    seed,
    faults: Infinity,
    untilMs: minutes * 60_000,
    pauseMs: [10_000, 30_000],
    recoverWithinMs: 10_000,
    log: (l) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${l}`),
  });
  await load.stop();
  clearInterval(forkTimer);
  await forks.check();
  const lost = await load.unfinalized(0, 120_000);
  const halts = records.filter((r) => r.halted).length;
  const longest = Math.max(0, ...records.map((r) => r.recoveryMs));
  console.log("");
  console.log(`faults injected:        ${records.length}`);
  console.log(`halts (> 10 s):         ${halts}`);
  console.log(`longest recovery:       ${longest} ms`);
  console.log(`forks:                  ${forks.forks.length}${forks.forks.length ? `\n  ${forks.forks.join("\n  ")}` : ""}`);
  console.log(`accepted transactions:  ${load.accepted.size}, not finalized: ${lost.length}`);
  console.log(`blocks committed:       ${await cluster.maxHead()}`);
  // Validators down for more than half the signing window are jailed, as they should be: say which.
  const vals = await rpc<{ candidates: { address: string; status: string; missedBlocks: number }[] }>(cluster.urls[0]!, "pouw_getValidators", [{ all: true }], 5000).catch(() => null);
  if (vals) console.log(`validators:             ${vals.candidates.map((v, i) => `${i} ${v.status}${v.missedBlocks ? ` (missed ${v.missedBlocks})` : ""}`).join(", ")}`);
  code = halts === 0 && forks.forks.length === 0 && lost.length === 0 ? 0 : 1;
} catch (e) {
  console.error(e);
} finally {
  await cluster.stopAll();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
