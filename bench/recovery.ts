/**
 * `npm run bench:recovery [-- --restarts 20 --validators 4 --block-time 500]`:
 * mid-height restarts of a validator process (real `pouw start` processes
 * over libp2p on 127.0.0.1). Each restart SIGKILLs one validator at a
 * consensus step (signed or sent its prevote or precommit, proposed,
 * decided, committed: the failpoints of scripts/nemesis.ts) and starts it
 * again; it measures, from the moment the restarted process serves RPC, the
 * time until the chain's next commit and until the restarted validator signs
 * again. Prints p50 and max of both.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Cluster, FAILPOINTS, rng, runNemesis, untilCommitAbove, type FaultKind } from "../scripts/nemesis.ts";

const { values } = parseArgs({
  options: {
    restarts: { type: "string", default: "20" },
    validators: { type: "string", default: "4" },
    "block-time": { type: "string", default: "500" },
    seed: { type: "string", default: "1" },
  },
});
const restarts = Number(values.restarts);
const n = Number(values.validators);
const dir = mkdtempSync(join(tmpdir(), "pouw-bench-recovery-"));
const cluster = await Cluster.create(n, dir, Number(values["block-time"]));
try {
  await Promise.all(Array.from({ length: n }, (_, i) => cluster.start(i)));
  if ((await untilCommitAbove(cluster, 2, 60_000)) === null) throw new Error("the cluster did not start committing");
  const random = rng(Number(values.seed));
  const schedule: FaultKind[] = Array.from({ length: restarts }, (_, i) => `kill-at:${FAILPOINTS[(i + Math.floor(random() * FAILPOINTS.length)) % FAILPOINTS.length]}` as FaultKind);
  const records = await runNemesis(cluster, { seed: Number(values.seed), faults: restarts, schedule, pauseMs: [0, 0], recoverWithinMs: 30_000, log: (l) => console.log(l) });
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
  };
  const commit = stats(records.map((r) => r.recoveryMs));
  const sign = stats(records.flatMap((r) => (r.signAgainMs === null ? [] : [r.signAgainMs])));
  console.log("");
  console.log(`bench:recovery — ${records.length} mid-height restarts, ${n} validators, block time ${values["block-time"]} ms`);
  console.log(`  next commit after the restart:       p50 ${commit.p50} ms, max ${commit.max} ms`);
  console.log(`  restarted validator signs again:     p50 ${sign.p50} ms, max ${sign.max} ms (${records.filter((r) => r.signAgainMs === null).length} never within 30 s)`);
  console.log(`  halts (no commit within 10 s):       ${records.filter((r) => r.recoveryMs > 10_000).length}`);
} finally {
  await cluster.stopAll();
  rmSync(dir, { recursive: true, force: true });
}
