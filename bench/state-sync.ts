/**
 * State sync at size (issue 14's full form): a 4-validator devnet of real
 * `pouw start` processes at height ≥ 20,000 with 100,000 accounts, then
 *   1. a fresh node joins with --state-sync from a block validator 0 reports,
 *   2. another fresh node joins by replaying every block from genesis,
 *   3. validator 3 loses its chain and rejoins by state sync, then signs.
 * Each prints the seconds from `pouw start` to the head.
 *
 * The history is built first, in this process, on validator 0's home: real
 * blocks with transfers, executed and committed by the node's Blockchain, each
 * commit signed by all four validator keys (what consensus would produce,
 * without waiting 20,000 block times), with the state snapshots a node makes
 * every --every blocks. The homes are copied to the other validators, which
 * then run as processes and carry the chain on with live consensus.
 *
 *   npm run bench:state-sync [-- --height 20000 --accounts 100000 --every 1000 --txs 2 --block-time 200]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Blockchain, genesisFileHash } from "../node/chain/blockchain.ts";
import { voteSigningMessage } from "../node/chain/commit.ts";
import { ProposerSet } from "../node/chain/proposer.ts";
import { prepareDevnet } from "../node/cli/devnet.ts";
import { encodeAddress } from "../node/crypto/address.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../node/crypto/keys.ts";
import { openDb } from "../node/db/database.ts";
import { addrKey } from "../node/state/world.ts";
import { StateSnapshots } from "../node/sync/snapshot-store.ts";
import { VoteType, type CommitT } from "../node/types/block.ts";
import { parseGenesis } from "../node/types/genesis.ts";
import { TxSelector } from "../node/types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../node/types/txcodec.ts";
import { utf8 } from "../node/util/hex.ts";
import { freePortRange } from "../test/helpers/child.ts";

const { values } = parseArgs({
  options: {
    height: { type: "string", default: "20000" },
    accounts: { type: "string", default: "100000" },
    every: { type: "string", default: "1000" },
    txs: { type: "string", default: "2" },
    "block-time": { type: "string", default: "200" },
    keep: { type: "boolean", default: false },
  },
});
const HEIGHT = Number(values.height);
const ACCOUNTS = Number(values.accounts);
const EVERY = Number(values.every);
const TXS = Number(values.txs);
const BLOCK_MS = Number(values["block-time"]);
const CLI = fileURLToPath(new URL("../node/cli/main.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }), signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result as T;
}
const height = (url: string) => rpc<{ height: number }>(url, "pouw_chainInfo").then((x) => x.height, () => -1);

const dir = mkdtempSync(join(tmpdir(), "pouw-bench-state-sync-"));
const rpcBase = await freePortRange(6);
const p2pBase = await freePortRange(6);
const { homes, rpc: urls } = await prepareDevnet(4, dir, rpcBase, p2pBase, { extra: 2 });

// The genesis: the devnet's, with ACCOUNTS more funded accounts and a genesis time far enough back for HEIGHT one-second blocks.
const genesis = JSON.parse(readFileSync(join(dir, "genesis.json"), "utf8")) as { genesisTime: number; accounts: { address: string; balance: string }[]; chainId: string };
const extra = (i: number) => createHash("sha256").update(`bench-state-sync/${i}`).digest().subarray(0, 20);
for (let i = 0; i < ACCOUNTS; i++) genesis.accounts.push({ address: encodeAddress(extra(i)), balance: "1000" });
genesis.genesisTime = (Math.floor(Date.now() / 1000) - HEIGHT - 7200) * 1000;
const genesisJson = JSON.stringify(genesis);
for (const h of [dir, ...homes]) writeFileSync(join(h, "genesis.json"), genesisJson);

// 1. The history, on validator 0's home.
const validators = [0, 1, 2, 3].map((i) => AccountKey.fromLabel(devValidatorLabel(i)));
const senders = [0, 1, 2, 3].map((i) => AccountKey.fromLabel(devAccountLabel(i)));
{
  const t0 = performance.now();
  const home = homes[0]!;
  mkdirSync(join(home, "state"), { recursive: true });
  const db = await openDb(join(home, "data"));
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(genesisJson), { dir: home }), genesisFileHash(genesisJson), join(home, "blocks"), { accountSnapshot: join(home, "state", "accounts.snapshot") });
  const snaps = new StateSnapshots(join(home, "state", "sync"), { every: EVERY, keep: 2 });
  chain.onAdopt((h, hash) => {
    if (snaps.due(h)) snaps.capture(chain.world, h, hash);
  });
  const byKey = new Map(validators.map((k) => [addrKey(k.address), k]));
  const nonces = senders.map(() => 0n);
  const chainId = utf8(genesis.chainId);
  for (let h = 1; h <= HEIGHT; h++) {
    const txs = Array.from({ length: TXS }, (_, k) => {
      const i = (h * TXS + k) % senders.length;
      const to = extra((h * 7919 + k * 104_729) % ACCOUNTS);
      const tx = { chainId, nonce: nonces[i]!++, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, gasLimit: 40_000, body: { selector: TxSelector.Transfer, value: { to, amount: 1n } }, publicKey: senders[i]!.publicKey };
      return envelopeFromSigned(signTransaction(tx, senders[i]!));
    });
    const { validators: set, priorities } = chain.world;
    const next = ProposerSet.fromPriorities(set.map((v, i) => ({ id: addrKey(v.address), power: v.power, priority: priorities[i]! }))).increment(1);
    const proposer = set.find((v) => addrKey(v.address) === next.proposer.id)!.address;
    const built = chain.build({ time: chain.head.header.time + 1000, proposer, candidates: txs, verified: () => true });
    if (built.result.txs.length !== TXS) throw new Error(`block ${h}: ${built.result.dropped.map((d) => d.error.code).join(",")}`);
    const msg = voteSigningMessage(chain.ctx.chainId, VoteType.Precommit, h, 0, built.hash);
    const commit: CommitT = { height: h, round: 0, blockHash: built.hash, signatures: set.map((v) => ({ validator: v.address, signature: byKey.get(addrKey(v.address))!.sign(msg) })) };
    await chain.commit(built.block, built.hash, built.result, commit);
    if (snaps.due(h)) await snaps.idle();
    if (h % 2000 === 0) console.error(`built ${h} blocks (${Math.round((performance.now() - t0) / 1000)} s)`);
  }
  await snaps.idle();
  await chain.close();
  await db.close();
  console.log(`history: ${HEIGHT} blocks, ${TXS} transfers each, ${genesis.accounts.length} accounts, snapshots at ${snaps.list().map((s) => s.height).join(", ")} (${Math.round((performance.now() - t0) / 1000)} s to build)`);
  for (const h of homes.slice(1, 4)) for (const d of ["data", "blocks", "state"]) cpSync(join(home, d), join(h, d), { recursive: true });
}

// 2. The validators, live.
const procs: (ChildProcess | null)[] = homes.map(() => null);
const logs: string[][] = homes.map(() => []);
function start(i: number, args: string[] = []): number {
  const t = Date.now();
  const p = spawn(process.execPath, [CLI, "start", "--home", homes[i]!, "--block-time", String(BLOCK_MS), "--json-logs", "--log-level", "info", "--no-worker", "--snapshot-every", String(EVERY), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  const onData = (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    logs[i]!.push(...lines);
  };
  p.stdout.on("data", onData);
  p.stderr.on("data", onData);
  procs[i] = p;
  return t;
}
async function stop(i: number): Promise<void> {
  const p = procs[i];
  if (!p) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await exited;
  procs[i] = null;
}
async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(200);
  }
}
const rssMiB = (i: number) => {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${procs[i]!.pid}/status`, "utf8"))![1]) / 1024);
  } catch {
    return NaN;
  }
};
const atHead = (i: number) => async () => {
  const [h0, hi] = await Promise.all([height(urls[0]!), height(urls[i]!)]);
  return hi >= 0 && hi >= h0 - 1;
};
const restoredLine = (i: number) =>
  logs[i]!.map((l) => (l.startsWith("{") ? (JSON.parse(l) as Record<string, unknown>) : null)).find((l) => l?.msg === "State sync: restored the state of the snapshot; block sync takes it to the head");

try {
  for (let i = 0; i < 4; i++) start(i);
  await until("the validators committing live", 120_000, async () => (await Promise.all(urls.slice(0, 4).map(height))).every((h) => h > HEIGHT + 3));
  const rows: string[] = [];

  // 3. A fresh node by state sync, from a block validator 0 reports.
  const trusted = await rpc<{ height: number; hash: string }>(urls[0]!, "pouw_getBlock", ["latest"]);
  let t0 = start(4, ["--state-sync", "--trust-height", String(trusted.height), "--trust-hash", trusted.hash]);
  await until("node 4 at the head by state sync", 300_000, atHead(4));
  const syncS = (Date.now() - t0) / 1000;
  const r4 = restoredLine(4)!;
  rows.push(`| fresh node, --state-sync | ${syncS.toFixed(1)} s | snapshot ${r4.height}, ${r4.accounts} accounts, ${r4.mb} MB from ${r4.peers} peers in ${((r4.ms as number) / 1000).toFixed(1)} s | ${rssMiB(4)} MiB |`);

  // 4. A fresh node replaying every block from genesis.
  t0 = start(5);
  await until("node 5 at the head by replay", 1_800_000, atHead(5));
  const replayS = (Date.now() - t0) / 1000;
  rows.push(`| fresh node, replay from genesis | ${replayS.toFixed(1)} s | every block from 1 | ${rssMiB(5)} MiB |`);

  // 5. Validator 3 loses its chain and rejoins by state sync, then signs.
  await stop(3);
  for (const d of ["data", "blocks", "state", "consensus-wal", "mempool.journal"]) rmSync(join(homes[3]!, d), { recursive: true, force: true });
  logs[3] = [];
  const t3 = await rpc<{ height: number; hash: string }>(urls[0]!, "pouw_getBlock", ["latest"]);
  t0 = start(3, ["--state-sync", "--trust-height", String(t3.height), "--trust-hash", t3.hash]);
  await until("validator 3 at the head by state sync", 300_000, atHead(3));
  const v3S = (Date.now() - t0) / 1000;
  const me = validators[3]!.bech32;
  await until("validator 3 signing again", 60_000, async () => {
    const b = await rpc<{ lastCommit: { signatures: { validator: string }[] } }>(urls[0]!, "pouw_getBlock", ["latest"]);
    return b.lastCommit.signatures.some((s) => s.validator === me);
  });
  const signS = (Date.now() - t0) / 1000;
  const r3 = restoredLine(3)!;
  rows.push(`| validator 3, chain lost, --state-sync | ${v3S.toFixed(1)} s (signing after ${signS.toFixed(1)} s) | snapshot ${r3.height} from ${r3.peers} peers in ${((r3.ms as number) / 1000).toFixed(1)} s | ${rssMiB(3)} MiB |`);

  const head = await height(urls[0]!);
  console.log(`\nstate sync: 4 validators at height ${head}, ${genesis.accounts.length} accounts, snapshots every ${EVERY} blocks, ${BLOCK_MS} ms blocks, Node ${process.version}\n`);
  console.log("| joining | start → head | how | RSS at the head |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
  console.log(`\nstate sync ${syncS.toFixed(1)} s against replay from genesis ${replayS.toFixed(1)} s: ${(replayS / syncS).toFixed(1)}x`);
} finally {
  for (let i = 0; i < procs.length; i++) await stop(i);
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
