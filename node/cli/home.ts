/**
 * The node's home directory:
 *   config.json          RPC and P2P addresses, peers, log level, key file (pouw start's flags override each)
 *   genesis.json         the chain's genesis (pinned by hash in the database)
 *   keys/validator.json  the validator's ML-DSA seed (0600), apart from data: an encrypted keystore
 *                        (pouw init --password-file; pouw start --password-file reads it), or plaintext
 *                        (the devnet's published keys, labelled "insecure", and homes from before)
 *   keys/node_key.json   the libp2p identity (Ed25519), when networking is on (plaintext: it signs nothing of value)
 *   keys/anchor.json     optional secp256k1 anchor key, encrypted or plaintext (default: derived from the validator seed)
 *   peers.json           the address book: peers met before, dialed again after a restart (written by the node)
 *   data/                LevelDB: state, receipts, index, privval
 *   blocks/              block bodies;  consensus-wal: the block being voted on
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair, privateKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { AnchorKey } from "../crypto/anchor-key.ts";
import type { AccountKey } from "../crypto/keys.ts";
import { parseGenesis, type GenesisJson } from "../types/genesis.ts";
import { CliError } from "./errors.ts";
import { readAnchorKeyFile, readKeyFile, writeAnchorKeyFile, writeKeyFile, type ReadOptions } from "./key-file.ts";

export const DEVNET_GENESIS_PATH = fileURLToPath(new URL("../../genesis/devnet.json", import.meta.url));

export interface P2pConfig {
  /** Multiaddrs to listen on. */
  listen: string[];
  /** Bootstrap peers, dialed first while below the target (multiaddrs with /p2p/<peer id>). */
  peers: string[];
  /** Peers to keep connected (default 16): discovered ones are dialed below it, the worst-scored non-validator dropped above it. */
  targetPeers?: number;
  /** Peer exchange (default true); false for a validator behind sentries: it announces nothing and dials only `peers`. */
  pex?: boolean;
  /** Peer ids whose addresses this node never passes on and never trims (a sentry lists its validator). */
  privatePeers?: string[];
}

export interface HomeConfig {
  rpc: { host: string; port: number } | null;
  /** Null: a lone node without networking (the single-validator devnet). */
  p2p: P2pConfig | null;
  logLevel: string;
  /** Relative to the home directory; null for a non-validating node. */
  validatorKeyFile: string | null;
  /** Blocks to keep, or "archive" (docs/decisions/0010-bounded-history.md); absent: 100,000 for a validator, archive otherwise (and with --devnet). */
  pruning?: number | "archive";
  /** State sync for an empty home (decision 0012): the trusted block, as CometBFT's trust_height / trust_hash. Flags override it. */
  stateSync?: { trustHeight: number; trustHash: string };
  /** State snapshots this node makes and serves: every N blocks (0: none), the last `keep` kept (default 1000 and 2). */
  stateSnapshots?: { every?: number; keep?: number };
  /** A listener of its own serving only GET /metrics, "host:port" (absent: metrics on the RPC port only). --metrics-addr overrides it. */
  metricsAddr?: string;
}

export const DEFAULT_HOME_CONFIG: HomeConfig = { rpc: { host: "127.0.0.1", port: 8750 }, p2p: null, logLevel: "info", validatorKeyFile: "keys/validator.json" };

export interface InitOptions {
  genesisPath: string;
  validatorKey: AccountKey | null;
  rpcPort?: number;
  rpcHost?: string;
  p2p?: P2pConfig | null;
  /** The libp2p key (raw Ed25519); generated when p2p is on and none is given. */
  nodeKey?: Uint8Array;
  /** Written as keys/anchor.json (else the node derives the anchor key from the validator key). */
  anchorKey?: AnchorKey;
  /** Encrypt keys/validator.json (and keys/anchor.json) under this password; absent or null: plaintext. */
  password?: string | null;
  /** A plaintext key's label: DEVNET_INSECURE_LABEL for the devnet's published keys. */
  insecure?: string;
}

export function isInitialised(home: string): boolean {
  return existsSync(join(home, "config.json")) && existsSync(join(home, "genesis.json"));
}

