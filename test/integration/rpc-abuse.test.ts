/**
 * RPC can never hurt consensus, and health tells the truth (issue 12), on
 * an in-process producing validator with its RPC on real sockets:
 * - a WebSocket that never reads while asking for a big block (300 times or more) of
 *   2,000 transactions is cut off with one log line; memory stays bounded,
 *   blocks keep coming (no gap over 2 block times) and another client's
 *   pouw_chainInfo p99 stays under 100 ms;
 * - 5,000 idle connections hit the per-IP and total caps (logged), the node
 *   keeps producing and a fresh client is served; idle sockets time out;
 * - a pouw_putBlob flood is refused (BLOB_NOT_EXPECTED) or capped
 *   (BLOB_QUOTA_EXCEEDED), the disk stays bounded, unreferenced blobs
 *   expire, and a real proof's blobs still go through and stay;
 * - GET /health is 200 while producing and 503 "stalled" once blocks stop.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient, PouwRpcError } from "../../node/client/client.ts";
import { signAndWait } from "../../node/client/send.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { PouwNode } from "../../node/node.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { parameterCount } from "../../node/pouw/kernel/mlp.ts";
import { merkleRoot } from "../../node/pouw/merkle.ts";
import { encodeManifest, prove } from "../../node/pouw/proof.ts";
import { encodeCheckpoint, f32ToBits } from "../../node/pouw/training.ts";
import type { RpcServerOptions } from "../../node/rpc/server.ts";
import { TxSelector, type JobSpecT, type TransactionT } from "../../node/types/transaction.ts";
import { fromHex, toHex } from "../../node/util/hex.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";
import { until } from "../helpers/until.ts";

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A pino logger whose lines land in `lines` (warn = 40). */
function captureLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: "debug", base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

async function startNode(net: TestNet, rpc: Partial<RpcServerOptions>, extra: { dataDir?: string; blockTimeMs?: number } = {}) {
  const { logger, lines } = captureLogger();
  const node = await PouwNode.create({
    dataDir: extra.dataDir ?? null,
    genesisJson: net.genesisJson,
    validatorKey: net.validator,
    rpc: { host: "127.0.0.1", port: 0, ...rpc },
    blockTimeMs: extra.blockTimeMs ?? 500,
    logger,
  });
  await node.start();
  const port = Number(new URL(node.rpcServer!.url).port);
  return { node, lines, port, client: new PouwClient(node.rpcServer!.url) };
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A WebSocket client on a raw TCP socket: it sends masked text frames and reads nothing after the handshake. */
async function rawWebSocket(port: number): Promise<{ socket: Socket; send: (text: string) => void }> {
  const socket = connect({ port, host: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = "";
    const onData = (d: Buffer) => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      if (!head.startsWith("HTTP/1.1 101")) reject(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
      else resolve();
    };
    socket.on("data", onData);
  });
  socket.pause(); // from here on nothing is read: the kernel's receive window fills, then the server's send buffer
  socket.on("error", () => undefined);
  const send = (text: string) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    socket.write(Buffer.concat([head, mask, masked]));
  };
  return { socket, send };
}

/** Opens a TCP connection and keeps it idle; `open()` says whether the server has not closed it (yet). */
function idleConnection(port: number, localAddress: string): Promise<{ socket: Socket; open: () => boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    socket.resume(); // reads, so a close from the server is seen
    let closed = false;
    socket.on("error", () => undefined);
    socket.on("close", () => {
      closed = true;
    });
    const done = () => resolve({ socket, open: () => !closed });
    socket.once("connect", done);
    socket.once("close", done);
  });
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

async function rpcError(p: Promise<unknown>): Promise<PouwRpcError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PouwRpcError);
  return e as PouwRpcError;
}

