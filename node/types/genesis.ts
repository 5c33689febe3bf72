/** The genesis file format (genesis/devnet.json) and its validation. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ADDRESS_BYTES, decodeAddress } from "../crypto/address.ts";
import { addressFromPublicKey } from "../crypto/address.ts";
import { MLDSA44_PUBLIC_KEY_BYTES } from "../crypto/mldsa.ts";
import { fromHex, isHex } from "../util/hex.ts";
import { MAX_ANCHOR_SET, paramsFromJson, type Params } from "./params.ts";
import { MAX_U64 } from "./primitives.ts";
import type { JobTargetJson, TrainingSettingsJson } from "./transaction.ts";

export interface GenesisValidator {
  name: string;
  address: Uint8Array;
  publicKey: Uint8Array;
  /** secp256k1 anchor address for settlement contracts (DESIGN §9); zero until set. */
  anchorAddress: Uint8Array;
  power: bigint;
  /** Commission on its delegators' rewards, basis points. */
  commissionBps: number;
}

export interface GenesisAccount {
  address: Uint8Array;
  balance: bigint;
}

/** The genesis accounts as columns (no object per account: a genesis may hold millions). */
export interface GenesisAccounts {
  count: number;
  /** 20 bytes per account. */
  addresses: Uint8Array;
  balances: BigUint64Array;
}

/** A dataset jobs may train on, registered by the hash of its canonical bytes (DESIGN §8). */
export interface DatasetInfo {
  name: string;
  id: Uint8Array;
  features: number;
  classes: number;
  train: number;
  validation: number;
}

/** A training job escrowed at genesis (the devnet's demo job). */
export interface GenesisJob extends TrainingSettingsJson {
  requester: Uint8Array;
  /** The dataset's registered name. */
  dataset: string;
  seed: Uint8Array;
  target: JobTargetJson;
  reward: bigint;
  workerBond: bigint;
  deadline: number;
}

export interface Genesis {
  /** Jobs escrowed at genesis (their rewards are part of the supply, held in escrow). */
  jobs: GenesisJob[];
  /** Datasets jobs may name (a node must hold each one's bytes to verify proofs). */
  datasets: DatasetInfo[];
  chainId: string;
  /** ms since the Unix epoch; the first block's time must be later. */
  genesisTime: number;
  params: Params;
  validators: GenesisValidator[];
  /**
   * The accounts, decoded and checked on first call (a node whose database
   * already holds the chain never needs them): inline `accounts`, or the
   * `accountsFile` beside the genesis file. Repeated addresses are found when
   * the state is built from them.
   */
  accounts(): GenesisAccounts;
  /** How many accounts the genesis declares (without decoding them). */
  accountCount: number;
  /** Lets go of the accounts (decoded or not): a running node never needs them again. `accounts()` then throws. */
  releaseAccounts(): void;
}

export interface GenesisJson {
  chainId: string;
  genesisTime: number;
  params?: Record<string, unknown>;
  validators: { name: string; publicKey: string; anchorAddress?: string; power: string; commissionBps?: number }[];
  accounts?: { address: string; balance: string }[];
  /**
   * For genesis files with more accounts than a JSON file should hold (V8
   * strings end at 512 MiB, ~7 million accounts): a file beside the genesis
   * file with one `address,balance` line per account (bech32, decimal
   * units), pinned by its SHA-256 so the genesis hash covers it.
   */
  accountsFile?: { path: string; sha256: string; count: number };
  datasets?: { name: string; id: string; features: number; classes: number; train: number; validation: number }[];
  jobs?: (TrainingSettingsJson & {
    requester: string;
    dataset: string;
    seed: string;
    target: JobTargetJson;
    reward: string;
    workerBond: string;
    deadline: number;
  })[];
  [extra: string]: unknown;
}

function fail(msg: string): never {
  throw new TypeError(`invalid genesis: ${msg}`);
}

function u64(v: unknown, what: string): bigint {
  if (typeof v !== "string" || !/^[0-9]+$/.test(v)) fail(`${what} must be a decimal string`);
  const n = BigInt(v);
  if (n > MAX_U64) fail(`${what} exceeds u64`);
  return n;
}

