import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AccountKey, devValidatorLabel } from "../crypto/keys.ts";
import type { AnchorTarget } from "../anchor/checkpoint.ts";
import { evmTargetFromDeployment, suiTargetFromDeployment } from "../anchor/deployment.ts";
import { PouwNode } from "../node.ts";
import { DEFAULT_PRUNING_KEEP, parsePruning, type Pruning } from "../chain/pruner.ts";
import type { RpcServerOptions } from "../rpc/server.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { asStorageFault, freeBytes, isStorageFault, StorageFault, storageFaultLine } from "../util/storage-fault.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { defaultHome } from "./default-home.ts";
import { CliError, EXIT } from "./errors.ts";
import { DEFAULT_HOME_CONFIG, DEVNET_GENESIS_PATH, initHome, isInitialised, isTargetPeers, loadHome, LOG_LEVELS, MAX_TARGET_PEERS, parseHostPort, parsePort, peerIdOf, readConfig, unlockHomeKeys, writeNodeKey, type HomeConfig, type P2pConfig } from "./home.ts";
import { DEVNET_INSECURE_LABEL } from "./key-file.ts";
import { passwordSource } from "./password.ts";
import { createFailure, startFailure } from "./start-errors.ts";
import { Keyring } from "./keyring.ts";
import { startWorker } from "./worker.ts";
import { trustFromEvmAnchor } from "../anchor/trust.ts";
import type { StateSyncProgress } from "../sync/state-sync.ts";
import { DEFAULT_PARAMS } from "../types/params.ts";
import { fromHex } from "../util/hex.ts";

export interface StartOptions {
  home?: string;
  devnet?: boolean;
  rpcHost?: string;
  rpcPort?: string;
  /** RPC abuse limits (issue 12); absent ones keep DEFAULT_RPC_OPTIONS. */
  rpcMaxConnections?: string;
  rpcMaxConnectionsPerIp?: string;
  rpcMaxSendBufferMb?: string;
  rpcMaxInFlight?: string;
  rpcMaxHeavy?: string;
  rpcIdleTimeout?: string;
  rpcBlobQuotaMb?: string;
  rpcBlobTtl?: string;
  logLevel?: string;
  jsonLogs?: boolean;
  blockTime?: string;
  /** Blocks to keep or "archive" (over config.json's pruning). */
  pruning?: string;
  /** Override config.json's P2P listen address (and turn networking on). */
  p2pHost?: string;
  p2pPort?: string;
  peers?: string;
  /** Peers to keep (over config.json's p2p.targetPeers). */
  targetPeers?: string;
  /** A key name for the built-in worker, or false (--no-worker). */
  worker?: string | boolean;
  keyring?: string;
  /** The password of the home's encrypted keys (and of an encrypted --worker key): the first line of this file. */
  passwordFile?: string;
  relayEvm?: string;
  relaySui?: string;
  stateSync?: boolean;
  trustHeight?: string;
  trustHash?: string;
  trustAnchor?: string;
  snapshotEvery?: string;
  /** host:port of a listener serving only GET /metrics (over config.json's metricsAddr). */
  metricsAddr?: string;
  /** Stop after committing this height (an upgrade at an agreed height). */
  haltHeight?: string;
}

/** --halt-height: a height ≥ 1, or undefined without the flag. */
export function resolveHaltHeight(opts: StartOptions): number | undefined {
  if (opts.haltHeight === undefined) return undefined;
  const n = Number(opts.haltHeight);
  if (!/^\d+$/.test(opts.haltHeight.trim()) || !Number.isSafeInteger(n) || n < 1) throw new CliError("BAD_FLAG", `--halt-height must be a block height (a whole number ≥ 1), got "${opts.haltHeight}"`);
  return n;
}

/** sysexits.h EX_IOERR: the exit status after a storage fault (the disk refused a write). */
export const EXIT_STORAGE_FAULT = EXIT.STORAGE_FAULT;

/** Logs a storage fault met before the node existed (opening the database, writing genesis) and exits. */
function exitOnStorageFault(logger: Logger, e: unknown, home: string): never {
  const f = asStorageFault(e, "node data", home);
  const fault = f instanceof StorageFault ? f : new StorageFault("node data", home, e);
  const free = freeBytes(fault.path ?? home);
  logger.fatal({ what: fault.what, path: fault.path, errno: fault.errno, freeBytes: free, err: fault.cause }, storageFaultLine(fault, free));
  process.exit(EXIT_STORAGE_FAULT);
}

