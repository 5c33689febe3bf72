/**
 * --halt-height (an upgrade at an agreed height, as the Cosmos SDK's
 * halt-height): a `pouw start` process commits that block, signs nothing
 * later, closes and exits 86; started again at or past it, it refuses and
 * says where it is; with a later halt height it goes on to that one. A
 * follower syncing from a validator that is far ahead imports up to the
 * halt height and not one block more.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../node/node.ts";
import { CLI, freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { until } from "../helpers/until.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs `pouw start` to its end: exit status and output. */
function run(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, "start", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const t = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`pouw start ${args.join(" ")} still running after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

describe("pouw start --halt-height", { timeout: 120_000 }, () => {
  it("stops after committing the halt height (exit 86), refuses to start at it, and goes on to a later one", async () => {
    const home = mkdtempSync(join(tmpdir(), "pouw-halt-"));
    dirs.push(home);
    const base = ["--devnet", "--home", home, "--rpc-port", String(await freePort()), "--block-time", "200", "--no-worker", "--json-logs"];
    const first = await run([...base, "--halt-height", "5"]);
    expect(first.code, first.out).toBe(86);
    const committed = first.out.split("\n").filter((l) => l.includes('"Committed block"')).map((l) => (JSON.parse(l) as { height: number }).height);
    expect(Math.max(...committed), "the last block committed").toBe(5);
    expect(first.out).toMatch(/Reached the halt height 5: stopped/);

    const again = await run([...base, "--halt-height", "5"]);
    expect(again.code).toBe(86);
    expect(again.out).toMatch(/is at height 5, at or past --halt-height 5: it halted there; start without --halt-height \(or with a later one\) once upgraded/);

    const later = await run([...base, "--halt-height", "8"]);
    expect(later.code, later.out).toBe(86);
    expect(later.out).toMatch(/Reached the halt height 8: stopped/);
    expect((await run([...base, "--halt-height", "3"])).out).toMatch(/is at height 8, at or past --halt-height 3/);

    const bad = await run([...base, "--halt-height", "0"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/--halt-height must be a block height \(a whole number ≥ 1\), got "0"/);
  });
});

describe("a follower with a halt height", { timeout: 120_000 }, () => {
  const net = makeTestNet({ validators: 1, accounts: 1, label: "halt-follower" });
  const nodes: PouwNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("syncs from a validator well ahead of it up to the halt height and no further", async () => {
    const key = await generateKeyPair("Ed25519");
    const port = await freePort();
    const validator = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validators[0]!, rpc: null, blockTimeMs: 100, verifierThreads: 0, network: { listen: [`/ip4/127.0.0.1/tcp/${port}`], peerKey: key.raw } });
    nodes.push(validator);
    await validator.start();
    await until(() => validator.chain.head.header.height, (h) => h >= 20, 30_000, "height 20 on the validator");
    let halted: number | null = null;
    const follower = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      verifierThreads: 0,
      haltHeight: 7,
      onHalt: (h) => (halted = h),
      network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(key).toString()}`] },
    });
    nodes.push(follower);
    await follower.start();
    await until(() => halted, (h) => h !== null, 30_000, "the follower to halt");
    expect(halted).toBe(7);
    expect(follower.haltedAt).toBe(7);
    // A while later, with the validator still producing blocks: still at 7.
    const ahead = validator.chain.head.header.height;
    await until(() => validator.chain.head.header.height, (h) => h >= ahead + 10, 30_000, "ten more blocks on the validator");
    expect(follower.chain.head.header.height).toBe(7);
  });
});
