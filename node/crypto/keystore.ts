/**
 * Encrypted key files (issue 16), shaped like EIP-2335 (Ethereum's BLS
 * keystores): a password, normalised, goes through scrypt to a 32-byte key
 * that encrypts the secret; the file says which functions and parameters it
 * used, so a file written at any cost reads back.
 *
 *   { "version": 1, "kind": "pouw-mldsa-seed",
 *     "crypto": { "kdf":      { "function": "scrypt", "params": { "n": 262144, "r": 8, "p": 1, "dklen": 32, "salt": "<32 bytes hex>" }, "message": "" },
 *                 "checksum": { "function": "sha256", "params": {}, "message": "<32 bytes hex>" },
 *                 "cipher":   { "function": "aes-256-gcm", "params": { "iv": "<12 bytes hex>", "tag": "<16 bytes hex>" }, "message": "<ciphertext hex>" } },
 *     "pubkey": "<public key hex>", "address": "pouw1…", "uuid": "…", "description": "…" }
 *
 * Why AES-256-GCM and not EIP-2335's AES-128-CTR: GCM authenticates the
 * ciphertext, the IV and (as associated data) the public part of the file
 * (version, kind, pubkey, address, extra), so a flipped byte anywhere there
 * fails loudly instead of decrypting to another, wrong key. EIP-2335 gets
 * integrity from its checksum over the ciphertext, which then cannot tell a
 * wrong password from a damaged file. Here the checksum has one job, to tell
 * those two apart: it is sha256 of a subkey of the scrypt output alone, so a
 * checksum mismatch means the password (or the salt or the kdf parameters)
 * is wrong, and a mismatch of the GCM tag with a good checksum means the
 * ciphertext, IV or public fields were changed. The derived key is split by
 * hashing with two labels: the cipher key and the checksum key reveal
 * nothing of each other. Guessing passwords costs one scrypt per guess
 * either way.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt } from "node:crypto";
import { PouwError } from "../util/errors.ts";
import { concatBytes, fromHex, isHex, toHex, utf8 } from "../util/hex.ts";
import { sha256 } from "./hash.ts";

export const KeystoreErrorCode = {
  /** The checksum does not match: the password is wrong (or the file's salt or kdf parameters were changed). */
  KEYSTORE_BAD_PASSWORD: "KEYSTORE_BAD_PASSWORD",
  /** The file is not a keystore, a field is missing or malformed, or it fails authentication with the right password. */
  KEYSTORE_CORRUPT: "KEYSTORE_CORRUPT",
  /** A version, kind, kdf or cipher this node does not know, or kdf parameters outside its limits. */
  KEYSTORE_UNSUPPORTED: "KEYSTORE_UNSUPPORTED",
  /** A password that is empty once normalised: refused when writing. */
  KEYSTORE_EMPTY_PASSWORD: "KEYSTORE_EMPTY_PASSWORD",
} as const;
export type KeystoreErrorCode = (typeof KeystoreErrorCode)[keyof typeof KeystoreErrorCode];

export class KeystoreError extends PouwError<KeystoreErrorCode> {}

/** What a keystore holds: an ML-DSA-44 seed (account or validator key) or a secp256k1 anchor private key. */
export const KEYSTORE_KINDS = ["pouw-mldsa-seed", "pouw-anchor-secp256k1"] as const;
export type KeystoreKind = (typeof KEYSTORE_KINDS)[number];

export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

/** The cost for real keys: EIP-2335's (and geth's "standard") scrypt, 256 MiB and about 0.8 s on a 2-core machine (2026). */
export const DEFAULT_SCRYPT: ScryptParams = { n: 2 ** 18, r: 8, p: 1 };

/**
 * TEST AND DEVNET ONLY: $POUW_KEYSTORE_SCRYPT_N (a power of two) replaces the
 * scrypt N of keystores written by this process, so tests do not spend 0.8 s
 * and 256 MiB per key. The cost is recorded in each file, so reading never
 * needs it. Null when unset.
 */
export function testScryptOverride(env: NodeJS.ProcessEnv = process.env): ScryptParams | null {
  const v = env.POUW_KEYSTORE_SCRYPT_N;
  if (v === undefined || v === "") return null;
  const n = Number(v);
  if (!isPowerOfTwo(n) || n > MAX_N) throw new KeystoreError("KEYSTORE_UNSUPPORTED", `$POUW_KEYSTORE_SCRYPT_N must be a power of two from 2 to 2^20, got "${v}"`);
  return { ...DEFAULT_SCRYPT, n };
}

/** Limits on what a file may ask of scrypt (a hostile file must not take the machine's memory): N ≤ 2^20, r ≤ 32, p ≤ 16, memory ≤ 1 GiB. */
const MAX_N = 2 ** 20;
const MAX_MEMORY = 2 ** 30;
const isPowerOfTwo = (n: number) => Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0;

