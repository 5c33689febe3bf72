/**
 * The operator's metrics (issue 16), from live nodes over real HTTP: an
 * in-process validator with a data directory, two relay targets and the
 * metrics listener, a follower in memory with networking, and a `pouw start`
 * process with --metrics-addr. Every series the alert rules and dashboards
 * use is there with its type; the Node.js defaults carry their standard
 * names; no gauge ends in _total; counters whose labels are known exist at 0
 * before their first event; `promtool check metrics` accepts each scrape.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnchorTarget } from "../../node/anchor/checkpoint.ts";
import { EXIT } from "../../node/cli/errors.ts";
import { PouwClient } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { CLI, freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";
import { until } from "../helpers/until.ts";

const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;

/** `promtool check metrics` over a scrape: its exit status and what it printed. */
function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The `# TYPE` of each metric family in a scrape. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The value of the sample `series` (name with its labels exactly as exposed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const NEW_SERIES: Record<string, string> = {
  pouw_build_info: "gauge",
  pouw_head_age_seconds: "gauge",
  pouw_validator_missed_blocks: "gauge",
  pouw_self_missed_blocks_total: "counter",
  pouw_validator_status: "gauge",
  pouw_validator_power: "gauge",
  pouw_consensus_step_duration_seconds: "histogram",
  pouw_mempool_bytes: "gauge",
  pouw_jobs: "gauge",
  pouw_proofs_total: "counter",
  pouw_attestation_latency_blocks: "histogram",
  pouw_worker_training_steps_per_second: "gauge",
  pouw_relay_lag_epochs: "gauge",
  pouw_data_dir_free_bytes: "gauge",
  pouw_data_dir_size_bytes: "gauge",
};

/** What every scrape must satisfy: standard default names, our own prefixed once, no gauge named like a counter. */
function expectWellNamed(text: string): void {
  const t = types(text);
  for (const [name, type] of t) {
    expect(name, "one prefix: pouw_ for ours, none for the Node.js defaults").toMatch(/^(pouw_|process_|nodejs_)/);
    expect(name).not.toMatch(/^(pouw_process_|pouw_pouw_|process_process_|nodejs_nodejs_|pouw_nodejs_)/);
    if (type !== "counter") expect(name, `${type} ${name}`).not.toMatch(/_total$/);
  }
  for (const std of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes", "nodejs_gc_duration_seconds", "nodejs_active_handles"]) {
    expect(t.has(std), std).toBe(true);
  }
}

/** A settlement target in memory: accepts each checkpoint it is given. */
function memoryAnchor(name: string): AnchorTarget {
  let last = 0n;
  return {
    name,
    lastEpoch: async () => last,
    submit: async () => {
      last++;
      return `0x${last.toString(16)}`;
    },
  };
}

describe("a validator's /metrics", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-metrics-"));
  let net: TestNet;
  let node: PouwNode;
  let follower: PouwNode;
  let rpcUrl: string;
  let first: string;
  /** The unreachable target's first lastEpoch() fails when this is called. */
  let failDown: () => void = () => undefined;

  beforeAll(async () => {
    net = makeTestNet({ accounts: 2 });
    const gate = new Promise<never>((_, reject) => (failDown = () => reject(new Error("settlement node unreachable"))));
    gate.catch(() => undefined);
    const down: AnchorTarget = { name: "test:down", lastEpoch: () => gate, submit: () => Promise.reject(new Error("unreachable")) };
    node = await PouwNode.create({
      dataDir: join(dir, "validator"),
      genesisJson: net.genesisJson,
      validatorKey: net.validator,
      rpc: { host: "127.0.0.1", port: 0 },
      metrics: true,
      metricsListen: { host: "127.0.0.1", port: 0 },
      relay: { targets: [memoryAnchor("test:up"), down], retryMs: 200 },
      blockTimeMs: 100,
    });
    // Before start: nothing has happened yet (no block, no transaction, no relay attempt).
    first = await node.metrics!.registry.metrics();
    await node.start();
    rpcUrl = node.rpcServer!.url;
    follower = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      metrics: true,
      network: { listen: ["/ip4/127.0.0.1/tcp/0"], addressBook: null },
    });
    await follower.start();
  });
  afterAll(async () => {
    await follower?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (url = new URL("/metrics", rpcUrl).toString()) => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it("pre-initialises counters whose labels are known: at 0 before any event", () => {
    expect(sample(first, 'pouw_relay_failures_total{target="test:up"}')).toBeUndefined(); // the relayer has not started
    expect(sample(first, 'pouw_mempool_admissions_total{result="ADMITTED"}')).toBe(0);
    expect(sample(first, 'pouw_mempool_admissions_total{result="NONCE_TOO_LOW"}')).toBe(0);
    expect(sample(first, 'pouw_rpc_requests_total{method="pouw_chainInfo",outcome="ok"}')).toBe(0);
    for (const result of ["accepted", "rejected", "paid"]) expect(sample(first, `pouw_proofs_total{result="${result}"}`), result).toBe(0);
    expect(sample(first, "pouw_self_missed_blocks_total")).toBe(0);
    for (const step of ["propose", "prevote", "precommit", "commit"]) expect(sample(first, `pouw_consensus_step_duration_seconds_count{step="${step}"}`), step).toBe(0);
  });

  it("relay failures exist per target from the relayer's start, and count a failure when one comes", async () => {
    const before = await scrape();
    expect(sample(before, 'pouw_relay_failures_total{target="test:up"}')).toBe(0);
    expect(sample(before, 'pouw_relay_failures_total{target="test:down"}')).toBe(0);
    failDown();
    await until(scrape, (t) => (sample(t, 'pouw_relay_failures_total{target="test:down"}') ?? 0) >= 1, 10_000, "the failure counted");
    const after = await scrape();
    expect(sample(after, 'pouw_relay_failures_total{target="test:up"}')).toBe(0);
    // The reachable target has a lag; the unreachable one was never read, so it has none.
    expect(sample(after, 'pouw_relay_lag_epochs{target="test:up"}')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'pouw_relay_lag_epochs{target="test:down"}')).toBeUndefined();
  });

  it("has every new series with its type, and values that follow the chain", async () => {
    await until(() => node.chain.head.header.height, (h) => h >= 5, 30_000, "5 blocks");
    const client = new PouwClient(rpcUrl);
    const { bytes } = signedTransfer(net.accounts[0]!, { nonce: 0n, to: net.accounts[1]!.address, amount: 1000n, maxFeePerGas: 100n, maxPriorityFeePerGas: 2n });
    expect((await client.waitForTransaction(await client.sendRawTransaction(bytes), { timeoutMs: 30_000, intervalMs: 50 })).status).toBe("finalized");
    const text = await scrape();
    const t = types(text);
    for (const [name, type] of Object.entries(NEW_SERIES)) expect(t.get(name), name).toBe(type);
    expectWellNamed(text);

    const git = spawnSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" });
    const commit = git.status === 0 ? git.stdout.trim() : "unknown";
    expect(sample(text, `pouw_build_info{version="0.1.0",commit="${commit}"}`)).toBe(1);

    const status = (s: string) => sample(text, `pouw_validator_status{status="${s}"}`);
    expect(["active", "inactive", "jailed", "tombstoned", "unregistered"].map(status)).toEqual([1, 0, 0, 0, 0]);
    expect(sample(text, "pouw_validator_power")).toBe(100);
    expect(sample(text, `pouw_validator_missed_blocks{validator="${net.validator.bech32}"}`)).toBe(0);
    expect(sample(text, "pouw_self_missed_blocks_total")).toBe(0);

    const age = sample(text, "pouw_head_age_seconds")!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(5);
    for (const step of ["propose", "prevote", "precommit", "commit"]) expect(sample(text, `pouw_consensus_step_duration_seconds_count{step="${step}"}`), step).toBeGreaterThanOrEqual(5);
    for (const s of ["open", "proving", "completed", "cancelled", "expired"]) expect(sample(text, `pouw_jobs{status="${s}"}`), s).toBe(0);
    expect(sample(text, 'pouw_mempool_admissions_total{result="ADMITTED"}')).toBe(1);
    expect(sample(text, "pouw_mempool_bytes")).toBe(node.mempool.bytes);
    expect(sample(text, "pouw_worker_training_steps_per_second")).toBe(0);
    const free = sample(text, "pouw_data_dir_free_bytes")!;
    const size = sample(text, "pouw_data_dir_size_bytes")!;
    expect(free).toBeGreaterThan(0);
    expect(size).toBeGreaterThanOrEqual(free);
  });

  it("--metrics-addr's listener serves GET /metrics and 404s everything else", async () => {
    const url = node.metricsServer!.url;
    const text = await scrape(url);
    expect(sample(text, "pouw_validator_power")).toBe(100);
    for (const path of ["/", "/health", "/status", "/metrics/x"]) expect((await fetch(new URL(path, url))).status, path).toBe(404);
    expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(404);
  });

  it("a follower in memory: gossip verdicts per topic at 0, no validator series, no disk series", async () => {
    const text = await follower.metrics!.registry.metrics();
    for (const topic of ["tx", "txs", "proposal", "vote", "attestation", "evidence", "anchor"]) {
      for (const verdict of ["accept", "reject", "ignore"]) expect(sample(text, `pouw_gossip_messages_total{topic="${topic}",verdict="${verdict}"}`), `${topic} ${verdict}`).toBe(0);
    }
    expect(sample(text, 'pouw_p2p_dials_total{result="failed"}')).toBe(0);
    const t = types(text);
    for (const name of ["pouw_validator_status", "pouw_validator_power", "pouw_self_missed_blocks_total", "pouw_data_dir_free_bytes", "pouw_data_dir_size_bytes"]) expect(t.has(name), name).toBe(false);
    expectWellNamed(text);
  });

  it.skipIf(!hasPromtool)("promtool check metrics accepts the validator's and the follower's scrapes (needs promtool: Debian package prometheus)", async () => {
    for (const text of [await scrape(), await scrape(node.metricsServer!.url), await follower.metrics!.registry.metrics()]) {
      const r = promtool(text);
      expect(r.output).toBe("");
      expect(r.status).toBe(0);
    }
  });
});

