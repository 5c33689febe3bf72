/**
 * Throughput as a user of a real node gets it: `--validators` real `pouw
 * start` processes on 127.0.0.1 (default params and mempool limits, the
 * devnet's keys, 1,000 extra funded accounts), `--txs` pre-signed transfers
 * sent over JSON-RPC by `--clients` concurrent clients in batches of
 * `--batch` `pouw_sendRawTransaction` calls (client k sends to validator
 * k mod V; the others get the transfers by gossip). Prints:
 *   - admitted/s: transfers accepted, over the time until the last response;
 *   - finalized/s: transfers in committed blocks (newHeads on validator 0),
 *     over the time until the last is in a block;
 *   - the same-run ceiling: two worker threads doing nothing but ML-DSA
 *     verification of the same transfers, measured in this process before
 *     the nodes start (so nothing competes with it), and finalized/s as a
 *     share of it.
 * The in-process harness of earlier rounds is `npm run bench:throughput:harness`.
 *
 *   npm run bench:throughput [-- --txs 20000 --clients 8 --batch 100 --validators 1]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { presign } from "./presign.ts";
import { parseArgs } from "node:util";
import { prepareDevnet } from "../node/cli/devnet.ts";
import { PouwClient } from "../node/client/client.ts";
import { AccountKey } from "../node/crypto/keys.ts";
import { hasNativeMlDsa } from "../node/crypto/mldsa.ts";
import type { VerifyItem } from "../node/mempool/verifier.ts";
import { verificationCeiling } from "./ceiling.ts";
import { DEFAULT_PARAMS, paramsToJson } from "../node/types/params.ts";
import { decodeTransaction } from "../node/types/txcodec.ts";
import { toHex } from "../node/util/hex.ts";
import { freePortRange } from "../test/helpers/child.ts";

const { values } = parseArgs({
  options: {
    txs: { type: "string", default: "20000" },
    accounts: { type: "string", default: "1000" },
    clients: { type: "string", default: "8" },
    batch: { type: "string", default: "100" },
    validators: { type: "string", default: "1" },
  },
});
const TXS = Number(values.txs);
const ACCOUNTS = Number(values.accounts);
const CLIENTS = Number(values.clients);
const BATCH = Number(values.batch);
const V = Number(values.validators);
const PER_ACCOUNT = Math.ceil(TXS / ACCOUNTS);
const LABEL = "bench-rpc";
const CLI = fileURLToPath(new URL("../node/cli/main.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** The transfers' signatures as the node's workers check them (for the same-run ceiling). */
function verifyItems(raw: Uint8Array[]): VerifyItem[] {
  return raw.slice(0, 10_000).map((b) => {
    const e = decodeTransaction(b);
    return { publicKey: e.signed.tx.publicKey, message: e.signingMessage, signature: e.signed.signature };
  });
}

/**
 * CPU of the node processes by kind of thread, in clock ticks (100 a second here): the event loop
 * ("main"), the signature workers ("workers"), V8's helpers (GC, compilation), libuv's pool (file I/O).
 */
