/**
 * A cluster of real `pouw start` validator processes on 127.0.0.1 and a
 * seeded nemesis that breaks it the way the world does (CometBFT's e2e
 * perturbations, Jepsen's nemesis): SIGKILL at each consensus step (through
 * failpoints), SIGKILL at a random moment, SIGSTOP of one or two validators.
 * While it runs, a load of transfers goes to random validators; after each
 * fault heals it measures how long until the chain commits again, checks
 * that no two validators committed different blocks, and at the end that
 * every accepted transaction was finalized.
 *
 * Used by test/integration/faults.test.ts (short runs) and `npm run soak`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { prepareDevnet } from "../node/cli/devnet.ts";
import { AccountKey, devAccountLabel } from "../node/crypto/keys.ts";
import { SignedTransaction, TxSelector } from "../node/types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../node/types/txcodec.ts";
import { toHex, utf8 } from "../node/util/hex.ts";
import { freePortRange } from "../test/helpers/child.ts";
import { mulberry32 } from "../test/helpers/rng.ts";

const CLI = fileURLToPath(new URL("../node/cli/main.ts", import.meta.url));

export const FAILPOINTS = ["proposed", "signed-prevote", "sent-prevote", "signed-precommit", "sent-precommit", "decided", "committed"] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

/** A small seeded PRNG (mulberry32), as the tests use. */
export const rng = mulberry32;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON-RPC with a deadline (a paused node never answers). */
export async function rpc<T>(url: string, method: string, params: unknown[] = [], timeoutMs = 2000): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string; data?: { code?: string } } };
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.data?.code ?? "RPC_ERROR" });
  return body.result as T;
}

interface Member {
  proc: ChildProcess | null;
  exited: Promise<void>;
  paused: boolean;
  log: string[];
}

export class Cluster {
  readonly n: number;
  readonly homes: string[];
  readonly urls: string[];
  readonly blockTimeMs: number;
  readonly chainId: string;
  private readonly members: Member[];
  /** Called with each line a validator logs (for tests that look for one). */
  onLine: ((i: number, line: string) => void) | null = null;

  private constructor(n: number, homes: string[], urls: string[], blockTimeMs: number, chainId: string) {
    this.n = n;
    this.homes = homes;
    this.urls = urls;
    this.blockTimeMs = blockTimeMs;
    this.chainId = chainId;
    this.members = homes.map(() => ({ proc: null, exited: Promise.resolve(), paused: false, log: [] }));
  }

  /** Creates `n` validator homes under `dir` (a devnet genesis with equal powers). */
  static async create(n: number, dir: string, blockTimeMs: number, params: Record<string, unknown> = {}): Promise<Cluster> {
    const rpcBase = await freePortRange(n);
    const p2pBase = await freePortRange(n);
    const { homes, rpc: urls } = await prepareDevnet(n, dir, rpcBase, p2pBase, { params });
    return new Cluster(n, homes, urls, blockTimeMs, `pouw-devnet-${n}v`);
  }

  isUp(i: number): boolean {
    const m = this.members[i]!;
    return m.proc !== null && !m.paused;
  }

  /** Starts validator i (with `env`, e.g. a failpoint) and waits until it serves RPC. */
  async start(i: number, env: Record<string, string> = {}, args: string[] = [], startMs = 30_000): Promise<void> {
    const m = this.members[i]!;
    if (m.proc) throw new Error(`validator ${i} is already running`);
    const proc = spawn(process.execPath, [CLI, "start", "--home", this.homes[i]!, "--block-time", String(this.blockTimeMs), "--json-logs", "--log-level", "info", "--no-worker", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    m.proc = proc;
    m.paused = false;
    m.exited = new Promise((r) =>
      proc.on("exit", () => {
        if (m.proc === proc) m.proc = null;
        r();
      }),
    );
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) {
        m.log.push(l);
        if (m.log.length > 5000) m.log.splice(0, 1000);
        this.onLine?.(i, l);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    const deadline = Date.now() + startMs;
    for (;;) {
      if (m.proc !== proc) throw new Error(`validator ${i} exited while starting:\n${m.log.slice(-30).join("\n")}`);
      try {
        await rpc(this.urls[i]!, "pouw_chainInfo", [], 1000);
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`validator ${i} did not serve RPC in ${startMs / 1000} s`);
        await sleep(100);
      }
    }
  }

  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    if (!m.proc) return;
    if (m.paused) m.proc.kill("SIGCONT");
    m.proc.kill("SIGKILL");
    await m.exited;
  }

  /** Resolves when validator i's process has exited (e.g. at its failpoint), or after `ms` with false. */
  async waitExit(i: number, ms: number): Promise<boolean> {
    const m = this.members[i]!;
    if (!m.proc) return true;
    return Promise.race([m.exited.then(() => true), sleep(ms).then(() => false)]);
  }

  pause(i: number): void {
    const m = this.members[i]!;
    if (!m.proc || m.paused) return;
    m.proc.kill("SIGSTOP");
    m.paused = true;
  }

