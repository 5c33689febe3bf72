/**
 * The explorer (issue 16) in a real browser: an in-process validator with
 * RPC on 127.0.0.1 relays its checkpoints to an in-memory anchor; a transfer
 * is finalized and a small job trained by the worker, attested and paid;
 * then headless Chromium (Debian's, driven by puppeteer-core) opens each
 * page and checks what it shows against RPC: the home page's head and
 * recent blocks and their live update over the newHeads subscription, the
 * transfer finalized with a link to its block, the block listing it, our
 * validator active with 0 missed blocks, the job's loss curve with one point
 * per checkpoint that has a metric, a checkpoint anchored. First paint must
 * be under 1 s. Screenshots go to test-artifacts/explorer/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnchorTarget, SignedCheckpoint } from "../../node/anchor/checkpoint.ts";
import { PouwClient } from "../../node/client/client.ts";
import { signAndWait } from "../../node/client/send.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { PouwNode } from "../../node/node.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { f32ToBits } from "../../node/pouw/training.ts";
import { WorkThread } from "../../node/pouw/work-pool.ts";
import { TxSelector, type TransactionT } from "../../node/types/transaction.ts";
import { toHex } from "../../node/util/hex.ts";
import { silentLogger } from "../../node/util/logger.ts";
import { JobWorker } from "../../node/work/worker.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";
import { until } from "../helpers/until.ts";

// What the functions run in the page see (this project's TypeScript has no DOM library).
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { textContent: string | null } | null };
declare const location: { hash: string };

const CHROMIUM = process.env.POUW_CHROMIUM ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts/explorer");

const data = syntheticDataset({ seed: "explorer", features: 8, classes: 3, train: 300, validation: 60 });
const net = makeTestNet({
  label: "explorer",
  accounts: 3,
  params: { attestationDeadline: 8, challengeWindow: 3, epochLength: 10 },
  datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 300, validation: 60 }],
});
const [requester, workerKey, payer] = net.accounts as [AccountKey, AccountKey, AccountKey];

/** An anchor contract in memory: accepts each next epoch. */
function memoryAnchor(): AnchorTarget {
  let last = 0n;
  return {
    name: "mem:test",
    lastEpoch: async () => last,
    submit: async (c: SignedCheckpoint) => {
      last = BigInt(c.checkpoint.epoch);
      return "0x01";
    },
  };
}

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result as T;
}