export interface KeystoreJson {
  version: 1;
  kind: KeystoreKind;
  crypto: {
    kdf: { function: "scrypt"; params: ScryptParams & { dklen: 32; salt: string }; message: "" };
    checksum: { function: "sha256"; params: Record<string, never>; message: string };
    cipher: { function: "aes-256-gcm"; params: { iv: string; tag: string }; message: string };
  };
  /** The public key (hex): ML-DSA-44's 1312 bytes, or the compressed secp256k1 point. */
  pubkey: string;
  /** pouw1… for an ML-DSA key, the 0x… EVM address for an anchor key. */
  address: string;
  /** Other public facts shown without the password (e.g. an ML-DSA key's derived anchorAddress); authenticated like pubkey. */
  extra?: Record<string, string>;
  uuid: string;
  description: string;
}

/**
 * EIP-2335's password normalisation: NFKD, then the C0 (U+0000–U+001F),
 * DEL (U+007F) and C1 (U+0080–U+009F) control codes removed, then UTF-8.
 * "é" typed as one code point or as e + combining acute gives the same key.
 */
export function normalizePassword(password: string): Uint8Array {
  // eslint-disable-next-line no-control-regex
  return utf8(password.normalize("NFKD").replace(/[\u0000-\u001f\u007f\u0080-\u009f]/g, ""));
}

function deriveKey(password: Uint8Array, salt: Uint8Array, p: ScryptParams): Promise<Uint8Array> {
  const maxmem = 128 * p.n * p.r * p.p + 128 * p.r * p.p + 2 ** 20;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: p.n, r: p.r, p: p.p, maxmem }, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key)))),
  );
}

/** Hex without 0x, as EIP-2335 writes its crypto fields. */
const bare = (b: Uint8Array) => toHex(b).slice(2);

const CIPHER_LABEL = utf8("pouw/keystore/v1/cipher");
const CHECKSUM_LABEL = utf8("pouw/keystore/v1/checksum");
const subkeys = (dk: Uint8Array) => ({ cipherKey: sha256(concatBytes(CIPHER_LABEL, dk)), checksum: sha256(concatBytes(CHECKSUM_LABEL, dk)) });