describe("pouw start --metrics-addr", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-metrics-cli-"));
  const env = { ...process.env, POUW_KEYRING: join(dir, "keyring"), POUW_HOME: join(dir, "default-home") };
  let child: ChildNode | undefined;
  let held: Server | undefined;
  afterAll(async () => {
    held?.close();
    child?.proc.kill("SIGTERM");
    await child?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves /metrics on its own port (404 elsewhere), as the RPC port does; promtool accepts it", async () => {
    const rpc = await freePort();
    const mport = await freePort();
    child = await startChild(join(dir, "home"), rpc, ["--devnet", "--no-worker", "--metrics-addr", `127.0.0.1:${mport}`], env);
    await until(() => child!.client.chainInfo(), (i) => i.height >= 2, 30_000, "2 blocks");
    const own = await (await fetch(`http://127.0.0.1:${mport}/metrics`)).text();
    expect(sample(own, 'pouw_validator_status{status="active"}')).toBe(1);
    expect((await fetch(`http://127.0.0.1:${mport}/`)).status).toBe(404);
    const viaRpc = await (await fetch(`http://127.0.0.1:${rpc}/metrics`)).text();
    expect(types(viaRpc)).toEqual(types(own));
    expectWellNamed(own);
    if (hasPromtool) expect(promtool(own)).toEqual({ status: 0, output: "" });
  });

  it("a busy --metrics-addr port is one line naming it, exit 85", async () => {
    const port = await freePort();
    held = createServer();
    await new Promise<void>((resolve) => held!.listen(port, "127.0.0.1", () => resolve()));
    const r = await promisify(execFile)(process.execPath, [CLI, "start", "--devnet", "--home", join(dir, "busy"), "--rpc-port", String(await freePort()), "--metrics-addr", `127.0.0.1:${port}`, "--no-worker", "--log-level", "warn"], { env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code, r.stderr).toBe(EXIT.METRICS_LISTEN_FAILED);
    expect(r.stderr.trim()).toBe(`error: Metrics port 127.0.0.1:${port} is in use (another pouw node?): stop it or start with --metrics-addr`);
  });

  it("a malformed --metrics-addr fails before anything starts", async () => {
    const r = await promisify(execFile)(process.execPath, [CLI, "start", "--devnet", "--home", join(dir, "bad"), "--metrics-addr", "9750"], { env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(r.code).toBe(EXIT.ERROR);
    expect(r.stderr.trim()).toBe('error: --metrics-addr must be host:port (e.g. 127.0.0.1:9750, [::1]:9750, :9750 for every interface), got "9750"');
  });
});