/** Creates a home directory; refuses to touch one that exists. */
export async function initHome(home: string, opts: InitOptions): Promise<HomeConfig> {
  if (isInitialised(home)) throw new Error(`${resolve(home)} is already initialised`);
  const genesisText = readFileSync(opts.genesisPath, "utf8");
  const json = JSON.parse(genesisText) as GenesisJson;
  parseGenesis(json, { dir: dirname(opts.genesisPath) }).accounts(); // fail early on a bad file
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "genesis.json"), genesisText);
  // The accounts file goes beside it, where the node reads it (its hash is checked there again).
  if (json.accountsFile) copyFileSync(join(dirname(opts.genesisPath), json.accountsFile.path), join(home, json.accountsFile.path));
  const config: HomeConfig = {
    ...DEFAULT_HOME_CONFIG,
    rpc: { host: opts.rpcHost ?? "127.0.0.1", port: opts.rpcPort ?? 8750 },
    p2p: opts.p2p ?? null,
    validatorKeyFile: opts.validatorKey ? "keys/validator.json" : null,
  };
  const write = { password: opts.password ?? null, ...(opts.insecure ? { insecure: opts.insecure } : {}) };
  if (opts.validatorKey) await writeKeyFile(join(home, "keys", "validator.json"), "validator", opts.validatorKey, write);
  if (opts.anchorKey) await writeAnchorKeyFile(join(home, ANCHOR_KEY_FILE), opts.anchorKey, write);
  if (config.p2p) writeNodeKey(home, opts.nodeKey ?? (await generateKeyPair("Ed25519")).raw);
  writeFileSync(join(home, "config.json"), JSON.stringify(config, null, 2) + "\n");
  return config;
}

export interface LoadedHome {
  config: HomeConfig;
  genesisJson: string;
  /** The validator key file (config.json validatorKeyFile, in the home), or null for a non-validating node; read by unlockHomeKeys. */
  validatorKeyPath: string | null;
  /**
   * keys/anchor.json when present: `{ "privateKey": "0x…" }` or an anchor keystore, for operators who keep
   * the anchor key apart from the consensus seed. Otherwise the node derives the anchor key from the validator key.
   */
  anchorKeyPath: string | null;
  nodeKey: Uint8Array | null;
}

const ANCHOR_KEY_FILE = join("keys", "anchor.json");

/**
 * The home's validator and anchor keys, decrypting keystores with `o.password`
 * (one password for both). An encrypted key with no password to be had is
 * KEY_LOCKED naming the file and --password-file; plaintext files are read
 * with a warning (`o.warn`).
 */
export async function unlockHomeKeys(loaded: LoadedHome, o: ReadOptions): Promise<{ validatorKey: AccountKey | null; anchorKey: AnchorKey | null }> {
  const validatorKey = loaded.validatorKeyPath ? await readKeyFile(loaded.validatorKeyPath, { ...o, what: "validator key" }) : null;
  const anchorKey = loaded.anchorKeyPath ? await readAnchorKeyFile(loaded.anchorKeyPath, { ...o, what: "anchor key" }) : null;
  return { validatorKey, anchorKey };
}

const NODE_KEY_FILE = join("keys", "node_key.json");

export function writeNodeKey(home: string, raw: Uint8Array): void {
  mkdirSync(join(home, "keys"), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, NODE_KEY_FILE), JSON.stringify({ type: "Ed25519", privateKey: Buffer.from(raw).toString("hex") }, null, 2) + "\n", { mode: 0o600 });
}

/** The libp2p peer id of a raw Ed25519 key. */
export function peerIdOf(raw: Uint8Array): string {
  return peerIdFromPrivateKey(privateKeyFromRaw(raw)).toString();
}

/** The largest `p2p.targetPeers` / `--target-peers`. */
export const MAX_TARGET_PEERS = 1000;
export const isTargetPeers = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_TARGET_PEERS;

/** "host:port", "[v6]:port" or ":port" (all interfaces) as a listen address; null if it is not one. */
export function parseHostPort(text: unknown): { host: string; port: number } | null {
  if (typeof text !== "string") return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[3]) > 65_535) return null;
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port: Number(m[3]) };
}

/** pino's levels: what `logLevel` and `--log-level` may say. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

const CONFIG_KEYS: readonly string[] = [...Object.keys(DEFAULT_HOME_CONFIG), "pruning", "stateSync", "stateSnapshots", "metricsAddr"];

/**
 * Reads config.json over the defaults, checking each key's shape (a typo or a
 * wrong type is one clear error, not a crash later). Keys it does not know are
 * returned so the node can warn about them.
 */
/** A port given on the command line (`flag` names it in the error). */
export function parsePort(text: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > 65_535) throw new CliError("BAD_FLAG", `${flag} must be a port number from 0 to 65535, got "${text}"`);
  return Number(text);
}

function isPeerId(id: string): boolean {
  try {
    peerIdFromString(id);
    return true;
  } catch {
    return false;
  }
}

