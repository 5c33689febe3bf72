import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AccountKey, devValidatorLabel } from "../crypto/keys.ts";
import type { AnchorTarget } from "../anchor/checkpoint.ts";
import { evmTargetFromDeployment, suiTargetFromDeployment } from "../anchor/deployment.ts";
import { PouwNode } from "../node.ts";
import type { RpcServerOptions } from "../rpc/server.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { asStorageFault, freeBytes, isStorageFault, StorageFault, storageFaultLine } from "../util/storage-fault.ts";
import { DEVNET_GENESIS_PATH, initHome, isInitialised, loadHome } from "./home.ts";
import { Keyring } from "./keyring.ts";
import { startWorker } from "./worker.ts";

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
  peers?: string;
  /** A key name for the built-in worker, or false (--no-worker). */
  worker?: string | boolean;
  keyring?: string;
  relayEvm?: string;
  relaySui?: string;
}

/** sysexits.h EX_IOERR: the exit status after a storage fault (the disk refused a write). */
export const EXIT_STORAGE_FAULT = 74;

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

/** `pouw start`: runs a node until SIGINT/SIGTERM. With --devnet, initialises ./.pouw-devnet from the embedded genesis first. */
export async function startCommand(opts: StartOptions): Promise<void> {
  const home = opts.home ?? (opts.devnet ? ".pouw-devnet" : join(process.env.HOME ?? ".", ".pouw"));
  const limits = rpcLimits(opts); // bad flags fail before anything is written
  const logger = createLogger({ level: opts.logLevel, pretty: opts.jsonLogs ? false : undefined });
  if (opts.devnet && !isInitialised(home)) {
    await initHome(home, { genesisPath: DEVNET_GENESIS_PATH, validatorKey: AccountKey.fromLabel(devValidatorLabel(0)) });
    logger.warn({ home }, "Initialised a DEVNET home: its validator and funded accounts use PUBLISHED keys; never hold value on them");
  }
  if (opts.devnet && isInitialised(home) && readFileSync(join(home, "genesis.json"), "utf8") !== readFileSync(DEVNET_GENESIS_PATH, "utf8")) {
    // A home from an earlier release: its chain (and data format) is not this devnet's.
    throw new Error(`${home} holds an older devnet genesis than this release's; remove it (rm -rf ${home}) to start the current devnet`);
  }
  const loaded = loadHome(home);
  const rpc = loaded.config.rpc
    ? { host: opts.rpcHost ?? loaded.config.rpc.host, port: opts.rpcPort !== undefined ? Number(opts.rpcPort) : loaded.config.rpc.port, ...limits }
    : null;
  const chainId = (JSON.parse(loaded.genesisJson) as { chainId: string }).chainId;
  const targets: AnchorTarget[] = [];
  if (opts.relayEvm) targets.push(await evmTargetFromDeployment(opts.relayEvm, chainId));
  if (opts.relaySui) targets.push(suiTargetFromDeployment(opts.relaySui, chainId));
  const create = PouwNode.create({
    dataDir: home,
    genesisJson: loaded.genesisJson,
    validatorKey: loaded.validatorKey,
    ...(loaded.anchorKey ? { anchorKey: loaded.anchorKey } : {}),
    relay: targets.length > 0 ? { targets } : null,
    rpc,
    logger,
    metrics: true,
    blockTimeMs: opts.blockTime !== undefined ? Number(opts.blockTime) : undefined,
    network: loaded.config.p2p
      ? {
          listen: loaded.config.p2p.listen,
          bootstrap: [...loaded.config.p2p.peers, ...(opts.peers ?? "").split(",").map((x) => x.trim()).filter(Boolean)],
          ...(loaded.nodeKey ? { peerKey: loaded.nodeKey } : {}),
        }
      : null,
    // Fail-stop: the node has logged the fault and stopped signing; exit now, without a graceful close that needs the disk.
    // The database is consistent as it is (every commit is one synced batch), and so is the next start.
    onStorageFault: () => process.exit(EXIT_STORAGE_FAULT),
  });
  const node = await create.catch((e: unknown) => (isStorageFault(e) ? exitOnStorageFault(logger, e, home) : Promise.reject(e)));
  // A storage fault that escaped every handler (an unhandled rejection or exception) stops the node the same way.
  process.on("uncaughtExceptionMonitor", (err) => {
    if (!isStorageFault(err)) return;
    node.storageFault(err);
    process.exit(EXIT_STORAGE_FAULT);
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "Shutting down");
    await node.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await node.start();
  if (loaded.validatorKey) logger.info({ validator: loaded.validatorKey.bech32, home }, "Validating");
  for (const t of targets) logger.info({ target: t.name }, "Relaying checkpoints");
  const workerKey = typeof opts.worker === "string" ? opts.worker : opts.worker !== false && opts.devnet ? "dev:1" : null;
  if (workerKey && node.rpcServer) {
    const worker = startWorker({ rpc: node.rpcServer.url, key: new Keyring(opts.keyring).get(workerKey), logger: logger.child({ module: "worker" }) });
    node.onClose(() => worker.stop());
  } else if (workerKey) logger.warn("The built-in worker needs the JSON-RPC server: not started");
}