describe.skipIf(!hasChromium)(`explorer in headless Chromium (${CHROMIUM})`, { timeout: 180_000 }, () => {
  let node: PouwNode;
  let client: PouwClient;
  let url: string;
  let browser: Browser;
  let page: Page;
  let transferHash: string;
  let jobId: string;

  /** Opens a route and waits until the page has drawn its data. */
  async function open(hash: string, shot: string): Promise<void> {
    await page.goto(`${url}${hash}`, { waitUntil: "load" });
    await page.waitForFunction((h) => document.body.dataset.ready === "1" && location.hash === h, { timeout: 15_000 }, hash);
    await page.screenshot({ path: join(ARTIFACTS, `${shot}.png`) as `${string}.png` });
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, blockTimeMs: 150, relay: { targets: [memoryAnchor()], retryMs: 100 } });
    await node.start();
    url = node.rpcServer!.url;
    client = new PouwClient(url);

    // A transfer, finalized.
    const { bytes } = signedTransfer(payer, { nonce: 0n, to: requester.address, amount: 12_345n, maxFeePerGas: 100n, maxPriorityFeePerGas: 2n });
    transferHash = await client.sendRawTransaction(bytes);
    expect((await client.waitForTransaction(transferHash, { timeoutMs: 30_000, intervalMs: 100 })).status).toBe("finalized");

    // A small job, trained by the worker, attested by the validator and paid.
    const spec = {
      datasetId: data.id,
      layers: [8, 16, 3],
      learningRateBits: f32ToBits(0.1),
      momentumBits: f32ToBits(0.9),
      batchSize: 8,
      steps: 60,
      segmentLength: 10,
      seed: new Uint8Array(32).fill(3),
      targetMetric: 0,
      targetThreshold: 5000,
      deadline: node.chain.head.header.height + 400,
    };
    const r = await signAndWait(client, requester, { selector: TxSelector.CreateJob, value: { spec, reward: 1_000_000n, workerBond: 100_000n } } as TransactionT["body"]);
    expect(r.status === "finalized" && r.receipt.status).toBe("success");
    jobId = r.hash;
    const thread = new WorkThread();
    try {
      const out = await new JobWorker({ client, key: workerKey, thread, logger: silentLogger() }).runOnce();
      expect(out.kind).toBe("submitted");
    } finally {
      await thread.close();
    }
    await until(() => client.getJob(jobId), (j) => j.status === "completed", 60_000, "the job to be paid");
    // A checkpoint anchored on the in-memory target.
    await until(() => rpc<{ targets: { lastEpoch: number }[] }>(url, "pouw_relayStatus"), (s) => (s.targets[0]?.lastEpoch ?? 0) >= 1, 30_000, "epoch 1 anchored");

    const puppeteer = (await import("puppeteer-core")).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    page.on("pageerror", (e) => console.error("page error:", e));
  });

  afterAll(async () => {
    await browser?.close();
    await node?.close();
  });

  it("serves the page and its assets with their types and caching; first paint under 1 s", async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await res.text();
    const js = html.match(/src="(\/explorer\/app\.js\?v=[^"]+)"/)?.[1];
    const css = html.match(/href="(\/explorer\/app\.css\?v=[^"]+)"/)?.[1];
    expect(js && css).toBeTruthy();
    const jsRes = await fetch(new URL(js!, url));
    expect(jsRes.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(jsRes.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(new URL(css!, url))).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(url, { headers: { "if-none-match": res.headers.get("etag")! } })).status).toBe(304);
    expect((await fetch(new URL("/explorer/nope.js", url))).status).toBe(404);

    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => document.body.dataset.ready === "1", { timeout: 15_000 });
    const paint = await page.evaluate(() => {
      const p = (performance.getEntriesByType as (type: string) => { name: string; startTime: number }[])("paint");
      return (p.find((e) => e.name === "first-contentful-paint") ?? p.find((e) => e.name === "first-paint"))?.startTime ?? NaN;
    });
    console.log(`explorer: first paint ${paint.toFixed(0)} ms`);
    expect(paint).toBeLessThan(1000);
  });

  it("home shows the head and recent blocks, and a new block arrives live over the subscription", async () => {
    await open("#/", "home");
    const shown = Number(await page.$eval("#head-height", (e) => e.textContent));
    expect(shown).toBeGreaterThanOrEqual((await client.chainInfo()).height - 1);
    expect(await page.$$eval("#recent-blocks tbody tr", (rows) => rows.length)).toBeGreaterThan(5);
    expect(await page.$eval("#live", (e) => e.textContent)).toBe("live");
    // A newer head replaces it, and its row is prepended, without reloading or polling.
    await page.waitForFunction((h) => Number(document.getElementById("head-height")?.textContent) > h, { timeout: 10_000 }, shown);
    const now = Number(await page.$eval("#head-height", (e) => e.textContent));
    expect(await page.$eval("#recent-blocks tbody tr", (r) => Number(r.getAttribute("data-height")))).toBe(now);
    await page.screenshot({ path: join(ARTIFACTS, "home-live.png") });
  });

  it("the transfer's page shows it finalized and links its block; the block lists it", async () => {
    const tx = await client.getTransaction(transferHash);
    if (tx?.status !== "finalized") throw new Error("transfer not finalized");
    await open(`#/tx/${transferHash}`, "tx");
    expect(await page.$eval("[data-status]", (e) => e.getAttribute("data-status"))).toBe("finalized");
    const blockLink = await page.$eval(`a[href="#/block/${tx.blockHeight}"]`, (a) => a.getAttribute("href"));
    expect(blockLink).toBe(`#/block/${tx.blockHeight}`);
    await page.click(`a[href="#/block/${tx.blockHeight}"]`);
    await page.waitForFunction((h) => document.body.dataset.ready === "1" && location.hash === h, { timeout: 15_000 }, `#/block/${tx.blockHeight}`);
    expect(await page.$$eval(`#block-txs a[href="#/tx/${transferHash}"]`, (a) => a.length)).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, "block.png") });
  });

  it("the account page shows balance and nonce; search finds a height", async () => {
    await open(`#/account/${payer.bech32}`, "account");
    const acc = await client.getAccount(payer.bech32);
    expect(await page.$eval("#account-nonce", (e) => e.textContent)).toBe(acc.nonce);
    expect(await page.$eval("#account-balance", (e) => e.textContent?.replace(/,/g, ""))).toBe(acc.balance);
    await page.type("#q", "3");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/block/3" && document.body.dataset.ready === "1", { timeout: 15_000 });
  });

  it("the validators page shows our validator active with 0 missed blocks", async () => {
    await open("#/validators", "validators");
    const row = `#validators tr[data-address="${net.validator.bech32}"]`;
    expect(await page.$eval(`${row} [data-status]`, (e) => e.getAttribute("data-status"))).toBe("active");
    expect(await page.$eval(`${row} td.missed`, (e) => e.textContent)).toBe("0");
    expect(Number(await page.$eval(`${row} td.power`, (e) => e.textContent))).toBeGreaterThan(0);
  });

  it("the job page shows its proof, attestation and a loss curve with one point per checkpoint that has a metric", async () => {
    const curve = await rpc<{ checkpoints: number; points: unknown[]; missing: number }>(url, "pouw_getJobCurve", [jobId]);
    expect(curve.checkpoints).toBe(7); // 60 steps in segments of 10, and step 0
    expect(curve.points.length).toBe(curve.checkpoints - curve.missing);
    expect(curve.points.length).toBeGreaterThan(1);
    await open("#/jobs", "jobs");
    expect(await page.$$eval(`#jobs a[href="#/job/${jobId}"]`, (a) => a.length)).toBe(1);
    await open(`#/job/${jobId}`, "job");
    expect(await page.$eval("dl [data-status]", (e) => e.getAttribute("data-status"))).toBe("completed");
    expect(await page.$$eval("#attestations tbody tr", (r) => r.length)).toBe(1);
    const points = await page.$eval("#loss-curve polyline.loss", (p) => (p.getAttribute("points") ?? "").trim().split(/\s+/).filter(Boolean).length);
    console.log(`explorer: loss curve has ${points} points; RPC says ${curve.points.length} checkpoints with a metric`);
    expect(points).toBe(curve.points.length);
  });

  it("the checkpoints page shows a checkpoint with its signatures, anchored on the relay target", async () => {
    await open("#/checkpoints", "checkpoints");
    const row = '#checkpoints tr[data-epoch="1"]';
    expect(await page.$eval(`${row} td.signatures`, (e) => e.textContent)).toBe("1 / 1");
    expect(await page.$eval(`${row} td.anchored [data-status]`, (e) => e.getAttribute("data-status"))).toBe("yes");
    await open("#/peers", "peers");
  });
});