  resume(i: number): void {
    const m = this.members[i]!;
    if (!m.proc || !m.paused) return;
    m.proc.kill("SIGCONT");
    m.paused = false;
  }

  log(i: number): string[] {
    return this.members[i]!.log;
  }

  /** Head heights of the validators that are up (null for those down, paused or not answering). */
  async heads(): Promise<(number | null)[]> {
    return Promise.all(this.urls.map((u, i) => (this.isUp(i) ? rpc<{ height: number }>(u, "pouw_chainInfo", [], 1500).then((x) => x.height, () => null) : Promise.resolve(null))));
  }

  async maxHead(): Promise<number> {
    return Math.max(0, ...(await this.heads()).filter((h): h is number => h !== null));
  }

  /** A metric's value from validator i's /metrics (null if it does not answer). */
  async metric(i: number, name: string): Promise<number | null> {
    try {
      const text = await (await fetch(new URL("/metrics", this.urls[i]!), { signal: AbortSignal.timeout(1500) })).text();
      const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
  }
}

/** Blocks every validator committed, by height: two different hashes at one height is a fork. */
export class ForkWatch {
  readonly hashes = new Map<number, string>();
  private checked: number[];
  forks: string[] = [];
  private readonly cluster: Cluster;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    this.checked = cluster.urls.map(() => 0);
  }

  /** Reads the blocks each up validator committed since the last check and compares them. */
  async check(): Promise<void> {
    await Promise.all(
      this.cluster.urls.map(async (url, i) => {
        if (!this.cluster.isUp(i)) return;
        try {
          const head = (await rpc<{ height: number }>(url, "pouw_chainInfo", [], 1500)).height;
          for (let h = this.checked[i]! + 1; h <= head; h++) {
            const b = await rpc<{ hash: string }>(url, "pouw_getBlock", [h], 3000);
            const seen = this.hashes.get(h);
            if (seen === undefined) this.hashes.set(h, b.hash);
            else if (seen !== b.hash) this.forks.push(`height ${h}: validator ${i} committed ${b.hash}, another ${seen}`);
            this.checked[i] = h;
          }
        } catch {
          // down or slow: checked next time
        }
      }),
    );
  }
}

/** Transfers from the devnet's funded accounts to random validators, one in flight per account; remembers what was accepted. */
export class TransferLoad {
  readonly accepted = new Set<string>();
  private running = false;
  private loops: Promise<void>[] = [];

  private readonly cluster: Cluster;
  private readonly random: () => number;
  private readonly accounts: number;
  private readonly pauseMs: number;

  constructor(cluster: Cluster, random: () => number, accounts = 6, pauseMs = 150) {
    this.cluster = cluster;
    this.random = random;
    this.accounts = accounts;
    this.pauseMs = pauseMs;
  }

  start(): void {
    this.running = true;
    for (let a = 0; a < this.accounts; a++) this.loops.push(this.loop(a));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(a: number): Promise<void> {
    const key = AccountKey.fromLabel(devAccountLabel(a));
    const to = AccountKey.fromLabel(devAccountLabel((a + 1) % 10)).address;
    const urls = this.cluster.urls;
    // The next nonce, from whichever validator answers.
    let nonce = -1n;
    while (this.running && nonce < 0n) {
      const i = Math.floor(this.random() * urls.length);
      if (!this.cluster.isUp(i)) {
        await sleep(200);
        continue;
      }
      try {
        const acc = await rpc<{ nonce: string }>(urls[i]!, "pouw_getAccount", [key.bech32], 1500);
        nonce = BigInt(acc.nonce);
      } catch {
        await sleep(200);
      }
    }
    while (this.running) {
      const signed = signTransaction(
        { chainId: utf8(this.cluster.chainId), nonce, maxFeePerGas: 1000n, maxPriorityFeePerGas: 2n, gasLimit: 40_000, body: { selector: TxSelector.Transfer, value: { to, amount: 1n } }, publicKey: key.publicKey },
        key,
      );
      const bytes = SignedTransaction.serialize(signed);
      const hash = envelopeFromSigned(signed, bytes).hashHex;
      // The same bytes until some validator accepts them (or says it already has them / they are in a block).
      for (;;) {
        const i = Math.floor(this.random() * urls.length);
        if (this.cluster.isUp(i)) {
          try {
            await rpc(urls[i]!, "pouw_sendRawTransaction", [toHex(bytes)], 2000);
            this.accepted.add(hash);
            break;
          } catch (e) {
            const code = (e as { code?: string }).code;
            if (code === "ALREADY_KNOWN" || code === "NONCE_TOO_LOW") break;
          }
        }
        if (!this.running) return;
        await sleep(100);
      }
      nonce++;
      await sleep(this.pauseMs);
    }
  }

  /** Accepted transactions not finalized on validator `i` (after waiting up to `ms` for them). */
  async unfinalized(i: number, ms: number): Promise<string[]> {
    const url = this.cluster.urls[i]!;
    let left = [...this.accepted];
    const deadline = Date.now() + ms;
    while (left.length > 0 && Date.now() < deadline) {
      const next: string[] = [];
      for (const h of left) {
        const tx = await rpc<{ status: string } | null>(url, "pouw_getTransaction", [h], 3000).catch(() => null);
        if (tx?.status !== "finalized") next.push(h);
      }
      left = next;
      if (left.length > 0) await sleep(500);
    }
    return left;
  }
}

export type FaultKind = `kill-at:${Failpoint}` | "kill" | "pause-1" | "pause-2";

export interface FaultRecord {
  kind: FaultKind;
  victims: number[];
  /** ms from healing (all back up) until a block above every head at healing was committed. */
  recoveryMs: number;
  /** ms from healing until a restarted/paused validator signed again (its privval height passed the head at healing). */
  signAgainMs: number | null;
  halted: boolean;
}

export interface NemesisOptions {
  seed: number;
  faults: number;
  /** Max SIGSTOP duration (the issue: 10–30 s; short CI runs use less). */
  pauseMs: [number, number];
  /** A fault that does not heal within this is a halt. */
  recoverWithinMs: number;
  kinds?: FaultKind[];
  /** Exactly these faults in this order (instead of `faults` drawn from `kinds`). */
  schedule?: FaultKind[];
  /** Stop drawing faults after this many ms (soak runs), whatever `faults` says. */
  untilMs?: number;
  log?: (line: string) => void;
}

/** Waits until some validator commits a block above `above`; resolves to the ms it took (or null past `ms`). */
export async function untilCommitAbove(cluster: Cluster, above: number, ms: number): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if ((await cluster.maxHead()) > above) return Date.now() - t0;
    await sleep(50);
  }
  return null;
}

