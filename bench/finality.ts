/**
 * Finality latency: 4 validator processes on 127.0.0.1 (as `pouw devnet`)
 * with the default timeouts and block time; transfers are submitted one at a
 * time to random validators and each is timed from submission until the
 * block holding it is announced as committed (newHeads over WebSocket).
 *
 *   npm run bench:finality [-- --txs 100]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { prepareDevnet } from "../node/cli/devnet.ts";
import { PouwClient } from "../node/client/client.ts";
import { AccountKey, devAccountLabel } from "../node/crypto/keys.ts";
import { TxSelector } from "../node/types/transaction.ts";
import { SignedTransaction } from "../node/types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../node/types/txcodec.ts";
import { utf8 } from "../node/util/hex.ts";

const { values } = parseArgs({ options: { txs: { type: "string", default: "100" } } });
const TXS = Number(values.txs);
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
    const from = AccountKey.fromLabel(devAccountLabel(7));
    const to = AccountKey.fromLabel(devAccountLabel(8)).address;
    let nonce = BigInt((await clients[0]!.getAccount(from.bech32, { proof: false })).nonce);
    for (let i = 0; i < TXS; i++) {
      const signed = signTransaction({ chainId: utf8(info.chainId), nonce: nonce++, maxFeePerGas: 100n, maxPriorityFeePerGas: 2n, gasLimit: 40_000, body: { selector: TxSelector.Transfer, value: { to, amount: 1n } }, publicKey: from.publicKey }, from);
      const env = envelopeFromSigned(signed);
      sent.set(env.hashHex, performance.now());
      await clients[i % N]!.sendRawTransaction(SignedTransaction.serialize(signed));
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
    }
    const deadline = performance.now() + 60_000;
    while (sent.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    unsubscribe();
    console.log(`finalized ${latency.length} of ${TXS}`);
    console.log(`submit → finalized   p50 ${pct(latency, 50).toFixed(0)} ms, p99 ${pct(latency, 99).toFixed(0)} ms, max ${Math.max(...latency).toFixed(0)} ms  (bar p50 ≤ 1000 ms)`);
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
