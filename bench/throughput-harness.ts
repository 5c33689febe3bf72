/**
 * In-process harness (a second row beside bench:throughput, which drives a
 * real node over JSON-RPC): 50,000 pre-signed transfers from 1,000 accounts go
 * through admission (decode + checks + ML-DSA verification in the worker
 * pool), block building and execution, privval votes and the synced commit
 * batch on classic-level. Also measures native vs noble verification speed in
 * the same run.
 *
 *   npm run bench:throughput:harness [-- --txs 50000 --accounts 1000 --runs 3]
 *
 * The transfers are signed once; each run starts from a fresh data directory.
 */
import { AnchorKey } from "../node/crypto/anchor-key.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presign } from "./presign.ts";
import { parseArgs } from "node:util";
import { Blockchain, genesisFileHash } from "../node/chain/blockchain.ts";
import { baseFeeAfter } from "../node/chain/block.ts";
import { AccountKey } from "../node/crypto/keys.ts";
import { NativeMlDsa, NobleMlDsa, hasNativeMlDsa } from "../node/crypto/mldsa.ts";
import { openDb } from "../node/db/database.ts";
import { PrivValidator } from "../node/consensus/privval.ts";
import { Mempool } from "../node/mempool/mempool.ts";
import { SignatureVerifier } from "../node/mempool/verifier.ts";
import { VoteType } from "../node/types/block.ts";
import { parseGenesis } from "../node/types/genesis.ts";
import { DEFAULT_PARAMS, paramsToJson } from "../node/types/params.ts";
import { decodeTransaction, type TxEnvelope } from "../node/types/txcodec.ts";
import { toHex } from "../node/util/hex.ts";

const { values } = parseArgs({ options: { txs: { type: "string", default: "50000" }, accounts: { type: "string", default: "1000" }, runs: { type: "string", default: "3" } } });
const RUNS = Number(values.runs);
const TXS = Number(values.txs);
const ACCOUNTS = Number(values.accounts);
const PER_ACCOUNT = Math.ceil(TXS / ACCOUNTS);
const CHAIN_ID = "pouw-bench-1";
const LABEL = "bench";
const ADMIT_BATCH = 500;
const ADMIT_IN_FLIGHT = 4;
/** Signatures verified to measure the two-worker ceiling before each run. */
const CEILING_SAMPLE = 10_000;
/** Half a second of transactions at the bar: blocks as a saturated chain with 0.5 s blocks makes them. */
const BLOCK_TARGET = 4_000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};


function verifySpeed(): { native: number | null; noble: number } {
  const key = AccountKey.fromLabel("bench/verify", new NobleMlDsa());
  const msg = new Uint8Array(42).fill(7);
  const sig = key.sign(msg);
  const rate = (fn: () => boolean, ms: number) => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      if (!fn()) throw new Error("verification failed");
      n++;
    }
    return (n * 1000) / (performance.now() - t0);
  };
  const noble = new NobleMlDsa();
  const nobleRate = rate(() => noble.verify(key.publicKey, msg, sig), 2000);
  let nativeRate: number | null = null;
  if (hasNativeMlDsa()) {
    const native = new NativeMlDsa();
    rate(() => native.verify(key.publicKey, msg, sig), 300); // warm up, cache the KeyObject
    nativeRate = rate(() => native.verify(key.publicKey, msg, sig), 2000);
  }
  return { native: nativeRate, noble: nobleRate };
}