describe("a WebSocket client that never reads", () => {
  const BLOCK_MS = 500;
  const TXS = 2000;
  const net = makeTestNet({ label: "rpc-abuse-slow", accounts: 20 });
  let n: Awaited<ReturnType<typeof startNode>>;
  const commits: { height: number; at: number; txs: number }[] = [];

  beforeAll(async () => {
    n = await startNode(net, { maxSendBufferBytes: 4 * 1024 * 1024, maxInFlightPerSocket: 32 }, { blockTimeMs: BLOCK_MS });
    n.node.onCommit((c) => commits.push({ height: c.block.header.height, at: Date.now(), txs: c.txs.length }));
    // A block with many transactions: 20 senders × 100 nonces, handed to the node directly.
    const per = TXS / net.accounts.length;
    const to = net.validator.address;
    const signed: Uint8Array[] = [];
    for (let nonce = 0; nonce < per; nonce++) for (const k of net.accounts) signed.push(signedTransfer(k, { nonce: BigInt(nonce), to, amount: 1n, maxFeePerGas: 100n }).bytes);
    await Promise.all(signed.map((b) => n.node.submitTransaction(b)));
    await until(() => commits.reduce((s, c) => s + c.txs, 0), (s) => s >= TXS, 45_000, "the transfers to be committed");
  }, 60_000);
  afterAll(async () => {
    await n?.node.close();
  });

  it("is cut off with one log line while blocks keep coming and other clients are served fast", async () => {
    const big = commits.reduce((a, b) => (b.txs > a.txs ? b : a));
    expect(big.txs).toBeGreaterThanOrEqual(500);
    const request = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "pouw_getBlock", params: [big.height, { fullTransactions: true }] });
    // Warm up: the block's JSON is built once (and cached) before the measurement starts.
    const one = await n.client.getBlock(big.height, { fullTransactions: true });
    expect(one.transactions).toHaveLength(big.txs);
    const responseBytes = JSON.stringify(one).length;
    await sleep(300);
    const rss0 = process.memoryUsage().rss;
    let peakRss = rss0;
    const from = Date.now();

    // Enough requests that answering them all would take well over 200 MiB, however the transfers split into blocks.
    const requests = Math.max(300, Math.ceil((256 * 1024 * 1024) / responseBytes));
    const abuser = await rawWebSocket(n.port);
    for (let i = 0; i < requests; i++) abuser.send(request(i + 1));

    // Meanwhile another client asks for the head every 10 ms.
    const latencies: number[] = [];
    let stop = false;
    const poller = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const r = await fetch(n.node.rpcServer!.url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"jsonrpc":"2.0","id":1,"method":"pouw_chainInfo"}' });
        expect(((await r.json()) as { result: { height: number } }).result.height).toBeGreaterThan(0);
        latencies.push(performance.now() - t0);
        await sleep(10);
      }
    })();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    try {
      const cut = await until(
        () => n.lines.find((l) => l.level === 40 && l.msg.includes("does not read")),
        (l) => l !== undefined,
        20_000,
        "the slow client to be cut off",
      );
      expect(cut!.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(cut!.msg).toMatch(/send buffer over maxSendBufferBytes/);
      await sleep(4 * BLOCK_MS); // keep measuring a little after the cut
    } finally {
      stop = true;
      clearInterval(sampler);
      await poller;
      abuser.socket.destroy();
    }
    const during0 = commits.filter((c) => c.at >= from);
    console.log(
      JSON.stringify({
        blockTxs: big.txs,
        responseBytes,
        requests,
        peakRssGrowthMB: Math.round((peakRss - rss0) / 2 ** 20),
        maxGapMs: Math.max(...during0.slice(1).map((c, i) => c.at - during0[i]!.at)),
        p99Ms: Math.round(percentile(latencies, 99)),
        samples: latencies.length,
      }),
    );
    // Cut off once, and the server holds no socket for it any more.
    expect(n.lines.filter((l) => l.msg.includes("does not read"))).toHaveLength(1);
    const stats = n.node.rpcServer!.stats();
    expect(stats.droppedSlowClients).toBe(1);
    expect(stats.websockets).toBe(0);
    // Memory: the answers would be ~requests × responseBytes unbounded; the socket held at most the limit.
    expect(requests * responseBytes).toBeGreaterThan(200 * 1024 * 1024);
    expect(peakRss - rss0).toBeLessThan(150 * 1024 * 1024);
    // Blocks kept coming: no gap above 2 block times while the abuse went on.
    const during = commits.filter((c) => c.at >= from);
    expect(during.length).toBeGreaterThanOrEqual(3);
    const gaps = during.slice(1).map((c, i) => c.at - during[i]!.at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * BLOCK_MS);
    // Another client's pouw_chainInfo p99 under 100 ms.
    expect(latencies.length).toBeGreaterThanOrEqual(50);
    expect(percentile(latencies, 99)).toBeLessThan(100);
  }, 60_000);
});