/** The RPC limits given on the command line (sizes in MiB, times in seconds), checked. */
export function rpcLimits(opts: StartOptions): Partial<RpcServerOptions> {
  const out: Partial<RpcServerOptions> = {};
  const num = (flag: string, v: string | undefined, min: number, scale: number, key: keyof RpcServerOptions) => {
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${flag} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
    (out as Record<string, number>)[key] = Math.round(n * scale);
  };
  num("rpc-max-connections", opts.rpcMaxConnections, 1, 1, "maxConnections");
  num("rpc-max-connections-per-ip", opts.rpcMaxConnectionsPerIp, 1, 1, "maxConnectionsPerIp");
  num("rpc-max-send-buffer-mb", opts.rpcMaxSendBufferMb, 0, 1024 * 1024, "maxSendBufferBytes");
  num("rpc-max-in-flight", opts.rpcMaxInFlight, 1, 1, "maxInFlightPerSocket");
  num("rpc-max-heavy", opts.rpcMaxHeavy, 1, 1, "maxConcurrentHeavy");
  num("rpc-idle-timeout", opts.rpcIdleTimeout, 1, 1000, "idleTimeoutMs");
  num("rpc-blob-quota-mb", opts.rpcBlobQuotaMb, 0, 1024 * 1024, "blobQuotaBytes");
  num("rpc-blob-ttl", opts.rpcBlobTtl, 1, 1000, "blobTtlMs");
  return out;
}

/** A TCP port given to `flag`: a whole number 0 … 65535 (0: any free port). */

const splitList = (s: string | undefined): string[] => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean);
const tcpAddr = (host: string, port: number) => `/${host.includes(":") ? "ip6" : "ip4"}/${host}/tcp/${port}`;

/**
 * The JSON-RPC listener: config.json's `rpc` with --rpc-host / --rpc-port over
 * it (either flag turns RPC on for a home whose config has `"rpc": null`).
 */
export function resolveRpc(config: HomeConfig, opts: StartOptions): { host: string; port: number } | null {
  const port = opts.rpcPort !== undefined ? parsePort(opts.rpcPort, "--rpc-port") : undefined;
  if (!config.rpc && port === undefined && opts.rpcHost === undefined) return null;
  return { host: opts.rpcHost ?? config.rpc?.host ?? "127.0.0.1", port: port ?? config.rpc?.port ?? 8750 };
}

/**
 * Networking: config.json's `p2p` with --p2p-host / --p2p-port replacing its
 * listen address, --peers added to its peers and --target-peers over its
 * targetPeers. --p2p-port turns networking on for a home initialised without it.
 */
export function resolveP2p(config: HomeConfig, opts: StartOptions): P2pConfig | null {
  const port = opts.p2pPort !== undefined ? parsePort(opts.p2pPort, "--p2p-port") : undefined;
  const extra = splitList(opts.peers);
  const target = opts.targetPeers !== undefined ? Number(opts.targetPeers) : undefined;
  if (opts.targetPeers !== undefined && (!/^\d+$/.test(opts.targetPeers.trim()) || !isTargetPeers(target))) {
    throw new CliError("BAD_FLAG", `--target-peers must be a whole number from 1 to ${MAX_TARGET_PEERS}, got "${opts.targetPeers}"`);
  }
  if (!config.p2p && port === undefined) {
    const flag = opts.p2pHost !== undefined ? "--p2p-host" : extra.length > 0 ? "--peers" : target !== undefined ? "--target-peers" : null;
    if (flag) throw new CliError("BAD_FLAG", `${flag} needs networking, which this home's config.json leaves off ("p2p": null): add --p2p-port`);
    return null;
  }
  let listen = config.p2p?.listen ?? [];
  if (port !== undefined || opts.p2pHost !== undefined) {
    const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(listen[0] ?? "");
    listen = [tcpAddr(opts.p2pHost ?? m?.[1] ?? "127.0.0.1", port ?? (m ? Number(m[2]) : 8760))];
  }
  const targetPeers = target ?? config.p2p?.targetPeers;
  const { pex, privatePeers } = config.p2p ?? {};
  return { listen, peers: [...(config.p2p?.peers ?? []), ...extra], ...(targetPeers !== undefined ? { targetPeers } : {}), ...(pex !== undefined ? { pex } : {}), ...(privatePeers ? { privatePeers } : {}) };
}

