/**
 * Key files on disk, in either of two formats, one JSON file per key (0600):
 *   - an encrypted keystore (node/crypto/keystore.ts), what `pouw keys new`,
 *     `keys import` and `pouw init --password-file` write;
 *   - plaintext, as before issue 16: `{ name, address, publicKey, seed }` for
 *     an ML-DSA key, `{ privateKey }` for an anchor key. Still read (with a
 *     warning), written only on request (--insecure-plaintext) and for the
 *     devnet's published keys, which say so in an `insecure` field.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import type { Hex } from "viem";
import { AnchorKey } from "../crypto/anchor-key.ts";
import { AccountKey } from "../crypto/keys.ts";
import { decryptKeystore, encryptKeystore, isKeystore, KeystoreError, parseKeystore, type KeystoreKind } from "../crypto/keystore.ts";
import { fromHex, isHex, toHex } from "../util/hex.ts";
import { syncDir } from "../state/account-snapshot.ts";
import { CliError } from "./errors.ts";
import type { PasswordSource } from "./password.ts";

/** The label the devnet's published keys carry in their plaintext files. */
export const DEVNET_INSECURE_LABEL = "devnet key, published seed: anyone can sign with it";

export interface PlainKeyFile {
  name: string;
  address: string;
  publicKey: string;
  seed: string;
  /** Why this key is plaintext on purpose (the devnet's published keys). */
  insecure?: string;
}

/** What a key file says about itself without its password. */
export interface KeyFileInfo {
  path: string;
  encrypted: boolean;
  address: string;
  publicKey: string;
  /** An ML-DSA key's derived anchor address (recorded in a keystore, computed for a plaintext file). */
  anchorAddress?: string;
  /** A plaintext file's `insecure` label. */
  insecure?: string;
}

export interface ReadOptions {
  /** Where the password comes from for an encrypted file. */
  password: PasswordSource;
  /** Told once per plaintext file read (default: a line on stderr). */
  warn?: (message: string, info: KeyFileInfo) => void;
  /** Names the key in messages: "key", "validator key", "anchor key". */
  what?: string;
}

const warned = new Set<string>();
const stderrWarn = (message: string) => console.error(`warning: ${message}`);

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError("BAD_FLAG", `cannot read ${what} file ${path}: ${(e as Error).message}`);
  }
}

