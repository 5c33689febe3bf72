/**
 * `pouw start` and `pouw devnet` when they cannot start, as real processes:
 * a busy RPC port, a busy P2P port and a home another node holds each give
 * one line naming the port or the home and what to do, no stack trace, and
 * an exit status of their own; `pouw devnet` with one validator unable to
 * start stops the others and exits non-zero with that validator's reason.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { PouwClient } from "../../node/client/client.ts";
import { EXIT } from "../../node/cli/errors.ts";
import { CLI, freePort, freePortRange, startChild, type ChildNode } from "../helpers/child.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pouw-start-errors-"));
const env = { ...process.env, POUW_KEYRING: join(dir, "keyring"), POUW_HOME: join(dir, "default-home") };

async function pouw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, timeout: 150_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A plain TCP listener holding `port` on 127.0.0.1 (what another program on that port looks like). */
async function occupy(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once("error", reject).listen(port, "127.0.0.1", () => resolve()));
  return s;
}

/** Exactly one line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

describe("pouw start cannot start: one line, its own exit status", () => {
  const held: Server[] = [];
  let running: ChildNode | undefined;
  afterAll(async () => {
    for (const s of held) s.close();
    running?.proc.kill("SIGTERM");
    await running?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("a busy RPC port names the port and --rpc-port (exit 81)", async () => {
    const port = await freePort();
    held.push(await occupy(port));
    const r = await pouw("start", "--devnet", "--home", join(dir, "rpc-busy"), "--rpc-port", String(port), "--no-worker", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(EXIT.RPC_LISTEN_FAILED);
    expect(oneLine(r.stderr)).toBe(`error: RPC port 127.0.0.1:${port} is in use (another pouw node?): stop it or start with --rpc-port`);
  });

  it("a home another node holds names the home and --home (exit 80)", async () => {
    const home = join(dir, "shared-home");
    running = await startChild(home, await freePort(), ["--devnet", "--no-worker"]);
    const r = await pouw("start", "--home", home, "--rpc-port", String(await freePort()), "--no-worker", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(EXIT.HOME_IN_USE);
    expect(oneLine(r.stderr)).toBe(`error: home ${home} is in use by another pouw process (LevelDB lock): stop it or use --home`);
    expect((await running.client.chainInfo()).height).toBeGreaterThanOrEqual(0); // the first node is unharmed
  });

  it("a busy P2P port names the port and --p2p-port (exit 82)", async () => {
    const p2p = await freePort();
    held.push(await occupy(p2p));
    const r = await pouw("start", "--devnet", "--home", join(dir, "p2p-busy"), "--rpc-port", String(await freePort()), "--p2p-port", String(p2p), "--no-worker", "--log-level", "warn");
    expect(r.code, r.stderr).toBe(EXIT.P2P_LISTEN_FAILED);
    expect(oneLine(r.stderr)).toBe(`error: P2P port 127.0.0.1:${p2p} is in use (another pouw node?): stop it or start with --p2p-port`);
  });
});

describe("pouw devnet with a validator that cannot start", () => {
  it("stops every validator and exits non-zero with the reason", async () => {
    const rpcBase = await freePortRange(2);
    const p2pBase = await freePortRange(2);
    const blocker = await occupy(p2pBase + 1); // validator-1's P2P port
    try {
      const r = await pouw("devnet", "--validators", "2", "--dir", join(dir, "devnet"), "--rpc-base-port", String(rpcBase), "--p2p-base-port", String(p2pBase));
      expect(r.code, r.stdout + r.stderr).toBe(EXIT.P2P_LISTEN_FAILED);
      const last = r.stderr.trim().split("\n").pop()!;
      expect(last).toBe(`error: validator-1 could not start: P2P port 127.0.0.1:${p2pBase + 1} is in use (another pouw node?): stop it or start with --p2p-port; stopped the devnet`);
      expect(r.stdout).not.toMatch(/validators are up/);
      // No validator is left running: no process names a home of this devnet, and validator-0's RPC is gone.
      const ps = (await run("ps", ["-eo", "args"])).stdout;
      expect(ps.split("\n").filter((l) => l.includes(join(dir, "devnet")))).toEqual([]);
      await expect(new PouwClient(`http://127.0.0.1:${rpcBase}/`).chainInfo()).rejects.toThrow();
    } finally {
      blocker.close();
    }
  }, 180_000);
});