/**
 * How much history to keep: --pruning, else config.json's pruning, else
 * archive for a devnet or a node without a validator key (the nodes others
 * sync old blocks from) and the last 100,000 blocks for a validator.
 */
export function resolvePruning(config: HomeConfig, opts: StartOptions, isValidator: boolean): Pruning {
  if (opts.pruning !== undefined) {
    const p = parsePruning(opts.pruning);
    if (!p) throw new CliError("BAD_FLAG", `--pruning must be a number of blocks to keep (≥ 1) or "archive", got "${opts.pruning}"`);
    return p;
  }
  if (config.pruning !== undefined) return parsePruning(config.pruning)!;
  return opts.devnet || !isValidator ? "archive" : { keep: DEFAULT_PRUNING_KEEP };
}

/** The log level: --log-level, else $POUW_LOG_LEVEL, else config.json's logLevel (default info). */
export function resolveLogLevel(config: HomeConfig, opts: StartOptions): string {
  const [level, from] = opts.logLevel !== undefined ? [opts.logLevel, "--log-level"] : process.env.POUW_LOG_LEVEL ? [process.env.POUW_LOG_LEVEL, "$POUW_LOG_LEVEL"] : [config.logLevel, "config.json logLevel"];
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new CliError("BAD_FLAG", `${from} must be one of ${LOG_LEVELS.join(", ")}, got "${level}"`);
  return level;
}

/**
 * State sync's trust: --trust-height and --trust-hash, else --trust-anchor
 * (read when the node starts), else config.json's stateSync. Null without
 * --state-sync (or config.json stateSync). The flags are checked here, so a
 * typo fails before anything starts.
 */
export function resolveStateSync(config: HomeConfig, opts: StartOptions): { height: number; hash: Uint8Array; source: string } | { anchor: string } | null {
  const given = opts.trustHeight !== undefined || opts.trustHash !== undefined || opts.trustAnchor !== undefined;
  if (given && !opts.stateSync) throw new CliError("BAD_FLAG", "--trust-height, --trust-hash and --trust-anchor are for state sync: add --state-sync");
  if (!opts.stateSync && !config.stateSync) return null;
  if (opts.trustAnchor !== undefined) {
    if (opts.trustHeight !== undefined || opts.trustHash !== undefined) throw new CliError("BAD_FLAG", "give either --trust-anchor or --trust-height with --trust-hash, not both");
    return { anchor: opts.trustAnchor };
  }
  if (opts.trustHeight !== undefined || opts.trustHash !== undefined) {
    if (opts.trustHeight === undefined || opts.trustHash === undefined) throw new CliError("BAD_FLAG", "--trust-height and --trust-hash go together (the height of a block you trust and its hash)");
    if (!/^\d+$/.test(opts.trustHeight.trim()) || Number(opts.trustHeight) < 1 || !Number.isSafeInteger(Number(opts.trustHeight))) throw new CliError("BAD_FLAG", `--trust-height must be a block height ≥ 1, got "${opts.trustHeight}"`);
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(opts.trustHash.trim())) throw new CliError("BAD_FLAG", `--trust-hash must be a block hash (0x and 64 hex digits), got "${opts.trustHash}"`);
    return { height: Number(opts.trustHeight), hash: fromHex(opts.trustHash.trim()), source: "--trust-height/--trust-hash" };
  }
  if (config.stateSync) return { height: config.stateSync.trustHeight, hash: fromHex(config.stateSync.trustHash), source: "config.json stateSync" };
  throw new CliError("BAD_FLAG", "--state-sync needs a block to trust: --trust-height and --trust-hash (e.g. from a node you trust: pouw_getBlock), or --trust-anchor <deployment.json>");
}

/** The state snapshots this node makes: --snapshot-every over config.json's stateSnapshots. */
export function resolveStateSnapshots(config: HomeConfig, opts: StartOptions): { every?: number; keep?: number } {
  if (opts.snapshotEvery === undefined) return config.stateSnapshots ?? {};
  if (!/^\d+$/.test(opts.snapshotEvery.trim())) throw new CliError("BAD_FLAG", `--snapshot-every must be a whole number of blocks (0: none), got "${opts.snapshotEvery}"`);
  return { ...config.stateSnapshots, every: Number(opts.snapshotEvery) };
}

