/**
 * Bounded history on a real LevelDB with block files in small segments: a
 * pruner keeping the last N blocks deletes older blocks, commits, receipts,
 * hash and transaction index entries and the segment files that hold only
 * pruned blocks, keeps at least minRetained (an epoch: the last checkpoint's block), survives a stop
 * between its batch and its file deletion, and the chain reopens at the same
 * head and state root with the floor it reached.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { blockHash } from "../../../node/chain/block.ts";
import { Pruner, minRetained, parsePruning } from "../../../node/chain/pruner.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { toHex } from "../../../node/util/hex.ts";
import { ChainDriver } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const net = makeTestNet({
  accounts: 2,
  label: "pruning",
  params: { epochLength: 10, signedBlocksWindow: 4, attestationDeadline: 2, challengeWindow: 1 },
});
const [alice, bob] = net.accounts as [NonNullable<(typeof net.accounts)[0]>, NonNullable<(typeof net.accounts)[0]>];
const dirs: string[] = [];
const drivers: ChainDriver[] = [];
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openDisk(dir: string): Promise<ChainDriver> {
  const d = await ChainDriver.open(net.genesisJson, net.validators, { dbDir: join(dir, "db"), blocksDir: join(dir, "blocks"), maxFileBytes: 16 * 1024 });
  drivers.push(d);
  return d;
}

const blocksBytes = (dir: string) => readdirSync(join(dir, "blocks")).reduce((s, f) => s + statSync(join(dir, "blocks", f)).size, 0);

/** `n` blocks, each with one transfer (so each has a receipt and a tx-index entry). */
async function grow(d: ChainDriver, n: number, txs: TxEnvelope[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const nonce = d.chain.world.getAccount(alice.address)?.nonce ?? 0n;
    const env = signedTransfer(alice, { chainId: net.chainId, nonce, to: bob.address, amount: 1n }).env;
    txs.push(env);
    await d.next([env]);
  }
}

describe("pruning", () => {
  it("keeps the last N blocks and their index, deletes the rest and whole segment files, and reopens at the same head", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pouw-prune-"));
    dirs.push(dir);
    let d = await openDisk(dir);
    const txs: TxEnvelope[] = [];
    await grow(d, 65, txs);
    const hashes = await Promise.all(Array.from({ length: 66 }, async (_, h) => (h === 0 ? null : blockHash((await d.chain.store.getBlock(h))!.header))));
    const before = blocksBytes(dir);
    const filesBefore = d.chain.store.files!.fileNumbers();
    const pruner = new Pruner(d.chain, { keep: 20, batchHeights: 7 });
    expect(pruner.keep).toBe(20);
    pruner.start();
    await pruner.idle();
    // head 65, keep 20 → floor 46, but the last checkpoint (epoch 6, block 60) stays: min(46, 60) = 46.
    const store = d.chain.store;
    expect(store.floor).toBe(46);
    for (let h = 1; h < 46; h++) {
      expect(await store.getBlockBytes(h), `block ${h}`).toBeUndefined();
      expect(await store.getCommitBytes(h)).toBeUndefined();
      expect(await store.getReceipts(h)).toBeUndefined();
      expect(await store.getHeightByHash(hashes[h]!)).toBeUndefined();
      expect(await store.getTxLocation(txs[h - 1]!.hash)).toBeUndefined();
      expect(store.isPruned(h)).toBe(true);
    }
    for (let h = 46; h <= 65; h++) {
      expect((await store.getBlock(h))?.header.height).toBe(h);
      expect(await store.getCommit(h)).toBeDefined();
      expect((await store.getReceipts(h))?.length).toBe(1);
      expect(await store.getHeightByHash(hashes[h]!)).toBe(h);
      expect(await store.getTxLocation(txs[h - 1]!.hash)).toEqual({ height: h, index: 0 });
    }
    expect(await store.getBlockBytes(0)).toBeUndefined(); // genesis went with the first batch (the genesis file rebuilds it)
    const filesAfter = store.files!.fileNumbers();
    expect(filesAfter.length).toBeLessThan(filesBefore.length);
    expect(blocksBytes(dir)).toBeLessThan(before / 2);

    // More blocks: the pruner follows the head in the background.
    await grow(d, 10, txs);
    await pruner.idle();
    expect(store.floor).toBe(56);
    await pruner.stop();

    const root = toHex(d.chain.world.root);
    await d.close();
    drivers.pop();
    d = await openDisk(dir);
    expect(d.height).toBe(75);
    expect(toHex(d.chain.world.root)).toBe(root);
    expect(d.chain.store.floor).toBe(56);
    expect(await d.chain.store.getBlockBytes(55)).toBeUndefined();
    expect((await d.chain.store.getBlock(56))?.header.height).toBe(56);
    await grow(d, 1, txs); // still commits
    expect(d.height).toBe(76);
  });

  it("keeps at least what the node reads back (minRetained ≥ an epoch, so the last checkpoint's block too)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pouw-prune-"));
    dirs.push(dir);
    const d = await openDisk(dir);
    await grow(d, 38, []);
    const pruner = new Pruner(d.chain, { keep: 1 });
    expect(pruner.keep).toBe(minRetained(d.chain.params)); // 1 asked, 12 kept
    pruner.start();
    await pruner.idle();
    await pruner.stop();
    // head 38, keep 12 → 27; the last checkpoint is block 30 (epoch 3), above it: 27.
    expect(d.chain.store.floor).toBe(27);
    await grow(d, 2, []);
    // head 40: 40 - 12 + 1 = 29, below the checkpoint at 40.
    const p2 = new Pruner(d.chain, { keep: 1 });
    p2.start();
    await p2.idle();
    await p2.stop();
    expect(d.chain.store.floor).toBe(29);
    expect(d.chain.world.checkpoints.at(-1)!.height).toBe(40);
    for (const c of d.chain.world.checkpoints.slice(-2)) expect((await d.chain.store.getBlock(c.height))?.header.height).toBe(c.height);
  });

  it("a stop between the prune batch and the file deletion is finished when the store reopens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pouw-prune-"));
    dirs.push(dir);
    let d = await openDisk(dir);
    await grow(d, 40, []);
    const files = d.chain.store.files!;
    const count = files.fileNumbers().length;
    // The batch lands; the process "dies" before deleting any file.
    files.deleteBefore = async () => {
      throw new Error("killed");
    };
    await expect(d.chain.store.prune(25)).rejects.toThrow("killed");
    expect(files.fileNumbers().length).toBe(count);
    await d.close();
    drivers.pop();
    d = await openDisk(dir);
    expect(d.chain.store.floor).toBe(25);
    expect(d.chain.store.files!.fileNumbers().length).toBeLessThan(count);
    for (let h = 25; h <= 40; h++) expect((await d.chain.store.getBlock(h))?.header.height).toBe(h);
  });

  it("parses --pruning", () => {
    expect(parsePruning("archive")).toBe("archive");
    expect(parsePruning("100000")).toEqual({ keep: 100_000 });
    expect(parsePruning(50)).toEqual({ keep: 50 });
    for (const bad of ["0", "-1", "1.5", "lots", "", 0, null, undefined]) expect(parsePruning(bad)).toBeNull();
  });
});