function threadTicks(children: readonly ChildProcess[]): Map<string, number> {
  const kinds: Record<string, string> = { MainThread: "main", WorkerThread: "workers", V8Worker: "v8", "libuv-worker": "libuv" };
  const out = new Map<string, number>();
  for (const c of children) {
    for (const tid of readdirSync(`/proc/${c.pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${c.pid}/task/${tid}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
        const kind = kinds[name] ?? "other";
        out.set(kind, (out.get(kind) ?? 0) + Number(f[11]) + Number(f[12]));
      } catch {
        // the thread ended between listing and reading
      }
    }
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pouw-bench-rpc-"));
  const rpcBase = await freePortRange(V);
  const p2pBase = await freePortRange(V);
  const { homes, rpc } = await prepareDevnet(V, dir, rpcBase, p2pBase, { params: paramsToJson(DEFAULT_PARAMS) });
  const genesis = JSON.parse(readFileSync(join(dir, "genesis.json"), "utf8")) as { chainId: string; accounts: { address: string; balance: string }[] };
  for (let i = 0; i < ACCOUNTS; i++) genesis.accounts.push({ address: AccountKey.fromLabel(`${LABEL}/account/${i}`).bech32, balance: "1000000000000000" });
  const genesisJson = JSON.stringify(genesis);
  for (const h of homes) writeFileSync(join(h, "genesis.json"), genesisJson);

  console.log(`bench:throughput — ${TXS} transfers from ${ACCOUNTS} accounts over JSON-RPC to ${V} \`pouw start\` process(es), ${CLIENTS} clients, batches of ${BATCH}; Node ${process.version}, ML-DSA ${hasNativeMlDsa() ? "native" : "noble"}`);
  let t = performance.now();
  const raw = await presign({ chainId: genesis.chainId, label: LABEL, accounts: ACCOUNTS, perAccount: PER_ACCOUNT, total: TXS });
  const hex = raw.map((b) => toHex(b));
  console.log(`pre-signed ${raw.length} transfers in ${((performance.now() - t) / 1000).toFixed(1)} s (not measured)`);
  const ceil = await verificationCeiling(verifyItems(raw), ACCOUNTS);
  console.log(`verification ceiling (two worker threads, this run): ${ceil.toFixed(0)} signatures/s`);

  const children: ChildProcess[] = homes.map((home) => spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean), CLI, "start", "--home", home, "--json-logs", "--log-level", process.env.BENCH_LOG_LEVEL ?? "warn"], { stdio: ["ignore", process.env.BENCH_LOG_LEVEL ? "inherit" : "ignore", "inherit"] }));
  try {
    const clients = rpc.map((u) => new PouwClient(u));
    for (;;) {
      const hs = await Promise.all(clients.map((c) => c.chainInfo().then((i) => i.height, () => -1)));
      if (hs.every((h) => h >= 2)) break;
      await sleep(100);
    }
    // Finalized transfers, counted from the heads validator 0 announces.
    let finalized = 0;
    let lastBlockAt = 0;
    let blocks = 0;
    let largest = 0;
    const unsubscribe = await clients[0]!.subscribeNewHeads((head) => {
      if (head.txCount === 0) return;
      finalized += head.txCount;
      blocks++;
      largest = Math.max(largest, head.txCount);
      lastBlockAt = performance.now();
    });

    // Request bodies are encoded before the clock starts: a wallet's encoding is not the node's work, and the clients share this machine's cores with it.
    const bodies: Buffer[] = [];
    for (let from = 0; from < hex.length; from += BATCH) {
      bodies.push(Buffer.from(JSON.stringify(hex.slice(from, from + BATCH).map((h, i) => ({ jsonrpc: "2.0", id: from + i + 1, method: "pouw_sendRawTransaction", params: [h] })))));
    }
    let next = 0;
    let admitted = 0;
    const errors = new Map<string, number>();
    let lastResponseAt = 0;
    const client = async (k: number) => {
      const url = rpc[k % V]!;
      for (;;) {
        const body = bodies[next++];
        if (body === undefined) return;
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
        const out = (await res.json()) as { result?: unknown; error?: { data?: { code?: string }; message: string } }[];
        for (const r of out) {
          if (r.result) admitted++;
          else {
            const code = r.error?.data?.code ?? r.error?.message ?? "?";
            errors.set(code, (errors.get(code) ?? 0) + 1);
          }
        }
        lastResponseAt = performance.now();
      }
    };
    const nodeCpu0 = threadTicks(children);
    const benchCpu0 = process.cpuUsage();
    t = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k)));
    const deadline = performance.now() + 120_000;
    while (finalized < admitted && performance.now() < deadline) await sleep(20);
    unsubscribe();
    const nodeCpu = threadTicks(children);
    const span = (performance.now() - t) / 1000;
    const coresOf = (k: string) => ((nodeCpu.get(k) ?? 0) - (nodeCpu0.get(k) ?? 0)) / 100 / span;
    const nodeCores = [...nodeCpu.keys()].reduce((n, k) => n + coresOf(k), 0);
    const b = process.cpuUsage(benchCpu0);
    const benchCores = (b.user + b.system) / 1e6 / ((performance.now() - t) / 1000);
    const admitS = (lastResponseAt - t) / 1000;
    const finalS = (lastBlockAt - t) / 1000;
    const finalTps = finalized / finalS;
    console.log(`admitted   ${admitted} in ${admitS.toFixed(2)} s = ${(admitted / admitS).toFixed(0)} tx/s${errors.size ? `; refused ${JSON.stringify(Object.fromEntries(errors))}` : ""}`);
    console.log(`finalized  ${finalized} in ${finalS.toFixed(2)} s = ${finalTps.toFixed(0)} tx/s (${blocks} blocks, largest ${largest}) = ${((100 * finalTps) / ceil).toFixed(0)} % of the ceiling`);
    console.log(`cores busy ${nodeCores.toFixed(2)} in the node process(es), ${benchCores.toFixed(2)} in this one (the clients) — of ${availableParallelism()}`);
    console.log(`  node threads: ${[...nodeCpu.keys()].sort().map((k) => `${k} ${coresOf(k).toFixed(2)}`).join(", ")}`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
