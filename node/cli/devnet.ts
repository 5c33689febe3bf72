/**
 * `pouw devnet --validators N`: N validator processes on 127.0.0.1 from a
 * generated genesis (the devnet's funded accounts, published validator keys
 * devval:0…N-1), each with its own home, RPC port and P2P port, all peered.
 * Their logs are interleaved with a name prefix; Ctrl-C stops them all.
 */
import { AnchorKey } from "../crypto/anchor-key.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { AccountKey, devValidatorLabel } from "../crypto/keys.ts";
import { PouwClient } from "../client/client.ts";
import { toHex } from "../util/hex.ts";
import { CliError } from "./errors.ts";
import { DEVNET_GENESIS_PATH, initHome, peerIdOf } from "./home.ts";
import { DEVNET_INSECURE_LABEL } from "./key-file.ts";

export interface DevnetOptions {
  validators: string;
  dir?: string;
  rpcBasePort: string;
  p2pBasePort: string;
  blockTime?: string;
}

const CLI = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface PrepareOptions {
  /** Genesis params over the devnet's. */
  params?: Record<string, unknown>;
  /**
   * Homes for validators that are not in genesis (keys devval:N…), numbered
   * after the genesis ones and peered with them: to join by CreateValidator.
   */
  extra?: number;
}

/** Creates the N (+ extra) homes (once); returns their directories and RPC URLs. */
export async function prepareDevnet(n: number, dir: string, rpcBase: number, p2pBase: number, opts: PrepareOptions = {}): Promise<{ homes: string[]; rpc: string[] }> {
  const total = n + (opts.extra ?? 0);
  const homes = Array.from({ length: total }, (_, i) => join(dir, `node${i}`));
  const rpc = homes.map((_, i) => `http://127.0.0.1:${rpcBase + i}/`);
  if (existsSync(join(dir, "genesis.json"))) return { homes, rpc };
  mkdirSync(dir, { recursive: true });
  const base = JSON.parse(readFileSync(DEVNET_GENESIS_PATH, "utf8")) as Record<string, unknown>;
  const validators = Array.from({ length: total }, (_, i) => AccountKey.fromLabel(devValidatorLabel(i)));
  const genesis = {
    ...base,
    chainId: `pouw-devnet-${n}v`,
    params: { ...(base.params as object), ...opts.params },
    validators: validators.slice(0, n).map((k, i) => ({ name: `validator-${i}`, publicKey: toHex(k.publicKey), anchorAddress: AnchorKey.fromSeed(k.seed).address, power: "100" })),
  };
  const genesisPath = join(dir, "genesis.json");
  writeFileSync(genesisPath, JSON.stringify(genesis, null, 2) + "\n");
  const nodeKeys = await Promise.all(homes.map(async () => (await generateKeyPair("Ed25519")).raw));
  const addrs = nodeKeys.map((k, i) => `/ip4/127.0.0.1/tcp/${p2pBase + i}/p2p/${peerIdOf(k)}`);
  for (const [i, home] of homes.entries()) {
    await initHome(home, {
      genesisPath,
      validatorKey: validators[i]!,
      insecure: DEVNET_INSECURE_LABEL,
      rpcPort: rpcBase + i,
      // Genesis validators peer with each other; extra ones dial them.
      p2p: { listen: [`/ip4/127.0.0.1/tcp/${p2pBase + i}`], peers: addrs.filter((_, j) => j !== i && (j < n || i >= n)) },
      nodeKey: nodeKeys[i]!,
    });
  }
  return { homes, rpc };
}

/** How long a validator may take to answer its first RPC call. */
const START_TIMEOUT_MS = 120_000;

export async function devnetCommand(o: DevnetOptions): Promise<void> {
  const n = Number(o.validators);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new CliError("BAD_FLAG", "--validators must be between 1 and 64");
  const dir = resolve(o.dir ?? `.pouw-devnet-${n}`);
  const { homes, rpc } = await prepareDevnet(n, dir, Number(o.rpcBasePort), Number(o.p2pBasePort));
  console.log(`devnet of ${n} validators in ${dir} (published keys: never hold value on them)`);
  for (const [i, url] of rpc.entries()) console.log(`  validator-${i}  RPC ${url}`);
  let stopping = false;
  /** Each validator's last `error: …` line (what `pouw start` says when it cannot start). */
  const lastError = homes.map(() => "");
  const children: ChildProcess[] = homes.map((home, i) => {
    const args = [CLI, "start", "--home", home, ...(o.blockTime ? ["--block-time", o.blockTime] : [])];
    // The validators' output reaches a human through this process: on a terminal they log pretty lines, not JSON.
    const env = process.stdout.isTTY && !process.env.POUW_LOG_FORMAT ? { ...process.env, POUW_LOG_FORMAT: "pretty" } : process.env;
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
    const prefix = `[validator-${i}] `;
    const pipe = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
      let buf = "";
      stream.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) {
          if (l.startsWith("error: ")) lastError[i] = l.slice("error: ".length);
          out.write(prefix + l + "\n");
        }
      });
    };
    pipe(child.stdout!, process.stdout);
    pipe(child.stderr!, process.stderr);
    child.on("exit", (code, signal) => {
      if (!stopping) console.error(`${prefix}exited (${signal ?? code})`);
    });
    return child;
  });
  const exited = children.map((c) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.on("exit", (code) => r(code)))));
  const stopAll = async () => {
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
    await Promise.all(exited);
  };
  const stop = () => {
    if (stopping) return;
    void stopAll().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  // A validator that stops on its own with an error status (a port or home in use, a storage fault) stops the
  // devnet: none is left running and its reason is the error. One killed by a signal or stopped cleanly is only reported.
  const failed = new Promise<{ i: number; code: number | null }>((r) => exited.forEach((e, i) => void e.then((code) => code !== null && code !== 0 && r({ i, code }))));
  const describe = (f: { i: number; code: number | null }) =>
    f.i >= 0 ? `validator-${f.i} could not start: ${lastError[f.i] || `it exited with status ${f.code}`}; stopped the devnet` : `not every validator answered RPC within ${START_TIMEOUT_MS / 1000} s; stopped the devnet`;
  const first = await Promise.race([
    Promise.all(rpc.map((url) => untilServing(url, () => stopping))).then(() => null),
    failed,
    new Promise<{ i: number; code: null }>((r) => setTimeout(() => r({ i: -1, code: null }), START_TIMEOUT_MS).unref()),
  ]);
  if (stopping && !first) return;
  if (first) {
    await stopAll();
    throw new CliError("VALIDATOR_DID_NOT_START", describe(first), { validator: first.i, exitCode: first.code });
  }
  console.log(`all ${n} validators are up; Ctrl-C stops them all`);
  void failed.then(async (f) => {
    if (stopping) return;
    await stopAll();
    console.error(`error: ${describe(f).replace("could not start", "stopped")}`);
    process.exit(f.code ?? 1);
  });
}

/** Resolves once the node at `url` answers pouw_chainInfo (or `cancelled()` says to give up). */
async function untilServing(url: string, cancelled: () => boolean): Promise<void> {
  const client = new PouwClient(url);
  while (!cancelled()) {
    try {
      await client.chainInfo();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