function writeJson(path: string, json: unknown, overwrite = false): void {
  if (existsSync(path) && !overwrite) throw new Error(`${path} already exists; refusing to overwrite a key`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(json, null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
}

function checkKind(path: string, json: unknown, kind: KeystoreKind): void {
  const k = parseKeystore(json, path);
  if (k.kind !== kind) throw new KeystoreError("KEYSTORE_UNSUPPORTED", `keystore ${path} holds a ${k.kind} key, not a ${kind} key`, { path });
}

async function secretOf(path: string, json: unknown, o: ReadOptions): Promise<Uint8Array> {
  const password = await o.password(path);
  if (password === null) {
    throw new CliError("KEY_LOCKED", `${o.what ?? "key"} ${path} is encrypted and no password was given: use --password-file <file> (or run on a terminal to be asked)`, { path });
  }
  return decryptKeystore(json, password, path);
}

function plainWarning(path: string, info: KeyFileInfo, o: ReadOptions): void {
  if (warned.has(path)) return;
  warned.add(path);
  const what = o.what ?? "key";
  const message = info.insecure
    ? `${what} ${path} is plaintext on purpose (${info.insecure}): never hold value on it`
    : `${what} ${path} is an UNENCRYPTED plaintext file: anyone who can read it can sign with it (write it encrypted: pouw keys import, or pouw init, with --password-file)`;
  (o.warn ?? stderrWarn)(message, info);
}

// ---- ML-DSA keys (accounts and validators) ----

function plainKey(path: string, file: PlainKeyFile): AccountKey {
  if (!isHex(file.seed) || fromHex(file.seed).length !== 32) throw new CliError("BAD_FLAG", `${path}: seed must be 32 bytes of hex`);
  const key = new AccountKey(fromHex(file.seed));
  if (file.address && file.address !== key.bech32) throw new CliError("BAD_FLAG", `${path}: address ${file.address} does not match the seed (${key.bech32})`);
  return key;
}

/** An ML-DSA key file's public facts, without a password. */
export function keyFileInfo(path: string): KeyFileInfo {
  const json = readJson(path, "key");
  if (isKeystore(json)) {
    checkKind(path, json, "pouw-mldsa-seed");
    const k = parseKeystore(json, path);
    return { path, encrypted: true, address: k.address, publicKey: k.pubkey, ...(k.extra?.anchorAddress ? { anchorAddress: k.extra.anchorAddress } : {}) };
  }
  const file = json as PlainKeyFile;
  const key = plainKey(path, file);
  return { path, encrypted: false, address: key.bech32, publicKey: toHex(key.publicKey), anchorAddress: AnchorKey.fromSeed(key.seed).address, ...(file.insecure ? { insecure: file.insecure } : {}) };
}

/** The key in an ML-DSA key file, decrypting a keystore (its public key must match the seed's). */
export async function readKeyFile(path: string, o: ReadOptions): Promise<AccountKey> {
  const json = readJson(path, o.what ?? "key");
  if (!isKeystore(json)) {
    const key = plainKey(path, json as PlainKeyFile);
    plainWarning(path, { path, encrypted: false, address: key.bech32, publicKey: "", ...((json as PlainKeyFile).insecure ? { insecure: (json as PlainKeyFile).insecure! } : {}) }, o);
    return key;
  }
  checkKind(path, json, "pouw-mldsa-seed");
  const seed = await secretOf(path, json, o);
  if (seed.length !== 32) throw new KeystoreError("KEYSTORE_CORRUPT", `keystore ${path} is corrupt: it holds ${seed.length} bytes, not a 32-byte seed`, { path });
  const key = new AccountKey(seed);
  if (key.bech32 !== (json as { address: string }).address) throw new KeystoreError("KEYSTORE_CORRUPT", `keystore ${path} is corrupt: its seed is the key of ${key.bech32}, not of ${(json as { address: string }).address}`, { path });
  return key;
}

export interface WriteOptions {
  /** Encrypt under this password; null writes plaintext (only on request, or a devnet key). */
  password: string | null;
  /** For plaintext: why (DEVNET_INSECURE_LABEL for the devnet's keys). */
  insecure?: string;
  overwrite?: boolean;
  description?: string;
}

/** Writes an ML-DSA key file (0600), encrypted unless `password` is null. */
export async function writeKeyFile(path: string, name: string, key: AccountKey, o: WriteOptions): Promise<void> {
  if (existsSync(path) && !o.overwrite) throw new Error(`${path} already exists; refusing to overwrite a key`);
  if (o.password === null) {
    const file: PlainKeyFile = { name, address: key.bech32, publicKey: toHex(key.publicKey), seed: toHex(key.seed), ...(o.insecure ? { insecure: o.insecure } : {}) };
    return writeJson(path, file, o.overwrite);
  }
  const json = await encryptKeystore(key.seed, o.password, {
    kind: "pouw-mldsa-seed",
    pubkey: toHex(key.publicKey),
    address: key.bech32,
    extra: { anchorAddress: AnchorKey.fromSeed(key.seed).address },
    description: o.description ?? name,
  });
  writeJson(path, json, o.overwrite);
}

// ---- anchor keys (secp256k1) ----

/** An anchor key file: plaintext `{ "privateKey": "0x…" }` or a pouw-anchor-secp256k1 keystore. */
export async function readAnchorKeyFile(path: string, o: ReadOptions): Promise<AnchorKey> {
  const what = o.what ?? "anchor key";
  const json = readJson(path, what);
  if (!isKeystore(json)) {
    let key: AnchorKey;
    try {
      key = new AnchorKey((json as { privateKey: Hex }).privateKey);
    } catch (e) {
      throw new CliError("BAD_FLAG", `${path}: ${(e as Error).message}`);
    }
    plainWarning(path, { path, encrypted: false, address: key.address, publicKey: "" }, { ...o, what });
    return key;
  }
  checkKind(path, json, "pouw-anchor-secp256k1");
  const secret = await secretOf(path, json, { ...o, what });
  const key = new AnchorKey(toHex(secret) as Hex);
  if (key.address.toLowerCase() !== String((json as { address: string }).address).toLowerCase()) {
    throw new KeystoreError("KEYSTORE_CORRUPT", `keystore ${path} is corrupt: its key is the anchor key of ${key.address}, not of ${(json as { address: string }).address}`, { path });
  }
  return key;
}

/** Writes an anchor key file (0600), encrypted unless `password` is null. */
export async function writeAnchorKeyFile(path: string, key: AnchorKey, o: WriteOptions): Promise<void> {
  if (o.password === null) return writeJson(path, { privateKey: key.privateKey, ...(o.insecure ? { insecure: o.insecure } : {}) }, o.overwrite);
  const pubkey = toHex(secp256k1.getPublicKey(fromHex(key.privateKey), true));
  const json = await encryptKeystore(fromHex(key.privateKey), o.password, { kind: "pouw-anchor-secp256k1", pubkey, address: key.address, description: o.description ?? "anchor key" });
  writeJson(path, json, o.overwrite);
}

// ---- changing a key file's password ----

export interface PasswordChange {
  /** What the file holds: an ML-DSA key (account or validator) or an anchor key. */
  kind: KeystoreKind;
  address: string;
  /** False when the file was plaintext (it is a keystore now). */
  wasEncrypted: boolean;
}

/**
 * Re-encrypts a key file under a new password (asked for with `askNew` once
 * the key is read: a wrong current password stops first); a plaintext file
 * becomes a keystore. The new file is written beside the old one, read back under the
 * new password (it must give the same key), then renamed over it, so a crash
 * or a full disk leaves the old file or the new one, never neither. The
 * keystore's description (the key's name) is kept.
 */
export async function changeKeyFilePassword(path: string, o: ReadOptions, askNew: () => Promise<string>): Promise<PasswordChange> {
  const json = readJson(path, o.what ?? "key");
  const wasEncrypted = isKeystore(json);
  const keystore = wasEncrypted ? parseKeystore(json, path) : null;
  const anchor = keystore ? keystore.kind === "pouw-anchor-secp256k1" : typeof (json as { privateKey?: unknown }).privateKey === "string";
  const quiet: ReadOptions = { ...o, warn: () => undefined };
  const description = keystore?.description;
  const tmp = `${path}.new`;
  rmSync(tmp, { force: true });
  try {
    if (anchor) {
      const key = await readAnchorKeyFile(path, quiet);
      const newPassword = await askNew();
      await writeAnchorKeyFile(tmp, key, { password: newPassword, ...(description ? { description } : {}) });
      const back = await readAnchorKeyFile(tmp, { password: async () => newPassword });
      if (back.address !== key.address) throw new Error(`${tmp} did not read back as the same key; ${path} is unchanged`);
      await commit(tmp, path);
      return { kind: "pouw-anchor-secp256k1", address: key.address, wasEncrypted };
    }
    const key = await readKeyFile(path, quiet);
    const newPassword = await askNew();
    const name = description ?? (json as PlainKeyFile).name ?? "key";
    await writeKeyFile(tmp, name, key, { password: newPassword, description: name });
    const back = await readKeyFile(tmp, { password: async () => newPassword });
    if (back.bech32 !== key.bech32) throw new Error(`${tmp} did not read back as the same key; ${path} is unchanged`);
    await commit(tmp, path);
    return { kind: "pouw-mldsa-seed", address: key.bech32, wasEncrypted };
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Makes `tmp` durable and renames it over `path` (then syncs the directory, so the rename survives a crash). */
async function commit(tmp: string, path: string): Promise<void> {
  const fd = openSync(tmp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  await syncDir(dirname(path));
}
