/**
 * Old checkpoints and withdrawals leave the live state (decision 0010,
 * `settlementRetentionEpochs`), through the real chain code on a real
 * LevelDB: epoch E's checkpoint moves epoch E − N's record and withdrawals to
 * the archive buckets; the roots equal the keep-everything chain's until the
 * first trim; the trimmed state reloads to the same root (from lists, not the
 * incremental view); a batch import across trims gives the same state; and
 * the withdrawal proof of an archived epoch still verifies against its
 * checkpoint's withdrawals root.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bytesToHex } from "viem";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { checkpointRecord, epochWithdrawals } from "../../../node/chain/settlement-records.ts";
import { withdrawalLeaf } from "../../../node/chain/settlement.ts";
import type { AccountKey } from "../../../node/crypto/keys.ts";
import { Bucket, openDb } from "../../../node/db/database.ts";
import { settlementMethods } from "../../../node/rpc/settlement.ts";
import type { RpcNode } from "../../../node/rpc/methods.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { TxSelector } from "../../../node/types/transaction.ts";
import { withdrawalTree } from "../../../node/types/settlement.ts";
import { envelopeFromSigned } from "../../../node/types/txcodec.ts";
import { ChainDriver } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const L = 4;
const KEEP = 2;
const EPOCHS = 7;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const disk = () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-retention-"));
  dirs.push(dir);
  return { dbDir: join(dir, "data"), blocksDir: join(dir, "blocks") };
};
const withdraw = (n: number) => ({ selector: TxSelector.Withdraw, value: { domain: new Uint8Array(32).fill(0xd0), recipient: new Uint8Array(32).fill(n), amount: BigInt(1000 + n) } });

/** EPOCHS epochs, two withdrawals in most blocks (none in epoch 3: an epoch with an empty tree). */
async function run(keep: number) {
  const net = makeTestNet({ validators: 2, accounts: 3, label: "retention", params: { epochLength: L, settlementRetentionEpochs: keep } });
  const where = disk();
  const d = await ChainDriver.open(net.genesisJson, net.validators, where);
  for (let h = 1; h <= EPOCHS * L; h++) {
    const epoch = Math.floor((h - 1) / L) + 1;
    const txs = epoch === 3 ? [] : net.accounts.slice(0, 2).map((k: AccountKey, i) => d.sign(k, withdraw(h * 2 + i)));
    const r = await d.next(txs);
    expect(r.receipts.every((x) => x.status === 0)).toBe(true);
  }
  return { net, d, where };
}