async function main(): Promise<void> {
  console.log(`bench:throughput — ${TXS} transfers from ${ACCOUNTS} accounts, Node ${process.version}, ML-DSA ${hasNativeMlDsa() ? "native" : "noble"}`);
  let t = performance.now();
  const raw = await presign({ chainId: CHAIN_ID, label: LABEL, accounts: ACCOUNTS, perAccount: PER_ACCOUNT, total: TXS });
  console.log(`pre-signed ${raw.length} transfers in ${((performance.now() - t) / 1000).toFixed(1)} s (not measured)`);

  const validator = AccountKey.fromLabel(`${LABEL}/validator/0`);
  const genesisJson = JSON.stringify({
    chainId: CHAIN_ID,
    genesisTime: 1_700_000_000_000,
    params: paramsToJson(DEFAULT_PARAMS),
    validators: [{ name: "v0", publicKey: toHex(validator.publicKey), anchorAddress: AnchorKey.fromSeed(validator.seed).address, power: "100" }],
    accounts: Array.from({ length: ACCOUNTS }, (_, i) => ({ address: AccountKey.fromLabel(`${LABEL}/account/${i}`).bech32, balance: "1000000000000000" })),
  });
  const runs: RunResult[] = [];
  for (let r = 1; r <= RUNS; r++) {
    const res = await runOnce(raw, genesisJson, validator);
    runs.push(res);
    console.log(
      `run ${r}: ${res.tps.toFixed(0)} tx/s = ${((100 * res.tps) / res.ceiling).toFixed(0)} % of the ${res.ceiling.toFixed(0)}/s verification ceiling (${res.totalS.toFixed(2)} s, ${res.blocks} blocks, largest ${res.largest}; admission ${((raw.length * 1000) / res.admissionEndMs).toFixed(0)} tx/s; ${res.coresBusy.toFixed(2)} cores busy)`,
    );
  }
  const med = [...runs].sort((x, y) => x.tps - y.tps)[runs.length >> 1]!;
  const execMs = runs.flatMap((r) => r.execMs);
  const commitMs = runs.flatMap((r) => r.commitMs);
  const speeds = verifySpeed();
  const ratios = runs.map((r) => r.tps / r.ceiling).sort((x, y) => x - y);
  console.log(`end to end (median of ${RUNS})   ${med.tps.toFixed(0)} tx/s  (bar 8000; ${raw.length} transfers in ${med.totalS.toFixed(2)} s)`);
  console.log(`share of the ceiling        ${(100 * ratios[ratios.length >> 1]!).toFixed(0)} % (median; the ceiling is two worker threads doing nothing but ML-DSA verification, measured before each run)`);
  console.log(`block execution            p50 ${pct(execMs, 50).toFixed(1)} ms, p99 ${pct(execMs, 99).toFixed(1)} ms  (blocks of up to ${BLOCK_TARGET} transfers)`);
  console.log(`votes + commit batch       p50 ${pct(commitMs, 50).toFixed(1)} ms, p99 ${pct(commitMs, 99).toFixed(1)} ms`);
  console.log(`ML-DSA-44 verify, 1 thread native ${speeds.native ? speeds.native.toFixed(0) : "n/a"}/s, noble ${speeds.noble.toFixed(0)}/s, ratio ${speeds.native ? (speeds.native / speeds.noble).toFixed(1) + "x" : "n/a"}`);
}

