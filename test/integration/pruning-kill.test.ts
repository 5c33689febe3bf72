/**
 * Pruning is crash-safe: a child process pruning a chain on disk (real
 * LevelDB, 16 KiB block-file segments) one height per batch is SIGKILLed at
 * varied moments, again and again; after every kill the chain reopens at the
 * same head and state root, every height from the persisted floor up has its
 * block, commit and receipts, none below it does, and no block file older
 * than the floor block's file is left.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { BlockLocation } from "../../node/db/blockfile.ts";
import { Bucket, getBytes, heightKey } from "../../node/db/database.ts";
import { toHex } from "../../node/util/hex.ts";
import { ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

const CHILD = fileURLToPath(new URL("../helpers/prune-child.ts", import.meta.url));
const net = makeTestNet({ accounts: 2, label: "prune-kill", params: { epochLength: 1000, signedBlocksWindow: 4 } });
const HEIGHT = 80;
const TARGET = 70;
const home = mkdtempSync(join(tmpdir(), "pouw-prune-kill-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const open = () => ChainDriver.open(net.genesisJson, net.validators, { dbDir: join(home, "db"), blocksDir: join(home, "blocks"), maxFileBytes: 16 * 1024 });

/** Runs the child until it has printed `lines` floors (then waits `delayMs` and kills it), or to the end. */
function runChild(lines: number, delayMs: number): Promise<string> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CHILD, home, join(home, "genesis.json"), String(TARGET)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let seen = 0;
    proc.stdout.on("data", (d: Buffer) => {
      out += d;
      const before = seen;
      seen = (out.match(/^floor /gm) ?? []).length;
      if (before < lines && seen >= lines) setTimeout(() => proc.kill("SIGKILL"), delayMs);
    });
    proc.stderr.on("data", (d: Buffer) => (out += d));
    proc.on("exit", () => resolve(out));
  });
}

async function check(d: ChainDriver, root: string): Promise<number> {
  const store = d.chain.store;
  expect(d.height).toBe(HEIGHT);
  expect(toHex(d.chain.world.root)).toBe(root);
  const floor = store.floor;
  for (let h = 1; h <= HEIGHT; h++) {
    const present = [await store.getBlockBytes(h), await store.getCommitBytes(h), await store.getReceipts(h)].map((x) => x !== undefined);
    expect(present, `height ${h} (floor ${floor})`).toEqual(h >= floor ? [true, true, true] : [false, false, false]);
  }
  const loc = await getBytes(d.db, Bucket.blockByHeight, heightKey(floor));
  const first = BlockLocation.deserialize(loc!).file;
  expect(store.files!.fileNumbers()[0]).toBe(first);
  return floor;
}

describe("pruning killed mid-run", { timeout: 180_000 }, () => {
  it("leaves a consistent store after every SIGKILL", async () => {
    writeFileSync(join(home, "genesis.json"), net.genesisJson);
    let d = await open();
    const [alice, bob] = net.accounts as [NonNullable<(typeof net.accounts)[0]>, NonNullable<(typeof net.accounts)[0]>];
    for (let i = 0; i < HEIGHT; i++) {
      const env = signedTransfer(alice, { chainId: net.chainId, nonce: BigInt(i), to: bob.address, amount: 1n }).env;
      await d.next([env]);
    }
    const root = toHex(d.chain.world.root);
    await d.close();
    let floor = 1;
    const kills = [
      [1, 0],
      [3, 1],
      [5, 0],
      [2, 2],
      [7, 0],
      [4, 1],
      [6, 3],
    ] as const;
    let killed = 0;
    for (const [lines, delay] of kills) {
      const out = await runChild(lines, delay);
      if (!out.includes("done")) killed++;
      d = await open();
      const now = await check(d, root);
      expect(now).toBeGreaterThanOrEqual(floor);
      floor = now;
      await d.close();
    }
    expect(killed).toBeGreaterThanOrEqual(5);
    expect(floor).toBeGreaterThan(1);
    const out = await runChild(1_000, 0);
    expect(out).toContain("done");
    d = await open();
    expect(await check(d, root)).toBe(TARGET);
    await d.close();
  });
});
