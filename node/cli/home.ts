/**
 * The node's home directory:
 *   config.json          RPC address, log level, key file
 *   genesis.json         the chain's genesis (pinned by hash in the database)
 *   keys/validator.json  the validator's ML-DSA seed (0600), apart from data
 *   data/                LevelDB: blocks, state, privval, WAL
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AccountKey } from "../crypto/keys.ts";
import { parseGenesis, type GenesisJson } from "../types/genesis.ts";
import { readKeyFile, writeKeyFile } from "./keyring.ts";

export const DEVNET_GENESIS_PATH = fileURLToPath(new URL("../../genesis/devnet.json", import.meta.url));

export interface HomeConfig {
  rpc: { host: string; port: number } | null;
  logLevel: string;
  /** Relative to the home directory; null for a non-validating node. */
  validatorKeyFile: string | null;
}

export const DEFAULT_HOME_CONFIG: HomeConfig = { rpc: { host: "127.0.0.1", port: 8750 }, logLevel: "info", validatorKeyFile: "keys/validator.json" };

export interface InitOptions {
  genesisPath: string;
  validatorKey: AccountKey | null;
  rpcPort?: number;
  rpcHost?: string;
}

export function isInitialised(home: string): boolean {
  return existsSync(join(home, "config.json")) && existsSync(join(home, "genesis.json"));
}

/** Creates a home directory; refuses to touch one that exists. */
export function initHome(home: string, opts: InitOptions): HomeConfig {
  if (isInitialised(home)) throw new Error(`${resolve(home)} is already initialised`);
  const genesisText = readFileSync(opts.genesisPath, "utf8");
  parseGenesis(JSON.parse(genesisText) as GenesisJson); // fail early on a bad file
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, "genesis.json"), genesisText);
  const config: HomeConfig = {
    ...DEFAULT_HOME_CONFIG,
    rpc: { host: opts.rpcHost ?? "127.0.0.1", port: opts.rpcPort ?? 8750 },
    validatorKeyFile: opts.validatorKey ? "keys/validator.json" : null,
  };
  if (opts.validatorKey) writeKeyFile(join(home, "keys", "validator.json"), "validator", opts.validatorKey);
  writeFileSync(join(home, "config.json"), JSON.stringify(config, null, 2) + "\n");
  return config;
}

export interface LoadedHome {
  config: HomeConfig;
  genesisJson: string;
  validatorKey: AccountKey | null;
}

export function loadHome(home: string): LoadedHome {
  if (!isInitialised(home)) throw new Error(`${resolve(home)} is not initialised (run \`pouw init --home ${home}\`)`);
  const config = { ...DEFAULT_HOME_CONFIG, ...(JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as Partial<HomeConfig>) };
  const genesisJson = readFileSync(join(home, "genesis.json"), "utf8");
  const validatorKey = config.validatorKeyFile ? readKeyFile(join(home, config.validatorKeyFile)) : null;
  return { config, genesisJson, validatorKey };
}
