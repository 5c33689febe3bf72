/**
 * `npm run bench:state-scale [-- --sizes 1000,100000,1000000,10000000 --rounds 5]`:
 * a real `pouw start` process (one validator, default params) on a genesis
 * of N accounts, for each N:
 *   - first start: seconds to the first block, RSS after 5 blocks;
 *   - block execution p50 for blocks of 4,000 transfers (senders among the
 *     first accounts, recipients spread over all N), from the node's own
 *     "Built proposal" log line;
 *   - restart (SIGTERM, start again): seconds from spawn to the first new
 *     block, where the state came from, and RSS after 5 blocks;
 *   - disk size of the home.
 * Genesis up to 1,000,000 accounts is inline JSON (what operators write); above,
 * an `accountsFile` (a JSON string cannot hold ten million accounts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { initHome } from "../node/cli/home.ts";
import { AnchorKey } from "../node/crypto/anchor-key.ts";
import { encodeAddress } from "../node/crypto/address.ts";
import { AccountKey } from "../node/crypto/keys.ts";
import { SignedTransaction, TxSelector } from "../node/types/transaction.ts";
import { signTransaction } from "../node/types/txcodec.ts";
import { utf8 } from "../node/util/hex.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,100000,1000000,10000000" },
    rounds: { type: "string", default: "5" },
    txs: { type: "string", default: "4000" },
    keep: { type: "boolean", default: false },
    "inline-max": { type: "string", default: "100000" },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const ROUNDS = Number(values.rounds);
const TXS = Number(values.txs);
const CLI = fileURLToPath(new URL("../node/cli/main.ts", import.meta.url));
const CHAIN_ID = "pouw-state-scale";
/** The first run's block time: long enough that a round's transfers arrive before the next proposal. The restart runs at the default. */
const BLOCK_TIME = 2000;
/** Genesis files up to this many accounts list them inline; above, an accountsFile (docs/decisions/0011-state-off-the-heap.md). */
const INLINE_MAX = Number(values["inline-max"]);

async function freePort(): Promise<number> {
  for (;;) {
    const p = 20_000 + Math.floor(Math.random() * 40_000);
    const ok = await new Promise<boolean>((r) => {
      const s = createServer();
      s.once("error", () => r(false));
      s.listen(p, "127.0.0.1", () => s.close(() => r(true)));
    });
    if (ok) return p;
  }
}

const validator = AccountKey.fromLabel("state-scale/validator");

/** Writes the genesis; returns its path and a sample of up to 20,000 account addresses spread over all of them. */
async function writeGenesis(dir: string, n: number, senders: AccountKey[]): Promise<{ path: string; sample: Uint8Array[] }> {
  const sample: Uint8Array[] = [];
  const every = Math.max(1, Math.floor(n / 20_000));
  const address = (i: number): string => {
    const a = i < senders.length ? senders[i]!.address : new Uint8Array(randomBytes(20));
    if (i % every === 0) sample.push(a);
    return encodeAddress(a);
  };
  const balance = "1000000000000";
  const json: Record<string, unknown> = {
    chainId: CHAIN_ID,
    genesisTime: Date.now() - 1000,
    params: {},
    validators: [{ name: "v0", publicKey: Buffer.from(validator.publicKey).toString("hex"), anchorAddress: AnchorKey.fromSeed(validator.seed).address, power: "100" }],
  };
  const path = join(dir, "genesis.json");
  if (n <= INLINE_MAX) {
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`{"address":"${address(i)}","balance":"${balance}"}`);
    const text = JSON.stringify(json).slice(0, -1) + `,"accounts":[${parts.join(",")}]}`;
    writeFileSync(path, text);
    return { path, sample };
  }
  // Ten million lines: written in chunks, hashed as they go.
  const hash = createHash("sha256");
  const file = join(dir, "accounts.csv");
  const fd = createWriteStream(file);
  const CHUNK = 100_000;
  for (let from = 0; from < n; from += CHUNK) {
    let s = "";
    for (let i = from; i < Math.min(n, from + CHUNK); i++) s += `${address(i)},${balance}\n`;
    hash.update(s);
    fd.write(s);
  }
  await new Promise<void>((r) => fd.end(() => r()));
  json.accountsFile = { path: "accounts.csv", sha256: hash.digest("hex"), count: n };
  writeFileSync(path, JSON.stringify(json));
  return { path, sample };
}

interface Running {
  child: ChildProcess;
  spawnedAt: number;
  /** Resolves at the n-th "Committed block" after spawn. */
  blocks(n: number): Promise<number>;
  built: { txs: number; ms: number }[];
  loaded: Promise<{ from: string; ms: number; at: number }>;
  exited: Promise<void>;
}

