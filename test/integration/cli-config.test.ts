/**
 * Homes and config.json as a user meets them, with real `pouw` processes:
 * `pouw init` and `pouw start` agree on the default home (--home, else
 * $POUW_HOME, else ~/.pouw); config.json's logLevel is honoured and
 * --log-level overrides it; --p2p-port on start turns networking on for a
 * home initialised without it; a config.json key of the wrong shape is one
 * clear error.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { PouwClient, type ChainInfo } from "../../node/client/client.ts";
import { AccountKey, devValidatorLabel } from "../../node/crypto/keys.ts";
import { CLI, freePort } from "../helpers/child.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pouw-cli-config-"));
/** The commands run from here (a default home must not land in the working directory). */
const cwd = join(dir, "cwd");
mkdirSync(cwd);
/** A clean environment: no POUW_HOME or POUW_LOG_LEVEL from the caller, HOME in the temp dir. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { POUW_HOME: _h, POUW_LOG_LEVEL: _l, ...rest } = process.env;
  return { ...rest, HOME: join(dir, "user"), POUW_KEYRING: join(dir, "keyring"), ...extra };
}

async function pouw(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, cwd });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Runs `pouw start …` until it serves RPC on `port`, reads chainInfo, stops it (SIGTERM) and returns what it logged. */
async function startOnce(env: NodeJS.ProcessEnv, port: number, args: string[]): Promise<{ info: ChainInfo; lines: { level: number; msg: string }[] }> {
  const proc = spawn(process.execPath, [CLI, "start", "--no-worker", "--json-logs", ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  const client = new PouwClient(`http://127.0.0.1:${port}/`);
  const deadline = Date.now() + 60_000;
  let info: ChainInfo | undefined;
  while (!info) {
    if (proc.exitCode !== null) throw new Error(`pouw start exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`pouw start did not serve RPC on ${port}:\n${out}`);
    info = await client.chainInfo().catch(() => undefined);
    if (!info) await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill("SIGTERM");
  expect(await exited, out).toBe(0);
  const lines = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
  return { info, lines };
}

const validator = AccountKey.fromLabel(devValidatorLabel(0)).bech32;

describe("one default home, config.json honoured, flags over it", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("init and start agree on the home: $POUW_HOME, else ~/.pouw", async () => {
    const home = join(dir, "env-home");
    const port = await freePort();
    const env = envWith({ POUW_HOME: home });
    const init = await pouw(env, "init", "--dev-validator", "0", "--rpc-port", String(port));
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(new RegExp(`^initialised ${home} \\(validator ${validator}\\)`));
    expect(existsSync(join(home, "config.json"))).toBe(true);
    expect(existsSync(join(cwd, ".pouw"))).toBe(false);
    const { info } = await startOnce(env, port, []); // no --home: the same $POUW_HOME
    expect(info.validator).toBe(validator);

    // Without $POUW_HOME both use ~/.pouw.
    mkdirSync(join(dir, "user"), { recursive: true });
    const port2 = await freePort();
    const plain = envWith({});
    expect((await pouw(plain, "init", "--dev-validator", "0", "--rpc-port", String(port2))).code).toBe(0);
    expect(existsSync(join(dir, "user", ".pouw", "config.json"))).toBe(true);
    expect(existsSync(join(cwd, ".pouw"))).toBe(false); // not the working directory
    expect((await startOnce(plain, port2, [])).info.validator).toBe(validator);
  });

  it("config.json logLevel is honoured; --log-level overrides it", async () => {
    const home = join(dir, "log-home");
    const port = await freePort();
    const env = envWith({});
    expect((await pouw(env, "init", "--home", home, "--dev-validator", "0", "--rpc-port", String(port))).code).toBe(0);
    const config = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(home, "config.json"), JSON.stringify({ ...config, logLevel: "warn" }));
    const quiet = await startOnce(env, port, ["--home", home]);
    expect(quiet.lines.filter((l) => l.level < 40), JSON.stringify(quiet.lines)).toEqual([]); // nothing below WARN
    const loud = await startOnce(env, port, ["--home", home, "--log-level", "info"]);
    expect(loud.lines.some((l) => l.level === 30 && l.msg === "JSON-RPC listening")).toBe(true);

    writeFileSync(join(home, "config.json"), JSON.stringify({ ...config, logLevel: "verbose" }));
    const bad = await pouw(env, "start", "--home", home, "--no-worker");
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(`error: ${join(home, "config.json")}: "logLevel" must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"`);
  });

  it("start --p2p-port turns networking on for a home initialised without it, with a lasting peer id; --rpc-port overrides config", async () => {
    const home = join(dir, "p2p-home");
    const env = envWith({});
    expect((await pouw(env, "init", "--home", home, "--dev-validator", "0")).code).toBe(0);
    const port = await freePort();
    const p2p = await freePort();
    const first = await startOnce(env, port, ["--home", home, "--rpc-port", String(port), "--p2p-port", String(p2p)]);
    expect(first.info.network).not.toBeNull();
    expect(existsSync(join(home, "keys", "node_key.json"))).toBe(true);
    const again = await startOnce(env, port, ["--home", home, "--rpc-port", String(port), "--p2p-port", String(p2p)]);
    expect(again.info.network!.peerId).toBe(first.info.network!.peerId);
    const refused = await pouw(env, "start", "--home", home, "--rpc-port", String(port), "--peers", "/ip4/127.0.0.1/tcp/1/p2p/x");
    expect(refused.stderr.trim()).toMatch(/^error: --peers needs networking, which this home's config.json leaves off \("p2p": null\): add --p2p-port$/);
  });
});
