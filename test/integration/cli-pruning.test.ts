/**
 * `pouw start --pruning` as a real process: a bad value is one line and
 * exit 1 before anything is written; a node asked to keep 1 block keeps
 * what it reads back instead (minRetained) and says so at WARN. Pruning
 * itself is tested in pruning.test.ts (in process) and the unit tests.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, freePort, startChild, type ChildNode } from "../helpers/child.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("pouw start --pruning", { timeout: 120_000 }, () => {
  it("refuses a bad value with one line and exit 1, writing nothing", async () => {
    const home = join(mkdtempSync(join(tmpdir(), "pouw-cli-pruning-")), "home");
    dirs.push(home);
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, "start", "--devnet", "--home", home, "--pruning", "lots"], (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr })),
    );
    expect(code).toBe(1);
    expect(stderr).toContain('--pruning must be a number of blocks to keep (≥ 1) or "archive", got "lots"');
    expect(existsSync(home)).toBe(false);
  });

  it("keeps at least what the node reads back and says so", async () => {
    const home = join(mkdtempSync(join(tmpdir(), "pouw-cli-pruning-")), "home");
    dirs.push(home);
    const port = await freePort();
    let node: ChildNode | undefined;
    try {
      node = await startChild(home, port, ["--devnet", "--no-worker", "--pruning", "1", "--block-time", "100"]);
      const until = Date.now() + 20_000;
      while (!node.output().includes("Pruning keeps more blocks than asked") && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const line = node.output().split("\n").find((l) => l.includes("Pruning keeps more blocks than asked"));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ asked: 1 });
      expect(JSON.parse(line!).keep).toBeGreaterThan(1);
    } finally {
      node?.proc.kill("SIGTERM");
      await node?.exited;
    }
  });
});