function start(home: string, blockTime?: number): Running {
  const spawnedAt = performance.now();
  const args = [CLI, "start", "--home", home, "--no-worker", "--json-logs", "--log-level", "debug", ...(blockTime ? ["--block-time", String(blockTime)] : [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let committed = 0;
  const waiters: { n: number; resolve: (t: number) => void }[] = [];
  const built: { txs: number; ms: number }[] = [];
  let onLoaded: (v: { from: string; ms: number; at: number }) => void = () => {};
  const loaded = new Promise<{ from: string; ms: number; at: number }>((r) => (onLoaded = r));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let rec: { msg?: string; txs?: number; ms?: number; from?: string };
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if (rec.msg === "Committed block") {
      committed++;
      for (const w of waiters.filter((x) => x.n <= committed)) {
        w.resolve(performance.now() - spawnedAt);
        waiters.splice(waiters.indexOf(w), 1);
      }
    } else if (rec.msg === "Built proposal") built.push({ txs: rec.txs!, ms: rec.ms! });
    else if (rec.msg === "Loaded the state") onLoaded({ from: rec.from!, ms: rec.ms!, at: performance.now() - spawnedAt });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    spawnedAt,
    built,
    loaded,
    exited,
    blocks: (n) => (committed >= n ? Promise.resolve(performance.now() - spawnedAt) : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function rpcBatch(url: string, txs: Uint8Array[]): Promise<void> {
  const body = JSON.stringify(txs.map((t, id) => ({ jsonrpc: "2.0", id, method: "pouw_sendRawTransaction", params: ["0x" + Buffer.from(t).toString("hex")] })));
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const out = (await r.json()) as { error?: { message: string } }[] | { error: { message: string } };
  if (!Array.isArray(out)) throw new Error(`batch refused: ${out.error.message}`);
  const bad = out.filter((x) => x.error);
  if (bad.length > 0) throw new Error(`${bad.length} transactions refused: ${bad[0]!.error!.message}`);
}

async function height(url: string): Promise<number> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "pouw_chainInfo", params: [] }) });
  return ((await r.json()) as { result: { height: number } }).result.height;
}

const median = (xs: number[]) => (xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!);
const fmt = (n: number) => n.toLocaleString("en-US");

console.log(
  `bench:state-scale — one validator process, default params, blocks of ${TXS} transfers (block time ${BLOCK_TIME} ms; the restart at the default 1 s), ` +
    `genesis accounts inline up to ${fmt(INLINE_MAX)}, else an accountsFile, Node ${process.version}`,
);
const senderCount = Math.min(TXS, ...SIZES);
const senders = Array.from({ length: senderCount }, (_, i) => AccountKey.fromLabel(`state-scale/sender/${i}`));
const rows: string[] = [];
for (const n of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), "pouw-state-scale-"));
  const home = join(dir, "home");
  try {
    const tGen = performance.now();
    const { path: genesisPath, sample } = await writeGenesis(dir, n, senders);
    const genMs = performance.now() - tGen;
    await initHome(home, { genesisPath, validatorKey: validator, rpcPort: await freePort() });
    const url = `http://127.0.0.1:${JSON.parse(readFileSync(join(home, "config.json"), "utf8")).rpc.port}/`;

    // First start.
    let node = start(home, BLOCK_TIME);
    const firstBlock = await node.blocks(1);
    await node.blocks(5);
    const rssFirst = rssMiB(node.child.pid!);

    // Blocks of TXS transfers: each round signs the next nonce of every sender.
    const nonces = senders.map(() => 0n);
    for (let round = 0; round < ROUNDS; round++) {
      const txs: Uint8Array[] = [];
      for (let k = 0; k < TXS; k++) {
        const s = k % senderCount;
        // Recipients: existing accounts all over the tree.
        const to = sample[(k * 7919 + round * 104_729) % sample.length]!;
        const signed = signTransaction(
          { chainId: utf8(CHAIN_ID), nonce: nonces[s]!++, maxFeePerGas: 100n, maxPriorityFeePerGas: 2n, gasLimit: 40_000, body: { selector: TxSelector.Transfer, value: { to, amount: 1n } }, publicKey: senders[s]!.publicKey },
          senders[s]!,
        );
        txs.push(SignedTransaction.serialize(signed));
      }
      // Submit right after a commit, so the whole set lands in the next proposal.
      const h0 = await height(url);
      while ((await height(url)) === h0) await new Promise((r) => setTimeout(r, 20));
      // Batches of 100 (the RPC's limit), 8 in flight.
      const batches: Uint8Array[][] = [];
      for (let k = 0; k < txs.length; k += 100) batches.push(txs.slice(k, k + 100));
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let b = batches.shift(); b; b = batches.shift()) await rpcBatch(url, b);
      }));
      const target = (await height(url)) + 3;
      while ((await height(url)) < target) await new Promise((r) => setTimeout(r, 100));
    }
    const full = node.built.filter((b) => b.txs >= TXS * 0.9);
    const execP50 = median(full.map((b) => b.ms));
    const loadedFirst = await node.loaded;

    // Restart (default block time, 1 s).
    node.child.kill("SIGTERM");
    await node.exited;
    node = start(home);
    const loaded = await node.loaded;
    const restartMs = await node.blocks(1);
    await node.blocks(5);
    const rssRestart = rssMiB(node.child.pid!);
    node.child.kill("SIGTERM");
    await node.exited;
    const disk = execFileSync("du", ["-sm", home], { encoding: "utf8" }).split("\t")[0];
    const row =
      `  ${fmt(n).padStart(10)} accounts: RSS ${rssFirst.toFixed(0)} MiB after 5 blocks (restarted: ${rssRestart.toFixed(0)}), ` +
      `restart → first block ${(restartMs / 1000).toFixed(2)} s (state from ${loaded.from} in ${loaded.ms} ms, loaded ${(loaded.at / 1000).toFixed(2)} s after spawn), ` +
      `${TXS}-transfer block execution p50 ${execP50.toFixed(1)} ms (${full.length} blocks), disk ${disk} MiB; ` +
      `first start → first block ${(firstBlock / 1000).toFixed(1)} s (state from ${loadedFirst.from} in ${loadedFirst.ms} ms; genesis written in ${(genMs / 1000).toFixed(1)} s)`;
    console.log(row);
    rows.push(row);
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}