/** `dir`: where the genesis file is (its accountsFile is read from there). */
export function parseGenesis(json: GenesisJson, opts: { dir?: string } = {}): Genesis {
  if (typeof json.chainId !== "string" || json.chainId.length === 0 || Buffer.byteLength(json.chainId) > 32) fail("chainId must be 1..32 bytes");
  if (!Number.isSafeInteger(json.genesisTime) || json.genesisTime < 0) fail("genesisTime must be ms since the epoch");
  const params = paramsFromJson(json.params ?? {});
  if (!Array.isArray(json.validators) || json.validators.length === 0) fail("at least one validator is required");
  if (json.validators.length > MAX_ANCHOR_SET) {
    fail(`${json.validators.length} validators: at most ${MAX_ANCHOR_SET}, the most signers a settlement anchor accepts (its checkpoints could never be anchored)`);
  }
  const validators = json.validators.map((v, i) => {
    if (!isHex(v.publicKey)) fail(`validators[${i}].publicKey must be hex`);
    const publicKey = fromHex(v.publicKey);
    if (publicKey.length !== MLDSA44_PUBLIC_KEY_BYTES) fail(`validators[${i}].publicKey must be ${MLDSA44_PUBLIC_KEY_BYTES} bytes`);
    if (typeof v.anchorAddress !== "string" || !isHex(v.anchorAddress) || fromHex(v.anchorAddress).length !== 20) {
      fail(`validators[${i}].anchorAddress must be the 20-byte EVM address of the validator's anchor key (\`pouw keys show\` prints it)`);
    }
    const anchorAddress = fromHex(v.anchorAddress);
    if (anchorAddress.every((b) => b === 0)) fail(`validators[${i}].anchorAddress must not be zero`);
    const power = u64(v.power, `validators[${i}].power`);
    if (power === 0n) fail(`validators[${i}].power must be positive`);
    if (power * params.powerReduction > MAX_U64) fail(`validators[${i}].power × powerReduction exceeds u64`);
    const commissionBps = v.commissionBps ?? 0;
    if (!Number.isInteger(commissionBps) || commissionBps < 0 || commissionBps > 10_000) fail(`validators[${i}].commissionBps must be 0..10000`);
    return { name: v.name ?? `validator-${i}`, publicKey, address: addressFromPublicKey(publicKey), anchorAddress, power, commissionBps };
  });
  if (new Set(validators.map((v) => Buffer.from(v.address).toString("hex"))).size !== validators.length) fail("a validator appears twice");
  if (new Set(validators.map((v) => Buffer.from(v.anchorAddress).toString("hex"))).size !== validators.length) fail("two validators share an anchorAddress");
  if (validators.length > params.maxValidators) fail(`more validators than maxValidators (${params.maxValidators})`);
  let supply = 0n;
  if (json.accounts !== undefined && !Array.isArray(json.accounts)) fail("accounts must be a list");
  const file = json.accountsFile;
  if (file !== undefined) {
    if (json.accounts !== undefined && json.accounts.length > 0) fail("accounts and accountsFile: give one of them");
    if (typeof file !== "object" || file === null || typeof file.path !== "string" || file.path !== basename(file.path) || file.path === "" || file.path.startsWith(".")) {
      fail("accountsFile.path must be the name of a file beside the genesis file");
    }
    if (!isHex(file.sha256) || fromHex(file.sha256).length !== 32) fail("accountsFile.sha256 must be 32 bytes of hex");
    if (!Number.isSafeInteger(file.count) || file.count < 0 || file.count > 2 ** 32 - 1) fail("accountsFile.count must be a u32");
  }
  supply += validators.reduce((s, v) => s + v.power * params.powerReduction, 0n);
  if (supply > MAX_U64) fail("total supply (balances plus bonded stake) exceeds u64");
  const datasets = (json.datasets ?? []).map((d, i) => {
    if (typeof d.name !== "string" || d.name.length === 0 || d.name.length > 64) fail(`datasets[${i}].name must be 1..64 characters`);
    if (!isHex(d.id) || fromHex(d.id).length !== 32) fail(`datasets[${i}].id must be a 32-byte hex hash`);
    for (const k of ["features", "classes", "train", "validation"] as const) {
      if (!Number.isSafeInteger(d[k]) || d[k] < 1 || d[k] > 2 ** 32 - 1) fail(`datasets[${i}].${k} must be a positive u32`);
    }
    if (d.classes > 256) fail(`datasets[${i}].classes must be at most 256 (labels are bytes)`);
    return { name: d.name, id: fromHex(d.id), features: d.features, classes: d.classes, train: d.train, validation: d.validation };
  });
  if (new Set(datasets.map((d) => Buffer.from(d.id).toString("hex"))).size !== datasets.length) fail("a dataset appears twice");
  const jobs = (json.jobs ?? []).map((j, i) => {
    let requester: Uint8Array;
    try {
      requester = decodeAddress(j.requester);
    } catch (e) {
      fail(`jobs[${i}].requester: ${(e as Error).message}`);
    }
    if (!datasets.some((d) => d.name === j.dataset)) fail(`jobs[${i}].dataset "${j.dataset}" is not registered in datasets`);
    if (!Array.isArray(j.layers) || !j.layers.every((d) => Number.isSafeInteger(d) && d > 0)) fail(`jobs[${i}].layers must be positive integers`);
    for (const k of ["batchSize", "steps", "segmentLength", "deadline"] as const) if (!Number.isSafeInteger(j[k]) || j[k] < 1) fail(`jobs[${i}].${k} must be a positive integer`);
    for (const k of ["learningRate", "momentum"] as const) if (typeof j[k] !== "number" || !Number.isFinite(j[k])) fail(`jobs[${i}].${k} must be a number`);
    if (!isHex(j.seed) || fromHex(j.seed).length !== 32) fail(`jobs[${i}].seed must be 32 bytes of hex`);
    const t = j.target;
    if (!t || (t.metric !== "accuracy" && t.metric !== "loss")) fail(`jobs[${i}].target.metric must be accuracy or loss`);
    const reward = u64(j.reward, `jobs[${i}].reward`);
    supply += reward;
    return { ...j, requester, seed: fromHex(j.seed), reward, workerBond: u64(j.workerBond, `jobs[${i}].workerBond`) };
  });
  if (supply > MAX_U64) fail("total supply (balances, bonded stake and job escrow) exceeds u64");
  const others = supply;
  let loaded: GenesisAccounts | null = null;
  let inline: { address: string; balance: string }[] | null = json.accounts ?? [];
  let released = false;
  const accounts = (): GenesisAccounts => {
    if (released) throw new Error("the genesis accounts were released");
    if (!loaded) {
      loaded = file ? accountsFromFile(join(opts.dir ?? ".", file.path), file) : inlineAccounts(inline!);
      inline = null;
      let total = others;
      for (let i = 0; i < loaded.count; i++) total += loaded.balances[i]!;
      if (total > MAX_U64) fail("total supply (balances, bonded stake and job escrow) exceeds u64");
    }
    return loaded;
  };
  const releaseAccounts = () => {
    released = true;
    loaded = null;
    inline = null;
  };
  const accountCount = file ? file.count : (json.accounts ?? []).length;
  return { chainId: json.chainId, genesisTime: json.genesisTime, params, validators, accounts, accountCount, releaseAccounts, datasets, jobs };
}