/** The authenticated public part: everything a reader acts on without the password. */
function associatedData(k: Pick<KeystoreJson, "version" | "kind" | "pubkey" | "address" | "extra">): Uint8Array {
  const extra = Object.entries(k.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return utf8(JSON.stringify([k.version, k.kind, k.pubkey, k.address, extra]));
}

export interface EncryptOptions {
  kind: KeystoreKind;
  pubkey: string;
  address: string;
  extra?: Record<string, string>;
  description?: string;
  /** Default DEFAULT_SCRYPT, or $POUW_KEYSTORE_SCRYPT_N's test cost when set. */
  scrypt?: ScryptParams;
}

/** Encrypts `secret` under `password` (refused when empty once normalised). */
export async function encryptKeystore(secret: Uint8Array, password: string, o: EncryptOptions): Promise<KeystoreJson> {
  const pw = normalizePassword(password);
  if (pw.length === 0) throw new KeystoreError("KEYSTORE_EMPTY_PASSWORD", "the password is empty (after removing control characters): choose one");
  const cost = o.scrypt ?? testScryptOverride() ?? DEFAULT_SCRYPT;
  const salt = new Uint8Array(randomBytes(32));
  const iv = new Uint8Array(randomBytes(12));
  const { cipherKey, checksum } = subkeys(await deriveKey(pw, salt, cost));
  const pub = { version: 1 as const, kind: o.kind, pubkey: o.pubkey, address: o.address, ...(o.extra ? { extra: o.extra } : {}) };
  const c = createCipheriv("aes-256-gcm", cipherKey, iv);
  c.setAAD(associatedData(pub));
  const message = Buffer.concat([c.update(secret), c.final()]);
  return {
    version: 1,
    kind: o.kind,
    crypto: {
      kdf: { function: "scrypt", params: { n: cost.n, r: cost.r, p: cost.p, dklen: 32, salt: bare(salt) }, message: "" },
      checksum: { function: "sha256", params: {}, message: bare(checksum) },
      cipher: { function: "aes-256-gcm", params: { iv: bare(iv), tag: bare(c.getAuthTag()) }, message: bare(message) },
    },
    pubkey: o.pubkey,
    address: o.address,
    ...(o.extra ? { extra: o.extra } : {}),
    uuid: randomUUID(),
    description: o.description ?? "",
  };
}

/** Whether parsed JSON looks like a keystore (has `crypto` and `version`), as opposed to an old plaintext key file. */
export function isKeystore(json: unknown): boolean {
  return typeof json === "object" && json !== null && "crypto" in json && "version" in json;
}

/**
 * Checks a parsed file's shape and support, without the password: what
 * `pouw keys show` relies on. `where` names the file in messages.
 */
export function parseKeystore(json: unknown, where: string): KeystoreJson {
  const corrupt = (what: string) => new KeystoreError("KEYSTORE_CORRUPT", `keystore ${where} is corrupt: ${what}`, { path: where });
  const unsupported = (what: string) => new KeystoreError("KEYSTORE_UNSUPPORTED", `keystore ${where} is not supported by this node: ${what}`, { path: where });
  if (!isKeystore(json)) throw corrupt("not a keystore (no version and crypto fields)");
  const k = json as Record<string, unknown>;
  if (k.version !== 1) throw unsupported(`version ${JSON.stringify(k.version)} (this node reads version 1)`);
  if (!(KEYSTORE_KINDS as readonly unknown[]).includes(k.kind)) throw unsupported(`kind ${JSON.stringify(k.kind)} (this node reads ${KEYSTORE_KINDS.join(", ")})`);
  const c = k.crypto as Record<string, Record<string, unknown> | undefined> | null;
  if (typeof c !== "object" || c === null) throw corrupt("crypto must be an object");
  const kdf = c.kdf, checksum = c.checksum, cipher = c.cipher;
  if (!kdf || !checksum || !cipher) throw corrupt("crypto needs kdf, checksum and cipher");
  if (kdf.function !== "scrypt") throw unsupported(`kdf ${JSON.stringify(kdf.function)} (this node reads scrypt)`);
  if (checksum.function !== "sha256") throw unsupported(`checksum ${JSON.stringify(checksum.function)} (this node reads sha256)`);
  if (cipher.function !== "aes-256-gcm") throw unsupported(`cipher ${JSON.stringify(cipher.function)} (this node reads aes-256-gcm)`);
  const kp = kdf.params as Record<string, unknown> | undefined;
  const cp = cipher.params as Record<string, unknown> | undefined;
  const size = (x: unknown) => (typeof x === "string" && isHex(x) ? (x.length - (x.startsWith("0x") ? 2 : 0)) / 2 : -1);
  const hex = (x: unknown, bytes?: number) => size(x) >= 0 && (bytes === undefined || size(x) === bytes);
  if (!kp || !isPowerOfTwo(kp.n as number) || !Number.isInteger(kp.r) || !Number.isInteger(kp.p) || (kp.r as number) < 1 || (kp.p as number) < 1 || kp.dklen !== 32 || size(kp.salt) < 16) {
    throw corrupt("kdf.params must be { n: a power of two, r, p, dklen: 32, salt: at least 16 bytes of hex }");
  }
  const n = kp.n as number, r = kp.r as number, p = kp.p as number;
  if (n > MAX_N || r > 32 || p > 16 || 128 * n * r * p > MAX_MEMORY) throw unsupported(`scrypt n=${n} r=${r} p=${p} is above this node's limits (n ≤ 2^20, r ≤ 32, p ≤ 16, 1 GiB)`);
  if (!hex(checksum.message, 32)) throw corrupt("checksum.message must be 32 bytes of hex");
  if (!cp || !hex(cp.iv, 12) || !hex(cp.tag, 16) || size(cipher.message) < 1) throw corrupt("cipher needs params.iv (12 bytes), params.tag (16 bytes) and a message, in hex");
  if (typeof k.pubkey !== "string" || typeof k.address !== "string") throw corrupt("pubkey and address must be strings");
  if (k.extra !== undefined && (typeof k.extra !== "object" || k.extra === null || !Object.values(k.extra).every((v) => typeof v === "string"))) throw corrupt("extra must map names to strings");
  return json as KeystoreJson;
}

/**
 * The secret in a keystore. A wrong password is KEYSTORE_BAD_PASSWORD; a file
 * whose ciphertext, IV, tag or public fields were changed is KEYSTORE_CORRUPT
 * (never a different key). `where` names the file in messages.
 */
export async function decryptKeystore(json: unknown, password: string, where: string): Promise<Uint8Array> {
  const k = parseKeystore(json, where);
  const { kdf, checksum, cipher } = k.crypto;
  const { cipherKey, checksum: sum } = subkeys(await deriveKey(normalizePassword(password), fromHex(kdf.params.salt), kdf.params));
  if (bare(sum) !== checksum.message.toLowerCase().replace(/^0x/, "")) {
    throw new KeystoreError("KEYSTORE_BAD_PASSWORD", `wrong password for keystore ${where} (the checksum does not match)`, { path: where });
  }
  try {
    const d = createDecipheriv("aes-256-gcm", cipherKey, fromHex(cipher.params.iv));
    d.setAAD(associatedData(k));
    d.setAuthTag(fromHex(cipher.params.tag));
    return new Uint8Array(Buffer.concat([d.update(fromHex(cipher.message)), d.final()]));
  } catch (e) {
    throw new KeystoreError("KEYSTORE_CORRUPT", `keystore ${where} is corrupt: the password is right but the ciphertext, IV or public fields were changed (AES-GCM authentication failed)`, { path: where }, { cause: e });
  }
}