/** Runs `faults` seeded faults against the (started) cluster, one at a time, healing each before the next. */
export async function runNemesis(cluster: Cluster, o: NemesisOptions): Promise<FaultRecord[]> {
  const random = rng(o.seed);
  const say = o.log ?? (() => undefined);
  const kinds: FaultKind[] = o.kinds ?? [...FAILPOINTS.map((f) => `kill-at:${f}` as FaultKind), "kill", "pause-1", "pause-2"];
  const records: FaultRecord[] = [];
  const total = o.schedule?.length ?? o.faults;
  const start = Date.now();
  for (let k = 0; k < total; k++) {
    if (o.untilMs !== undefined && Date.now() - start > o.untilMs) break;
    const kind = o.schedule?.[k] ?? kinds[Math.floor(random() * kinds.length)]!;
    const victim = Math.floor(random() * cluster.n);
    const victims = [victim];
    const head = await cluster.maxHead();
    if (kind === "kill") {
      await sleep(Math.floor(random() * cluster.blockTimeMs * 3));
      await cluster.kill(victim);
      await sleep(Math.floor(random() * 3000));
      await cluster.start(victim);
    } else if (kind.startsWith("kill-at:")) {
      const fp = kind.slice("kill-at:".length);
      // Crash it now, restart it armed, and let it die at the failpoint (a proposer's turn comes within n heights).
      await cluster.kill(victim);
      await cluster.start(victim, { POUW_FAILPOINT: `${fp}@${head + 2}` });
      const hit = await cluster.waitExit(victim, 20_000 + cluster.n * 4 * cluster.blockTimeMs);
      if (!hit) await cluster.kill(victim);
      if (!hit) say(`fault ${k + 1}: ${kind} on validator ${victim}: failpoint not reached in time, killed instead`);
      await cluster.start(victim);
    } else {
      const two = kind === "pause-2";
      if (two) victims.push((victim + 1 + Math.floor(random() * (cluster.n - 1))) % cluster.n);
      const ms = o.pauseMs[0] + Math.floor(random() * (o.pauseMs[1] - o.pauseMs[0]));
      for (const v of victims) cluster.pause(v);
      await sleep(ms);
      for (const v of victims) cluster.resume(v);
    }
    const healedHead = await cluster.maxHead();
    const t0 = Date.now();
    const recovered = await untilCommitAbove(cluster, healedHead, o.recoverWithinMs);
    let recoveryMs = recovered ?? o.recoverWithinMs;
    const halted = recovered === null;
    if (halted) {
      // Keep watching: how long it really took (or that it never came back).
      const late = await untilCommitAbove(cluster, healedHead, 120_000);
      recoveryMs = late === null ? Infinity : o.recoverWithinMs + late;
    }
    let signAgainMs: number | null = null;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(50)) {
      const signed = await Promise.all(victims.map((v) => cluster.metric(v, "pouw_privval_last_signed_height")));
      if (signed.every((s) => s !== null && s > healedHead)) {
        signAgainMs = Date.now() - t0;
        break;
      }
    }
    const rec: FaultRecord = { kind, victims, recoveryMs, signAgainMs, halted };
    records.push(rec);
    say(`fault ${k + 1}${Number.isFinite(total) ? `/${total}` : ""}: ${kind} on ${victims.join("+")}: commit again after ${recoveryMs} ms, signing again after ${signAgainMs ?? "-"} ms${halted ? " (HALT)" : ""}`);
  }
  return records;
}
