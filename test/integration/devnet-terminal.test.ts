/**
 * `pouw devnet` on a terminal (a pty from util-linux `script`): the
 * validators' lines it relays are human log lines (clock time, level,
 * message), not JSON with epoch-millisecond times; Ctrl-C stops them all.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, freePortRange } from "../helpers/child.ts";
import { until } from "../helpers/until.ts";

const hasScript = (() => {
  try {
    return existsSync(execFileSync("sh", ["-c", "command -v script"], { encoding: "utf8" }).trim());
  } catch {
    return false;
  }
})();

describe.skipIf(!hasScript)("pouw devnet on a terminal", () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-devnet-tty-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("relays the validators' logs as human lines and stops them on Ctrl-C", async () => {
    const rpcBase = await freePortRange(2);
    const p2pBase = await freePortRange(2);
    const args = [process.execPath, CLI, "devnet", "--validators", "2", "--dir", join(dir, "net"), "--rpc-base-port", String(rpcBase), "--p2p-base-port", String(p2pBase), "--block-time", "300"];
    // `script` runs the command with $SHELL -c. The command is exec'd, so the devnet itself is what Ctrl-C reaches
    // and what `script -e` reports: dash (CI's /bin/sh) would otherwise wait as the parent and die of the SIGINT (130).
    const env: NodeJS.ProcessEnv = { ...process.env, SHELL: "/bin/sh" };
    delete env.POUW_LOG_FORMAT;
    const proc = spawn("script", ["-qec", `exec ${args.map((a) => `'${a}'`).join(" ")}`, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.on("exit", r));
    try {
      await until(() => out, (o) => o.includes("validators are up"), 90_000, "the devnet to start", 100);
      // Both validators commit blocks, and say so.
      await until(() => out, (o) => /\[validator-0\].*ommitted/.test(o) && /\[validator-1\].*ommitted/.test(o), 60_000, "block lines from both validators", 100);
      // eslint-disable-next-line no-control-regex
      const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
      const lines = plain.split(/\r?\n/).filter((l) => l.startsWith("[validator-"));
      expect(lines.length).toBeGreaterThan(4);
      expect(lines.filter((l) => /^\[validator-\d\] \{/.test(l))).toEqual([]);
      expect(lines.filter((l) => /^\[validator-\d\] \[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|DEBUG|ERROR)/.test(l)).length).toBeGreaterThan(4);
    } finally {
      proc.stdin.write("\x03");
    }
    expect(await exited).toBe(0);
    // Ctrl-C stopped the validators too: nothing answers on their RPC ports.
    for (const port of [rpcBase, rpcBase + 1]) {
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    }
  }, 180_000);
});
