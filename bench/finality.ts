/**
 * Finality latency: 4 validator processes on 127.0.0.1 (as `pouw devnet`)
 * with the default timeouts and block time; transfers are submitted one at a
 * time to random validators and each is timed from submission until the
 * block holding it is announced as committed (newHeads over WebSocket).
 * With `--load R`, other accounts keep R pre-signed transfers a second
 * flowing to the four validators meanwhile (batches of 50 over JSON-RPC),
 * and the timed transfers pay a higher tip, as a user in a hurry would.
 *
 *   npm run bench:finality [-- --txs 100]
 *   npm run bench:finality -- --txs 40 --load 1000
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prepareDevnet } from "../node/cli/devnet.ts";
import { presign } from "./presign.ts";
import { PouwClient } from "../node/client/client.ts";
import { AccountKey, devAccountLabel } from "../node/crypto/keys.ts";
import { TxSelector } from "../node/types/transaction.ts";
import { SignedTransaction } from "../node/types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../node/types/txcodec.ts";
import { utf8 } from "../node/util/hex.ts";

const { values } = parseArgs({ options: { txs: { type: "string", default: "100" }, load: { type: "string", default: "0" }, "load-seconds": { type: "string", default: "60" } } });
const TXS = Number(values.txs);
const LOAD = Number(values.load);
const LOAD_ACCOUNTS = 1000;
const LOAD_LABEL = "bench-finality-load";
const N = 4;
const CLI = fileURLToPath(new URL("../node/cli/main.ts", import.meta.url));

async function freeRange(n: number): Promise<number> {
  const free = (p: number) => new Promise<boolean>((r) => { const s = createServer(); s.once("error", () => r(false)); s.listen(p, "127.0.0.1", () => s.close(() => r(true))); });
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pouw-finality-"));
  const rpcBase = await freeRange(N);
  const p2pBase = await freeRange(N);
  const { homes, rpc } = await prepareDevnet(N, dir, rpcBase, p2pBase);
  let load: Uint8Array[] = [];
  if (LOAD > 0) {
    const genesis = JSON.parse(readFileSync(join(dir, "genesis.json"), "utf8")) as { chainId: string; accounts: { address: string; balance: string }[] };
    for (let i = 0; i < LOAD_ACCOUNTS; i++) genesis.accounts.push({ address: AccountKey.fromLabel(`${LOAD_LABEL}/account/${i}`).bech32, balance: "1000000000000000" });
    for (const h of homes) writeFileSync(join(h, "genesis.json"), JSON.stringify(genesis));
    const total = LOAD * Number(values["load-seconds"]);
    const t = performance.now();
    load = await presign({ chainId: genesis.chainId, label: LOAD_LABEL, accounts: LOAD_ACCOUNTS, perAccount: Math.ceil(total / LOAD_ACCOUNTS), total });
    console.log(`pre-signed ${load.length} load transfers in ${((performance.now() - t) / 1000).toFixed(1)} s (not measured)`);
  }
  const children: ChildProcess[] = homes.map((home) => spawn(process.execPath, [CLI, "start", "--home", home, "--json-logs", "--log-level", "warn"], { stdio: ["ignore", "ignore", "inherit"] }));
  try {
    const clients = rpc.map((u) => new PouwClient(u));
    for (;;) {
      const hs = await Promise.all(clients.map((c) => c.chainInfo().then((i) => i.height).catch(() => -1)));
      if (hs.every((h) => h >= 2)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await clients[0]!.chainInfo();
    console.log(`bench:finality — ${TXS} transfers to ${N} validator processes on 127.0.0.1, default block time (1 s), default timeouts, Node ${process.version}`);
    const sent = new Map<string, number>();
    const latency: number[] = [];
    const unsubscribe = await clients[0]!.subscribeNewHeads((head) => {
      const now = performance.now();
      void clients[0]!.getBlock(head.height).then((b) => {
        for (const h of b.transactions as string[]) {
          const t = sent.get(h);
          if (t !== undefined) {
            latency.push(now - t);
            sent.delete(h);
          }
        }
      });
    });
    // Background load: batches of 50 every 50 ms × (LOAD / 1000) — R transfers a second — round-robin over the validators.
    let loadSent = 0;
    let loadRefused = 0;
    let loading = LOAD > 0;
    const loadDone = (async () => {
      const step = 50;
      const every = (1000 * step) / Math.max(1, LOAD);
      const t0 = performance.now();
      for (let k = 0; loading && loadSent < load.length; k++) {
        const batch = load.slice(loadSent, loadSent + step).map((b) => ({ jsonrpc: "2.0", id: loadSent, method: "pouw_sendRawTransaction", params: ["0x" + Buffer.from(b).toString("hex")] }));
        loadSent += batch.length;
        void fetch(rpc[k % N]!, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) })
          .then((r) => r.json() as Promise<{ error?: unknown }[]>)
          .then((out: { error?: unknown }[]) => {
            loadRefused += out.filter((o) => o.error).length;
          }, () => undefined);
        const wait = t0 + (k + 1) * every - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      if (loading && LOAD > 0) console.log(`the load ran out of pre-signed transfers (raise --load-seconds)`);
    })();
    if (LOAD > 0) await new Promise((r) => setTimeout(r, 3000)); // let the load settle in first
    const from = AccountKey.fromLabel(devAccountLabel(7));
    const to = AccountKey.fromLabel(devAccountLabel(8)).address;
    let nonce = BigInt((await clients[0]!.getAccount(from.bech32, { proof: false })).nonce);
    for (let i = 0; i < TXS; i++) {
      const signed = signTransaction({ chainId: utf8(info.chainId), nonce: nonce++, maxFeePerGas: LOAD > 0 ? 10_000n : 100n, maxPriorityFeePerGas: LOAD > 0 ? 100n : 2n, gasLimit: 40_000, body: { selector: TxSelector.Transfer, value: { to, amount: 1n } }, publicKey: from.publicKey }, from);
      const env = envelopeFromSigned(signed);
      sent.set(env.hashHex, performance.now());
      await clients[i % N]!.sendRawTransaction(SignedTransaction.serialize(signed));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
    }
    const deadline = performance.now() + 60_000;
    while (sent.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    unsubscribe();
    loading = false;
    await loadDone;
    console.log(`finalized ${latency.length} of ${TXS}${LOAD > 0 ? `, under a load of ${LOAD} transfers/s (${loadSent} sent, ${loadRefused} refused)` : ""}`);
    console.log(`submit → finalized   p50 ${pct(latency, 50).toFixed(0)} ms, p99 ${pct(latency, 99).toFixed(0)} ms, max ${Math.max(...latency).toFixed(0)} ms`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