/** The metrics listener: --metrics-addr, else config.json's metricsAddr, else none (metrics stay on the RPC port). */
export function resolveMetricsAddr(config: HomeConfig, opts: StartOptions): { host: string; port: number } | null {
  if (opts.metricsAddr === undefined) return config.metricsAddr === undefined ? null : parseHostPort(config.metricsAddr);
  const addr = parseHostPort(opts.metricsAddr);
  if (!addr) throw new CliError("BAD_FLAG", `--metrics-addr must be host:port (e.g. 127.0.0.1:9750, [::1]:9750, :9750 for every interface), got "${opts.metricsAddr}"`);
  return addr;
}

/** A one-line progress bar on a terminal (stderr), redrawn in place; nothing when stderr is not a terminal. */
function progressBar(): ((p: StateSyncProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 100 && p.done < p.total) return;
    last = now;
    const width = 30;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    const what = { peers: "peers answering", blocks: "blocks to the trusted one", chunks: "state chunks", restore: "restoring" }[p.phase];
    const mb = p.bytes > 0 ? ` ${(p.bytes / 2 ** 20).toFixed(1)} MiB` : "";
    process.stderr.write(`\rstate sync [${bar}] ${Math.round(frac * 100)}% ${p.done}/${p.total} ${what}${mb}\x1b[K${p.phase === "restore" ? "\n" : ""}`);
  };
}

/**
 * `pouw start`: runs a node until SIGINT/SIGTERM. The home is --home, else
 * $POUW_HOME, else ~/.pouw; with --devnet, ./.pouw-devnet (initialised from
 * the embedded genesis if needed). Flags override config.json key by key.
 */