async function runOnce(raw: Uint8Array[], genesisJson: string, validator: AccountKey): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "pouw-bench-"));
  const db = await openDb(join(dir, "data"));
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(genesisJson)), genesisFileHash(genesisJson), join(dir, "blocks"));
  const privval = await PrivValidator.open(db, validator, chain.ctx.chainId);
  const verifier = new SignatureVerifier({ threads: 2 });
  const mempool = new Mempool(
    { maxTxs: TXS * 2, maxBytes: 1 << 30, maxPerSender: PER_ACCOUNT * 2, maxNonceAhead: PER_ACCOUNT * 2 },
    {
      view: {
        chainId: chain.ctx.chainId,
        params: chain.params,
        baseFee: () => baseFeeAfter(chain.head, chain.params),
        account: (h: string) => {
          const i = chain.world.accounts.indexOfKey(h);
            const a = i === undefined ? undefined : chain.world.accounts.get(i);
          return a ? { nonce: a.nonce, balance: a.balance } : undefined;
        },
      },
      verifier,
    },
  );

  // The ceiling, measured here and now: the same two verifier workers checking
  // signatures alone, with every sender's public key cached (which also warms
  // the pool: worker start-up and KeyObject creation are not steady state).
  const sample = raw.slice(0, CEILING_SAMPLE).map((b) => decodeTransaction(b));
  const items = sample.map((e) => ({ publicKey: e.signed.tx.publicKey, message: e.signingMessage, signature: e.signed.signature }));
  await verifier.verifyBatch(items.slice(0, ACCOUNTS));
  const tv = performance.now();
  for (let i = 0; i < items.length; i += ADMIT_BATCH) await Promise.all([verifier.verifyBatch(items.slice(i, i + ADMIT_BATCH / 2)), verifier.verifyBatch(items.slice(i + ADMIT_BATCH / 2, i + ADMIT_BATCH))]);
  const ceiling = (items.length * 1000) / (performance.now() - tv);

  const execMs: number[] = [];
  const commitMs: number[] = [];
  const blockTxs: number[] = [];
  let committed = 0;
  let admittedErrors = 0;
  let admissionDone = false;
  let admissionEndMs = 0;
  let wake: () => void = () => {};
  const progress = () => new Promise<void>((r) => (wake = r));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();

  // Admission as a node under load sees it: several batches in flight, so the
  // main thread decodes the next while the workers verify the previous.
  const admission = (async () => {
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < raw.length; i += ADMIT_BATCH) {
      const envs: TxEnvelope[] = raw.slice(i, i + ADMIT_BATCH).map((b) => decodeTransaction(b));
      const p: Promise<void> = mempool.addBatch(envs).then((res) => {
        admittedErrors += res.filter((r) => r !== null).length;
        inFlight.delete(p);
        wake();
      });
      inFlight.add(p);
      if (inFlight.size >= ADMIT_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    admissionDone = true;
    admissionEndMs = performance.now() - t0;
    wake();
  })();

  // Blocks as a saturated chain makes them: one whenever a block's worth is waiting.
  let time = chain.head.header.time;
  while (committed + admittedErrors < raw.length) {
    if (mempool.size < BLOCK_TARGET && !admissionDone) {
      await progress();
      continue;
    }
    if (mempool.size === 0) break;
    const baseFee = baseFeeAfter(chain.head, chain.params);
    const te = performance.now();
    const built = chain.build({ time: (time += 1000), proposer: validator.address, candidates: mempool.pending(baseFee), verified: (e) => mempool.verified(e) });
    execMs.push(performance.now() - te);
    const h = built.block.header.height;
    const tc = performance.now();
    await privval.signVote(VoteType.Prevote, h, 0, built.hash);
    const sig = await privval.signVote(VoteType.Precommit, h, 0, built.hash);
    await chain.commit(built.block, built.hash, built.result, { height: h, round: 0, blockHash: built.hash, signatures: [{ validator: validator.address, signature: sig }] });
    mempool.removeCommitted(built.result.txs);
    commitMs.push(performance.now() - tc);
    blockTxs.push(built.result.txs.length);
    committed += built.result.txs.length;
    if (built.result.txs.length === 0 && admissionDone) break;
  }
  await admission;
  const totalS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const coresBusy = (cpu.user + cpu.system) / 1e6 / totalS;
  await verifier.close();
  await chain.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });

  if (committed !== raw.length) throw new Error(`only ${committed} of ${raw.length} transfers committed`);
  return { ceiling, totalS, tps: committed / totalS, blocks: execMs.length, largest: Math.max(...blockTxs), admittedErrors, admissionEndMs, coresBusy, execMs, commitMs };
}

interface RunResult {
  ceiling: number;
  totalS: number;
  tps: number;
  blocks: number;
  largest: number;
  admittedErrors: number;
  admissionEndMs: number;
  coresBusy: number;
  execMs: number[];
  commitMs: number[];
}

await main();
