/**
 * Bounded history over a long run (decision 0010): one validator's chain on
 * disk (real LevelDB, block files in 64 MiB segments — or smaller with
 * --segment-kib), a transfer in every block and a job posted every 50 blocks
 * (left to expire), pruned to the last --keep blocks, or archive. Expired
 * jobs leave the live state --job-retention blocks after they ended, and
 * checkpoints and withdrawals after --settlement-retention epochs (genesis
 * params; 0 keeps them). Prints the block files' bytes, the LevelDB
 * directory's bytes, the RSS and the live state's job slots every --every
 * blocks, so flatness after the window can be read off.
 *
 *   node --expose-gc bench/pruning.ts --blocks 50000 --keep 1000 [--archive] [--segment-kib 1024] [--job-retention 1000] [--settlement-retention 10]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Blockchain, genesisFileHash } from "../node/chain/blockchain.ts";
import { voteSigningMessage } from "../node/chain/commit.ts";
import { Pruner } from "../node/chain/pruner.ts";
import { AccountKey } from "../node/crypto/keys.ts";
import { openDb } from "../node/db/database.ts";
import { syntheticDataset } from "../node/pouw/datasets.ts";
import { f32ToBits } from "../node/pouw/training.ts";
import { VoteType, type CommitT } from "../node/types/block.ts";
import { parseGenesis } from "../node/types/genesis.ts";
import { TxSelector } from "../node/types/transaction.ts";
import { toHex } from "../node/util/hex.ts";
import { makeTestNet } from "../test/helpers/genesis.ts";
import { signedTransfer, signedTx } from "../test/helpers/tx.ts";

const { values: a } = parseArgs({
  options: {
    blocks: { type: "string", default: "20000" },
    keep: { type: "string", default: "1000" },
    every: { type: "string", default: "" },
    archive: { type: "boolean", default: false },
    "segment-kib": { type: "string", default: "65536" },
    "job-retention": { type: "string", default: "1000" },
    "settlement-retention": { type: "string", default: "10" },
  },
});
const JOB_RETENTION = Number(a["job-retention"]);
const SETTLEMENT_RETENTION = Number(a["settlement-retention"]);
const BLOCKS = Number(a.blocks);
const KEEP = Number(a.keep);
const EVERY = Number(a.every || Math.max(1000, Math.floor(BLOCKS / 10)));
const data = syntheticDataset({ seed: "bench-pruning", features: 8, classes: 3, train: 64, validation: 16 });
const net = makeTestNet({
  accounts: 2,
  label: "bench-pruning",
  params: { epochLength: 100, signedBlocksWindow: 100, attestationDeadline: 20, challengeWindow: 10, jobRetentionBlocks: JOB_RETENTION, settlementRetentionEpochs: SETTLEMENT_RETENTION },
  datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 64, validation: 16 }],
});
const [alice, bob] = net.accounts as [AccountKey, AccountKey];
const dir = mkdtempSync(join(tmpdir(), "pouw-bench-pruning-"));
const bytes = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? bytes(join(d, e.name)) : statSync(join(d, e.name)).size), 0);
const db = await openDb(join(dir, "db"));
const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson), join(dir, "blocks"), { maxFileBytes: Number(a["segment-kib"]) * 1024 });
const pruner = a.archive ? null : new Pruner(chain, { keep: KEEP });
pruner?.start();
console.log(JSON.stringify({ blocks: BLOCKS, keep: a.archive ? "archive" : KEEP, segmentKiB: Number(a["segment-kib"]), jobRetentionBlocks: JOB_RETENTION, settlementRetentionEpochs: SETTLEMENT_RETENTION }));
let nonce = 0n;
const t0 = performance.now();
for (let h = 1; h <= BLOCKS; h++) {
  const txs = [signedTransfer(alice, { chainId: net.chainId, nonce: nonce++, to: bob.address, amount: 1n }).env];
  if (h % 50 === 0) {
    const spec = { datasetId: data.id, layers: [8, 16, 3], learningRateBits: f32ToBits(0.1), momentumBits: f32ToBits(0.9), batchSize: 8, steps: 40, segmentLength: 10, seed: new Uint8Array(32).fill(9), targetMetric: 0, targetThreshold: 8000, deadline: h + 30 };
    txs.push(signedTx(alice, { chainId: net.chainId, nonce: nonce++, body: { selector: TxSelector.CreateJob, value: { spec, reward: 10n, workerBond: 1n } }, gasLimit: 1_000_000 }).env);
  }
  const built = chain.build({ time: chain.head.header.time + 1000, proposer: net.validator.address, candidates: txs });
  if (built.result.txs.length !== txs.length) throw new Error(`block ${h}: ${built.result.dropped.map((d) => d.error.message).join("; ")}`);
  const msg = voteSigningMessage(chain.ctx.chainId, VoteType.Precommit, h, 0, built.hash);
  const commit: CommitT = { height: h, round: 0, blockHash: built.hash, signatures: [{ validator: net.validator.address, signature: net.validator.sign(msg) }] };
  await chain.commit(built.block, built.hash, built.result, commit);
  if (h % EVERY === 0) {
    await pruner?.idle();
    globalThis.gc?.();
    console.log(JSON.stringify({ height: h, floor: chain.store.floor, blockFilesBytes: bytes(join(dir, "blocks")), levelDbBytes: bytes(join(dir, "db")), rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20), externalMiB: Math.round(process.memoryUsage().external / 2 ** 20), jobSlots: chain.world.jobs.length, liveJobs: chain.world.jobIndex.size, checkpoints: chain.world.checkpoints.length, jobIndex: chain.world.jobWakes?.size ?? 0, seconds: Math.round((performance.now() - t0) / 1000) }));
  }
}
await pruner?.stop();
await chain.close();
await db.close();
rmSync(dir, { recursive: true, force: true });