export async function startCommand(opts: StartOptions): Promise<void> {
  const home = opts.home ?? (opts.devnet ? ".pouw-devnet" : defaultHome());
  const limits = rpcLimits(opts); // bad flags fail before anything is written
  if (opts.pruning !== undefined) resolvePruning(DEFAULT_HOME_CONFIG, opts, false);
  if (opts.rpcPort !== undefined) parsePort(opts.rpcPort, "--rpc-port");
  if (opts.p2pPort !== undefined) parsePort(opts.p2pPort, "--p2p-port");
  resolveStateSync(DEFAULT_HOME_CONFIG, opts);
  resolveStateSnapshots(DEFAULT_HOME_CONFIG, opts);
  resolveMetricsAddr(DEFAULT_HOME_CONFIG, opts);
  const haltHeight = resolveHaltHeight(opts);
  const initDevnet = opts.devnet === true && !isInitialised(home);
  if (initDevnet) await initHome(home, { genesisPath: DEVNET_GENESIS_PATH, validatorKey: AccountKey.fromLabel(devValidatorLabel(0)), insecure: DEVNET_INSECURE_LABEL });
  if (opts.devnet && readFileSync(join(home, "genesis.json"), "utf8") !== readFileSync(DEVNET_GENESIS_PATH, "utf8")) {
    // A home from an earlier release: its chain (and data format) is not this devnet's.
    throw new Error(`${home} holds an older devnet genesis than this release's; remove it (rm -rf ${home}) to start the current devnet`);
  }
  const loaded = loadHome(home);
  const logger = createLogger({ level: resolveLogLevel(loaded.config, opts), pretty: opts.jsonLogs ? false : undefined });
  if (initDevnet) logger.warn({ home }, "Initialised a DEVNET home: its validator and funded accounts use PUBLISHED keys; never hold value on them");
  // Keys before anything else starts: an encrypted validator key with no password is one line and exit 83 (KEY_LOCKED).
  const password = passwordSource(opts);
  const warn = (message: string, info: { path: string }) => logger.warn({ file: info.path }, message);
  const { validatorKey, anchorKey } = await unlockHomeKeys(loaded, { password, warn });
  const workerName = typeof opts.worker === "string" ? opts.worker : opts.worker !== false && opts.devnet ? "dev:1" : null;
  const workerKey = workerName ? await new Keyring(opts.keyring, { password, warn }).get(workerName) : null;
  const { unknownKeys } = readConfig(home);
  if (unknownKeys.length > 0) logger.warn({ home, keys: unknownKeys }, "config.json has keys this node does not know: ignored");
  const rpcAddr = resolveRpc(loaded.config, opts);
  const rpc = rpcAddr ? { ...rpcAddr, ...limits } : null;
  const p2p = resolveP2p(loaded.config, opts);
  let nodeKey = loaded.nodeKey;
  if (p2p && !nodeKey) {
    // Networking turned on by flag: give the home a lasting libp2p identity, as `pouw init --p2p-port` does.
    nodeKey = (await generateKeyPair("Ed25519")).raw;
    writeNodeKey(home, nodeKey);
    logger.info({ peerId: peerIdOf(nodeKey) }, "Created the node's P2P key (keys/node_key.json)");
  }
  const chainId = (JSON.parse(loaded.genesisJson) as { chainId: string }).chainId;
  const targets: AnchorTarget[] = [];
  if (opts.relayEvm) targets.push(await evmTargetFromDeployment(opts.relayEvm, chainId));
  if (opts.relaySui) targets.push(suiTargetFromDeployment(opts.relaySui, chainId));
  const trust = resolveStateSync(loaded.config, opts);
  if (trust && !p2p) throw new CliError("BAD_FLAG", "--state-sync needs networking (peers to fetch the state from): add --p2p-port and --peers");
  const epochLength = (JSON.parse(loaded.genesisJson) as { params?: { epochLength?: number } }).params?.epochLength ?? DEFAULT_PARAMS.epochLength;
  const bar = trust ? progressBar() : undefined;
  const create = PouwNode.create({
    dataDir: home,
    genesisJson: loaded.genesisJson,
    validatorKey,
    ...(anchorKey ? { anchorKey } : {}),
    relay: targets.length > 0 ? { targets } : null,
    rpc,
    logger,
    metrics: true,
    metricsListen: resolveMetricsAddr(loaded.config, opts),
    blockTimeMs: opts.blockTime !== undefined ? Number(opts.blockTime) : undefined,
    pruning: resolvePruning(loaded.config, opts, validatorKey !== null),
    stateSnapshots: resolveStateSnapshots(loaded.config, opts),
    stateSync: trust
      ? {
          trust: "anchor" in trust ? () => trustFromEvmAnchor(trust.anchor, chainId, { epochLength }) : trust,
          ...(bar ? { onProgress: bar } : {}),
        }
      : null,
    network: p2p
      ? {
          listen: p2p.listen,
          bootstrap: p2p.peers,
          ...(p2p.targetPeers !== undefined ? { targetPeers: p2p.targetPeers } : {}),
          ...(p2p.pex !== undefined ? { pex: p2p.pex } : {}),
          ...(p2p.privatePeers ? { privatePeers: p2p.privatePeers } : {}),
          ...(nodeKey ? { peerKey: nodeKey } : {}),
        }
      : null,
    // Fail-stop: the node has logged the fault and stopped signing; exit now, without a graceful close that needs the disk.
    // The database is consistent as it is (every commit is one synced batch), and so is the next start.
    onStorageFault: () => process.exit(EXIT_STORAGE_FAULT),
    ...(haltHeight === undefined ? {} : { haltHeight, onHalt: () => void halted() }),
  });
  const node = await create.catch((e: unknown) => (isStorageFault(e) ? exitOnStorageFault(logger, e, home) : Promise.reject(createFailure(e, home))));
  // A storage fault that escaped every handler (an unhandled rejection or exception) stops the node the same way.
  process.on("uncaughtExceptionMonitor", (err) => {
    if (!isStorageFault(err)) return;
    node.storageFault(err);
    process.exit(EXIT_STORAGE_FAULT);
  });
  if (haltHeight !== undefined && node.chain.head.header.height >= haltHeight) {
    const head = node.chain.head.header.height;
    await node.close();
    throw new CliError("HALT_HEIGHT_REACHED", `the chain in ${home} is at height ${head}, at or past --halt-height ${haltHeight}: it halted there; start without --halt-height (or with a later one) once upgraded`);
  }
  let stopping = false;
  // The halt height is committed: close as on SIGTERM, then exit 86 (systemd does not restart it: RestartPreventExitStatus).
  async function halted(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await node.close();
    process.exit(EXIT.HALT_HEIGHT_REACHED);
  }
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "Shutting down");
    await node.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // A port in use (RPC or P2P) is one line and its own exit status (main.ts), with nothing signed yet.
  await node.start().catch((e: unknown) => Promise.reject(startFailure(e)));
  if (validatorKey) logger.info({ validator: validatorKey.bech32, home }, "Validating");
  for (const t of targets) logger.info({ target: t.name }, "Relaying checkpoints");
  if (workerKey && node.rpcServer) {
    const worker = startWorker({ rpc: node.rpcServer.url, key: workerKey, logger: logger.child({ module: "worker" }), metrics: node.metrics });
    node.onClose(() => worker.stop());
  } else if (workerKey) logger.warn("The built-in worker needs the JSON-RPC server: not started");
}