export function readConfig(home: string): { config: HomeConfig; unknownKeys: string[] } {
  const path = join(resolve(home), "config.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError("BAD_CONFIG", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new CliError("BAD_CONFIG", `${path} must hold a JSON object`);
  const c = { ...DEFAULT_HOME_CONFIG, ...(raw as Partial<HomeConfig>) };
  const bad = (key: string, want: string) => new CliError("BAD_CONFIG", `${path}: "${key}" must be ${want}, got ${JSON.stringify((c as unknown as Record<string, unknown>)[key])}`);
  const isPort = (p: unknown) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65_535;
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === "string");
  if (c.rpc !== null && (typeof c.rpc !== "object" || typeof c.rpc.host !== "string" || !isPort(c.rpc.port))) throw bad("rpc", '{ "host": "127.0.0.1", "port": 8750 } or null');
  if (c.p2p !== null && (typeof c.p2p !== "object" || !strings(c.p2p.listen) || !strings(c.p2p.peers))) throw bad("p2p", '{ "listen": ["/ip4/…/tcp/…"], "peers": [] } or null');
  if (c.p2p?.targetPeers !== undefined && !isTargetPeers(c.p2p.targetPeers)) {
    throw new CliError("BAD_CONFIG", `${path}: "p2p.targetPeers" must be a whole number from 1 to ${MAX_TARGET_PEERS}, got ${JSON.stringify(c.p2p.targetPeers)}`);
  }
  if (c.p2p?.pex !== undefined && typeof c.p2p.pex !== "boolean") throw new CliError("BAD_CONFIG", `${path}: "p2p.pex" must be true or false, got ${JSON.stringify(c.p2p.pex)}`);
  if (c.p2p?.privatePeers !== undefined) {
    const ids = c.p2p.privatePeers as unknown;
    const badId = Array.isArray(ids) ? ids.find((id) => typeof id !== "string" || !isPeerId(id)) : ids;
    if (!Array.isArray(ids) || badId !== undefined) throw new CliError("BAD_CONFIG", `${path}: "p2p.privatePeers" must be a list of libp2p peer ids (12D3KooW…), got ${JSON.stringify(badId)}`);
  }
  if (c.pruning !== undefined && c.pruning !== "archive" && !(Number.isSafeInteger(c.pruning) && c.pruning >= 1)) throw bad("pruning", 'a number of blocks to keep (≥ 1) or "archive"');
  if (c.stateSync !== undefined && (typeof c.stateSync !== "object" || c.stateSync === null || !(Number.isSafeInteger(c.stateSync.trustHeight) && c.stateSync.trustHeight >= 1) || !/^(0x)?[0-9a-fA-F]{64}$/.test(String(c.stateSync.trustHash)))) {
    throw bad("stateSync", '{ "trustHeight": <a height ≥ 1>, "trustHash": "0x<64 hex digits>" }');
  }
  if (c.stateSnapshots !== undefined) {
    const s = c.stateSnapshots as { every?: unknown; keep?: unknown };
    const whole = (x: unknown, min: number) => x === undefined || (Number.isSafeInteger(x) && (x as number) >= min);
    if (typeof s !== "object" || s === null || !whole(s.every, 0) || !whole(s.keep, 1)) throw bad("stateSnapshots", '{ "every": <blocks, 0: none>, "keep": <snapshots ≥ 1> }');
  }
  if (c.metricsAddr !== undefined && parseHostPort(c.metricsAddr) === null) throw bad("metricsAddr", '"host:port", e.g. "127.0.0.1:9750"');
  if (typeof c.logLevel !== "string" || !(LOG_LEVELS as readonly string[]).includes(c.logLevel)) throw bad("logLevel", `one of ${LOG_LEVELS.join(", ")}`);
  if (c.validatorKeyFile !== null && typeof c.validatorKeyFile !== "string") throw bad("validatorKeyFile", "a path relative to the home, or null");
  return { config: c, unknownKeys: Object.keys(raw).filter((k) => !CONFIG_KEYS.includes(k)) };
}

export function loadHome(home: string): LoadedHome {
  if (!isInitialised(home)) throw new CliError("BAD_FLAG", `${resolve(home)} is not initialised (run \`pouw init --home ${home}\`)`);
  const { config } = readConfig(home);
  const genesisJson = readFileSync(join(home, "genesis.json"), "utf8");
  const validatorKeyPath = config.validatorKeyFile ? resolve(home, config.validatorKeyFile) : null;
  const anchorKeyPath = existsSync(join(home, ANCHOR_KEY_FILE)) ? resolve(home, ANCHOR_KEY_FILE) : null;
  const nodeKeyPath = join(home, NODE_KEY_FILE);
  const nodeKey = existsSync(nodeKeyPath) ? new Uint8Array(Buffer.from((JSON.parse(readFileSync(nodeKeyPath, "utf8")) as { privateKey: string }).privateKey, "hex")) : null;
  return { config, genesisJson, validatorKeyPath, anchorKeyPath, nodeKey };
}
