/**
 * Parameter parsing for RPC methods: each helper throws INVALID_PARAMS naming
 * the parameter (also in `data.field`), what it must be and the limit; never
 * a library's own text.
 */
import { ADDRESS_PREFIX, decodeAddress } from "../crypto/address.ts";
import { TxError, TxErrorCode } from "../chain/errors.ts";
import { hexBytes } from "../util/hex.ts";
import { invalidParams } from "./errors.ts";

/** What a JSON value is, for messages ("a number", "null"…), without echoing it. */
export function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Why a string is not 0x hex, or null when it is (either case of digits). */
function hexProblem(v: string, name: string): string | null {
  if (!v.startsWith("0x")) return `${name} must start with 0x`;
  const digits = v.length - 2;
  if (digits % 2 !== 0) return `${name} has an odd number of hex digits (${digits}); each byte is 2`;
  const bad = v.slice(2).search(/[^0-9a-fA-F]/);
  if (bad >= 0) return `${name} has a character that is not a hex digit at position ${bad + 2}`;
  return null;
}

export function paramList(params: unknown, min: number, max: number): unknown[] {
  const list = params === undefined ? [] : params;
  if (!Array.isArray(list)) throw invalidParams(`params must be an array, got ${jsonKind(list)}`, { field: "params" });
  if (list.length < min || list.length > max) throw invalidParams(`expected ${min === max ? min : `${min}..${max}`} params, got ${list.length}`, { field: "params" });
  return list;
}

export function hexParam(v: unknown, name: string, opts: { length?: number; maxBytes?: number } = {}): Uint8Array {
  const want = opts.length !== undefined ? ` of ${opts.length} bytes` : "";
  if (typeof v !== "string") throw invalidParams(`${name} must be a 0x-prefixed hex string${want}, got ${jsonKind(v)}`, { field: name });
  // Decoded first: only a string that does not decode is scanned for the reason.
  const bytes = v.startsWith("0x") ? hexBytes(v) : null;
  if (!bytes) throw invalidParams(hexProblem(v, name) ?? `${name} is not hex`, { field: name });
  const n = bytes.length;
  if (opts.maxBytes !== undefined && n > opts.maxBytes) throw invalidParams(`${name} is ${n} bytes; at most ${opts.maxBytes}`, { field: name, size: n, limit: opts.maxBytes });
  if (opts.length !== undefined && n !== opts.length) {
    throw invalidParams(`${name} must be ${opts.length} bytes (${2 * opts.length} hex digits after 0x), got ${n}`, { field: name, size: n, expected: opts.length });
  }
  return bytes;
}

/**
 * A signed transaction's bytes: 0x hex (INVALID_PARAMS otherwise) of at most
 * `maxTxBytes` (the chain's `params.maxTxBytes`; TX_TOO_LARGE, checked before
 * the hex is decoded). Whether the bytes are a transaction is the decoder's
 * business (MALFORMED_TX).
 */
export function rawTxParam(v: unknown, maxTxBytes: number): Uint8Array {
  const name = "transaction";
  if (typeof v !== "string") throw invalidParams(`${name} must be a 0x-prefixed hex string of the signed transaction's SSZ bytes, got ${jsonKind(v)}`, { field: name });
  if (!v.startsWith("0x")) throw invalidParams(`${name} must start with 0x`, { field: name });
  const size = Math.floor((v.length - 2) / 2);
  if (size > maxTxBytes) {
    throw new TxError(TxErrorCode.TX_TOO_LARGE, `transaction is ${size} bytes; the limit (params.maxTxBytes) is ${maxTxBytes} bytes`, { size, limit: maxTxBytes });
  }
  return hexParam(v, name);
}

const BECH32_CHARS = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]*$/;
/** A pouw address is "pouw1" plus 32 characters of data and 6 of checksum. */
const ADDRESS_CHARS = ADDRESS_PREFIX.length + 1 + 32 + 6;

export function addressParam(v: unknown, name: string): Uint8Array {
  if (typeof v !== "string") throw invalidParams(`${name} must be a bech32m ${ADDRESS_PREFIX}1… address string, got ${jsonKind(v)}`, { field: name });
  try {
    return decodeAddress(v);
  } catch {
    throw invalidParams(addressProblem(v, name), { field: name });
  }
}

/** Why `v` is not a pouw address, in the terms of docs/transactions.md §6. */
function addressProblem(v: string, name: string): string {
  const what = `a bech32m address: "${ADDRESS_PREFIX}1" and 38 characters (${ADDRESS_CHARS} in all), in one case`;
  if (/^0x[0-9a-fA-F]*$/.test(v)) return `${name} must be ${what}, not hex`;
  if (v !== v.toLowerCase() && v !== v.toUpperCase()) return `${name} mixes upper and lower case; it must be ${what}`;
  const lower = v.toLowerCase();
  if (!lower.startsWith(`${ADDRESS_PREFIX}1`)) return `${name} must start with "${ADDRESS_PREFIX}1": it must be ${what}`;
  if (v.length !== ADDRESS_CHARS) return `${name} is ${v.length} characters; it must be ${what}`;
  if (!BECH32_CHARS.test(lower.slice(ADDRESS_PREFIX.length + 1))) return `${name} has a character outside the bech32 alphabet (qpzry9x8gf2tvdw0s3jn54khce6mua7l)`;
  return `${name} has a bad bech32m checksum`;
}

export function objectParam(v: unknown, name: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw invalidParams(`${name} must be an object, got ${jsonKind(v)}`, { field: name });
  return v as Record<string, unknown>;
}

export function boolOption(o: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw invalidParams(`option ${key} must be a boolean, got ${jsonKind(v)}`, { field: key });
  return v;
}

/** A block reference: a height (number or decimal string), "latest", or a 32-byte 0x hash. */
export type BlockRef = { height: number } | { hash: Uint8Array } | "latest";

export function blockRefParam(v: unknown): BlockRef {
  if (v === undefined || v === "latest") return "latest";
  if (typeof v === "number" || (typeof v === "string" && /^[0-9]+$/.test(v))) {
    const h = Number(v);
    if (!Number.isSafeInteger(h) || h < 0) throw invalidParams(`block height must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`, { field: "block" });
    return { height: h };
  }
  if (typeof v === "string" && v.startsWith("0x")) return { hash: hexParam(v, "block hash", { length: 32 }) };
  throw invalidParams(`block must be a height, "latest" or a 0x block hash of 32 bytes, got ${typeof v === "string" ? "another string" : jsonKind(v)}`, { field: "block" });
}