describe("settlement records leaving the live state", () => {
  it("keeps the last N epochs' checkpoints and withdrawals, archives the rest, and reloads to the same root", async () => {
    const all = await run(0);
    const kept = await run(KEEP);
    try {
      // Nothing leaves before epoch KEEP + 1's checkpoint: a keep-everything chain accepts the same blocks (same state
      // roots) until then, and refuses that block's state root.
      const firstTrim = (KEEP + 1) * L;
      {
        const net0 = makeTestNet({ validators: 2, accounts: 3, label: "retention", params: { epochLength: L, settlementRetentionEpochs: 0 } });
        const where = disk();
        const db = await openDb(where.dbDir);
        const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net0.genesisJson)), genesisFileHash(net0.genesisJson), where.blocksDir);
        const items = [];
        for (let h = 1; h <= firstTrim; h++) items.push({ block: (await kept.d.chain.store.getBlock(h))!, commit: (await kept.d.chain.store.getCommit(h))! });
        const r = await chain.importBatch(items, { now: Date.now() + 10 ** 12 });
        expect(r.imported).toBe(firstTrim - 1);
        expect(String((r.error as Error).message)).toMatch(/state ?root/i);
        await chain.close();
        await db.close();
      }
      const w = kept.d.chain.world;
      expect(all.d.chain.world.checkpoints.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(w.checkpoints.map((c) => c.epoch)).toEqual([6, 7]);
      expect(w.lastEpoch).toBe(7);
      expect(w.checkpointBase).toBe(6);
      // Withdrawals from epoch 6 on (epoch 7 is finished and its checkpoint kept; no open-epoch ones yet).
      expect(new Set(w.withdrawals.map((x) => x.epoch))).toEqual(new Set([6, 7]));
      expect(w.withdrawalBase).toBe(w.checkpoints[0]!.firstWithdrawal);
      expect(w.withdrawalAt(w.withdrawalBase)).toBe(w.withdrawals[0]);
      // The records themselves are the keep-everything chain's (numbering and roots are global).
      const full = all.d.chain.world;
      expect(w.checkpoints.map((c) => bytesToHex(c.withdrawalsRoot))).toEqual(full.checkpoints.slice(5).map((c) => bytesToHex(c.withdrawalsRoot)));
      expect(w.withdrawals.map((x) => [x.epoch, x.index, x.amount])).toEqual(full.withdrawals.filter((x) => x.epoch >= 6).map((x) => [x.epoch, x.index, x.amount]));
      // On disk: the live tables hold only what stays; the archive the rest.
      const count = async (bucket: number) => {
        let n = 0;
        for await (const _ of kept.d.db.keys({ gte: Uint8Array.of(bucket), lt: Uint8Array.of(bucket + 1) })) n++;
        return n;
      };
      expect(await count(Bucket.checkpoint)).toBe(2);
      expect(await count(Bucket.checkpointArchive)).toBe(5);
      expect(await count(Bucket.withdrawal)).toBe(w.withdrawals.length);
      expect(await count(Bucket.withdrawalArchive)).toBe(full.withdrawals.length - w.withdrawals.length);
      // An archived epoch's proof still verifies against its (archived) checkpoint's root, through the RPC method.
      const rec = (await checkpointRecord(kept.d.chain, 2))!;
      expect(bytesToHex(rec.withdrawalsRoot)).toBe(bytesToHex(full.checkpoints[1]!.withdrawalsRoot));
      const leaves = (await epochWithdrawals(kept.d.chain, 2)).map((x) => withdrawalLeaf(kept.d.chain.ctx.chainId, x));
      expect(withdrawalTree(leaves).root).toBe(bytesToHex(rec.withdrawalsRoot));
      const node = { chain: kept.d.chain } as unknown as RpcNode;
      const byIndex = (await settlementMethods.pouw_getWithdrawalProof!(node, [{ epoch: 2, index: 1 }])) as { status: string; withdrawalsRoot: string; proof: string[] };
      expect(byIndex.status).toBe("checkpointed");
      expect(byIndex.withdrawalsRoot).toBe(bytesToHex(rec.withdrawalsRoot));
      // By transaction hash: block 1's second Withdraw (epoch 1, index 1), found through the transaction index.
      const oldTx = envelopeFromSigned((await kept.d.chain.store.getBlock(1))!.body.txs[1]!).hash;
      const byTx = (await settlementMethods.pouw_getWithdrawalProof!(node, [bytesToHex(oldTx)])) as { leaf: { epoch: number; index: number }; status: string };
      expect(byTx).toMatchObject({ status: "checkpointed", leaf: { epoch: 1, index: 1 } });
      expect(await epochWithdrawals(kept.d.chain, 3)).toEqual([]); // the empty epoch

      // Reload: the lists are read from their first key on and rebuilt into a view; the head's root must match (STATE_CORRUPT otherwise).
      const root = bytesToHex(kept.d.chain.world.root);
      await kept.d.close();
      const again = await ChainDriver.open(kept.net.genesisJson, kept.net.validators, kept.where);
      try {
        expect(bytesToHex(again.chain.world.root)).toBe(root);
        expect(again.chain.world.checkpoints.map((c) => c.epoch)).toEqual([6, 7]);
        // And it goes on trimming: one more epoch, with withdrawals.
        for (let h = 0; h < L; h++) await again.next(kept.net.accounts.slice(0, 1).map((k) => again.sign(k, withdraw(200 + h))));
        expect(again.chain.world.checkpoints.map((c) => c.epoch)).toEqual([7, 8]);
      } finally {
        await again.close();
      }

    } finally {
      await all.d.close();
      await kept.d.close().catch(() => undefined);
    }
  }, 120_000);

  it("a batch import across the trims (block sync) ends in the same state as committing block by block", async () => {
    const src = await run(KEEP);
    try {
      const where = disk();
      const db = await openDb(where.dbDir);
      const chain = await Blockchain.open(db, parseGenesis(JSON.parse(src.net.genesisJson)), genesisFileHash(src.net.genesisJson), where.blocksDir);
      const items = [];
      for (let h = 1; h <= src.d.height; h++) items.push({ block: (await src.d.chain.store.getBlock(h))!, commit: (await src.d.chain.store.getCommit(h))! });
      // Two batches, each spanning trims.
      for (const part of [items.slice(0, 17), items.slice(17)]) {
        const r = await chain.importBatch(part, { now: Date.now() + 10 ** 12 });
        expect(r.error).toBeUndefined();
      }
      expect(bytesToHex(chain.world.root)).toBe(bytesToHex(src.d.chain.world.root));
      expect(chain.world.checkpoints.map((c) => c.epoch)).toEqual([6, 7]);
      await chain.close();
      await db.close();
      // What the batch wrote reloads to the same root.
      const db2 = await openDb(where.dbDir);
      const reopened = await Blockchain.open(db2, parseGenesis(JSON.parse(src.net.genesisJson)), genesisFileHash(src.net.genesisJson), where.blocksDir);
      expect(bytesToHex(reopened.world.root)).toBe(bytesToHex(src.d.chain.world.root));
      expect(reopened.world.withdrawals.length).toBe(src.d.chain.world.withdrawals.length);
      await reopened.close();
      await db2.close();
    } finally {
      await src.d.close();
    }
  }, 120_000);
});
