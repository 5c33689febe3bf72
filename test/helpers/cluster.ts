/** Validator-process clusters for a test file (scripts/nemesis.ts), stopped and removed after it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { Cluster } from "../../scripts/nemesis.ts";

/** Returns `start(n, blockTimeMs)`: a started cluster of n validators in a fresh directory. */
export function useClusters(label: string): (n: number, blockTimeMs: number) => Promise<Cluster> {
  const dirs: string[] = [];
  const clusters: Cluster[] = [];
  afterAll(async () => {
    for (const c of clusters) await c.stopAll();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return async (n, blockTimeMs) => {
    const dir = mkdtempSync(join(tmpdir(), `pouw-${label}-${n}-`));
    dirs.push(dir);
    const c = await Cluster.create(n, dir, blockTimeMs);
    clusters.push(c);
    await Promise.all(Array.from({ length: n }, (_, i) => c.start(i)));
    return c;
  };
}