/** Columns of `n` accounts with `put(i, address, balance)` filling them. */
function columns(n: number): GenesisAccounts & { put(i: number, address: Uint8Array, balance: bigint): void } {
  const addresses = new Uint8Array(n * ADDRESS_BYTES);
  const balances = new BigUint64Array(n);
  return {
    count: n,
    addresses,
    balances,
    put(i, address, balance) {
      addresses.set(address, i * ADDRESS_BYTES);
      balances[i] = balance;
    },
  };
}

function inlineAccounts(list: { address: string; balance: string }[]): GenesisAccounts {
  const c = columns(list.length);
  const seen = new Set<string>();
  list.forEach((a, i) => {
    let address: Uint8Array;
    try {
      address = decodeAddress(a.address);
    } catch (e) {
      fail(`accounts[${i}].address: ${(e as Error).message}`);
    }
    const key = Buffer.from(address).toString("hex");
    if (seen.has(key)) fail(`accounts[${i}] duplicates ${a.address}`);
    seen.add(key);
    c.put(i, address, u64(a.balance, `accounts[${i}].balance`));
  });
  return { count: c.count, addresses: c.addresses, balances: c.balances };
}

function accountsFromFile(path: string, spec: { sha256: string; count: number }): GenesisAccounts {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    fail(`accountsFile ${path}: ${(e as Error).message}`);
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  if (digest !== spec.sha256.replace(/^0x/, "").toLowerCase()) fail(`accountsFile ${path} has SHA-256 ${digest}, the genesis pins ${spec.sha256}`);
  const c = columns(spec.count);
  let n = 0;
  let line = 0;
  for (let at = 0; at < bytes.length; ) {
    let end = bytes.indexOf(10, at);
    if (end < 0) end = bytes.length;
    const text = bytes.toString("latin1", at, end).trim();
    at = end + 1;
    line++;
    if (text === "") continue;
    const comma = text.indexOf(",");
    if (comma < 0) fail(`accountsFile line ${line}: expected address,balance`);
    if (n >= spec.count) fail(`accountsFile holds more than the ${spec.count} accounts the genesis says`);
    let address: Uint8Array;
    try {
      address = decodeAddress(text.slice(0, comma));
    } catch (e) {
      fail(`accountsFile line ${line}: ${(e as Error).message}`);
    }
    c.put(n++, address, u64(text.slice(comma + 1), `accountsFile line ${line} balance`));
  }
  if (n !== spec.count) fail(`accountsFile holds ${n} accounts, the genesis says ${spec.count}`);
  return { count: c.count, addresses: c.addresses, balances: c.balances };
}