describe("5,000 idle connections", () => {
  const IDLE_MS = 8000;
  const net = makeTestNet({ label: "rpc-abuse-idle", accounts: 1 });
  let n: Awaited<ReturnType<typeof startNode>>;
  const held: Socket[] = [];

  beforeAll(async () => {
    n = await startNode(net, { maxConnections: 400, maxConnectionsPerIp: 100, idleTimeoutMs: IDLE_MS }, { blockTimeMs: 200 });
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await n?.node.close();
  });

  /** `count` idle connections from `ip`, opened 500 at a time; returns how many the server kept. */
  async function flood(ip: string, count: number): Promise<number> {
    const all: { socket: Socket; open: () => boolean }[] = [];
    for (let i = 0; i < count; i += 500) all.push(...(await Promise.all(Array.from({ length: Math.min(500, count - i) }, () => idleConnection(n.port, ip)))));
    await sleep(500); // the server has accepted and refused what it refuses
    let kept = 0;
    for (const c of all) {
      if (c.open()) {
        kept++;
        held.push(c.socket);
      } else c.socket.destroy();
    }
    return kept;
  }

  it("hits the per-IP and total caps, logs them, keeps producing and serves a fresh client; idle sockets time out", async () => {
    const h0 = (await n.client.chainInfo()).height;
    // Idle WebSockets without a subscription (closed when idle) and one with a subscription (kept, it gets heads).
    const idleWs = await Promise.all(Array.from({ length: 20 }, () => new Promise<WebSocket>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${n.port}/`);
      ws.addEventListener("open", () => resolve(ws), { once: true });
    })));
    const wsClosed = idleWs.map((ws) => new Promise<void>((r) => ws.addEventListener("close", () => r(), { once: true })));
    const heads: number[] = [];
    const unsubscribe = await n.client.subscribeNewHeads((hd) => heads.push(hd.height));

    // 5,000 from one address: it gets its 100, the rest are refused at once.
    expect(await flood("127.0.0.2", 5000)).toBe(100);
    const perIp = n.lines.filter((l) => l.level === 40 && l.msg.includes("connection cap reached") && l.cap === "maxConnectionsPerIp");
    expect(perIp.length).toBeGreaterThanOrEqual(1);
    expect(perIp.length).toBeLessThanOrEqual(2); // rate-limited, not one line per refused socket
    expect(perIp[0]).toMatchObject({ remote: "127.0.0.2", limit: 100 });
    // A fresh client from another address is served at once.
    expect((await new PouwClient(`http://127.0.0.1:${n.port}/`).chainInfo()).chainId).toBe(net.chainId);

    // 5,000 more from ten addresses: the total cap (400) is hit, and logged.
    let kept = 0;
    for (let k = 3; k < 13; k++) kept += await flood(`127.0.0.${k}`, 500);
    expect(n.node.rpcServer!.stats().connections).toBe(400);
    expect(kept).toBeGreaterThan(200); // what the earlier connections left
    expect(n.lines.some((l) => l.level === 40 && l.msg.includes("connection cap reached") && l.cap === "maxConnections")).toBe(true);
    // Full: a new connection is refused...
    const late = await idleConnection(n.port, "127.0.0.1");
    await sleep(300);
    expect(late.open()).toBe(false);

    // ...until the idle ones time out; the subscribed WebSocket stays.
    await Promise.all(wsClosed);
    await until(() => n.node.rpcServer!.stats().connections, (c) => c <= 1, 3 * IDLE_MS, "idle sockets to time out");
    expect(n.node.rpcServer!.stats().websockets).toBe(1);
    const info = await new PouwClient(`http://127.0.0.1:${n.port}/`).chainInfo();
    // Blocks kept coming the whole time, and the subscription saw them.
    expect(info.height).toBeGreaterThan(h0 + 5);
    expect(heads.length).toBeGreaterThan(5);
    unsubscribe();
  }, 60_000);
});

describe("a pouw_putBlob flood", () => {
  const data = syntheticDataset({ seed: "rpc-abuse-blobs", features: 64, classes: 10, train: 400, validation: 100 });
  const net = makeTestNet({
    label: "rpc-abuse-blobs",
    accounts: 2,
    params: { attestationDeadline: 8, challengeWindow: 3, blockTimeMs: 200 },
    datasets: [{ name: data.name, id: toHex(data.id), features: 64, classes: 10, train: 400, validation: 100 }],
  });
  const [requester, worker] = net.accounts as [AccountKey, AccountKey];
  const QUOTA = 4 * 1024 * 1024;
  const TTL_MS = 2000;
  let dir: string;
  let n: Awaited<ReturnType<typeof startNode>>;

  const spec = (seed: number, over: Partial<JobSpecT> = {}): JobSpecT => ({
    datasetId: data.id,
    layers: [64, 256, 10],
    learningRateBits: f32ToBits(0.1),
    momentumBits: f32ToBits(0.9),
    batchSize: 16,
    steps: 100,
    segmentLength: 20,
    seed: new Uint8Array(32).fill(seed),
    targetMetric: 1,
    targetThreshold: f32ToBits(100),
    deadline: n.node.chain.head.header.height + 1000,
    ...over,
  });

  async function createJob(s: JobSpecT): Promise<string> {
    const r = await signAndWait(n.client, requester, { selector: TxSelector.CreateJob, value: { spec: s, reward: 5_000_000_000n, workerBond: 1_000_000_000n } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    return r.hash;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pouw-rpc-abuse-"));
    n = await startNode(net, { blobQuotaBytes: QUOTA, blobTtlMs: TTL_MS }, { dataDir: dir, blockTimeMs: 200 });
  });
  afterAll(async () => {
    await n?.node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses what no job expects, caps what one does, keeps the disk bounded and expires the unreferenced; a real proof's blobs stay", async () => {
    const jobs = [await createJob(spec(1)), await createJob(spec(2)), await createJob(spec(3))];
    const params = parameterCount([64, 256, 10]);
    const disk0 = dirBytes(join(dir, "data"));

    // 1. Bytes that are no checkpoint of any job: refused, nothing stored.
    let notExpected = 0;
    for (let i = 0; i < 100; i++) {
      const e = await rpcError(n.client.putBlob(randomBytes(150_000)));
      expect(e.rpcCode).toBe(-32000);
      if (e.code === "BLOB_NOT_EXPECTED") notExpected++;
    }
    expect(notExpected).toBe(100);
    // A manifest-sized blob under a root no job or proof has: refused too.
    const hashes = Array.from({ length: 7 }, () => randomBytes(32));
    expect((await rpcError(n.client.putBlob(encodeManifest(hashes), toHex(merkleRoot(hashes))))).code).toBe("BLOB_NOT_EXPECTED"); // no job has 7 checkpoints
    expect((await rpcError(n.client.putBlob(encodeManifest(hashes), toHex(randomBytes(32))))).code).toBe("INVALID_PARAMS"); // bytes do not match the id

    // 2. Checkpoint-shaped junk for the open jobs (right size, right steps, random weights): staged up to the quotas, then refused.
    const codes = new Map<string, number>();
    let stagedOk = 0;
    for (let i = 0; i < 200; i++) {
      const junk = encodeCheckpoint({ step: 20 * (i % 6), params: new Float32Array(params).map(() => Math.random()), velocity: new Float32Array(params) });
      const r = await n.client.putBlob(junk).then(
        () => "ok",
        (e: PouwRpcError) => e.code,
      );
      if (r === "ok") stagedOk++;
      else codes.set(r, (codes.get(r) ?? 0) + 1);
    }
    expect([...codes.keys()]).toEqual(["BLOB_QUOTA_EXCEEDED"]);
    expect(stagedOk).toBeGreaterThan(0);
    const status = (await (await fetch(`http://127.0.0.1:${n.port}/status`)).json()) as { blobs: { stagedBytes: number; quotaBytes: number } };
    expect(status.blobs.quotaBytes).toBe(QUOTA);
    expect(status.blobs.stagedBytes).toBeLessThanOrEqual(QUOTA);
    // 200 × 154 KB + 100 × 150 KB went in; the disk grew by about the quota, not by 45 MB.
    const grown = dirBytes(join(dir, "data")) - disk0;
    expect(grown).toBeLessThan(2 * QUOTA);

    // 3. Nothing references them: after their time they are gone.
    await until(() => n.node.healthInfo().blobs!.stagedBytes, (b) => b === 0, 15_000, "unreferenced blobs to expire");
    expect(n.lines.some((l) => l.msg.includes("Deleted unreferenced RPC blobs"))).toBe(true);

    // 4. A real worker's proof for job 0: blobs uploaded before its SubmitProof, referenced once it is in, kept past their time.
    const s0 = { ...spec(1), deadline: n.node.chain.world.jobs[0]!.spec.deadline };
    const out = prove(s0, fromHex(jobs[0]!), data);
    for (const b of out.blobs) await n.client.putBlob(b);
    await n.client.putBlob(out.manifest, toHex(out.commitment.checkpointsRoot));
    const r = await signAndWait(n.client, worker, { selector: TxSelector.SubmitProof, value: { jobId: fromHex(jobs[0]!), commitment: { ...out.commitment, bond: 1_000_000_000n } } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    const proofId = (await n.client.getJob(jobs[0]!)).proof!;
    const p = await until(() => n.client.getWorkProof(proofId), (x) => x.status !== "pending", 30_000, "the validator's verdict");
    expect(["accepted", "paid"]).toContain(p.status);
    await sleep(TTL_MS + 1000);
    expect(n.node.healthInfo().blobs!.stagedBytes).toBe(0);
    expect((await n.client.getBlob(toHex(out.commitment.checkpointsRoot))).length).toBe(32 * out.blobs.length);
    expect(Buffer.from(await n.client.getBlob(toHex(out.hashes[3]!))).equals(Buffer.from(out.blobs[3]!))).toBe(true);
  }, 60_000);
});

describe("GET /health and /status", () => {
  const net = makeTestNet({ label: "rpc-abuse-health", accounts: 1 });
  const BLOCK_MS = 200;
  let n: Awaited<ReturnType<typeof startNode>>;

  beforeAll(async () => {
    n = await startNode(net, {}, { blockTimeMs: BLOCK_MS });
    await until(() => n.node.chain.head.header.height, (h) => h >= 2, 10_000, "blocks");
  });
  afterAll(async () => {
    await n?.node.close();
  });

  it("is 200 while producing and 503 stalled once blocks stop", async () => {
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${n.port}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    let h = await get("/health");
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: "ok", reason: null, blockTimeMs: BLOCK_MS });
    const st = await get("/status");
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({
      status: "ok",
      chainId: net.chainId,
      blockTimeMs: BLOCK_MS,
      syncing: false,
      peers: 0,
      validator: { address: net.validator.bech32, active: true },
      mempool: { size: 0 },
      storageFault: null,
    });
    const body = st.body as { head: { height: number; hash: string; ageMs: number }; consensus: { height: number; round: number }; rpc: { connections: number } };
    expect(body.head.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(body.consensus.height).toBeGreaterThan(body.head.height - 1);
    expect(body.rpc.connections).toBeGreaterThanOrEqual(1);

    await n.node.consensus!.stop(); // blocks stop
    await sleep(3 * BLOCK_MS + 300);
    h = await get("/health");
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: "unhealthy", reason: "stalled" });
    expect(h.body.headAgeMs as number).toBeGreaterThan(3 * BLOCK_MS);
  });
});
