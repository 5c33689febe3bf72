/** Parameter parsing for RPC methods: each helper throws INVALID_PARAMS with the position and the reason. */
import { decodeAddress } from "../crypto/address.ts";
import { fromHex, isHex } from "../util/hex.ts";
import { invalidParams } from "./errors.ts";

export function paramList(params: unknown, min: number, max: number): unknown[] {
  const list = params === undefined ? [] : params;
  if (!Array.isArray(list)) throw invalidParams("params must be an array");
  if (list.length < min || list.length > max) throw invalidParams(`expected ${min === max ? min : `${min}..${max}`} params, got ${list.length}`);
  return list;
}

export function hexParam(v: unknown, name: string, opts: { length?: number; maxBytes?: number } = {}): Uint8Array {
  if (typeof v !== "string") throw invalidParams(`${name} must be a 0x-prefixed hex string`);
  if (!v.startsWith("0x") || !isHex(v)) throw invalidParams(`${name} must be 0x-prefixed, even-length hex`);
  if (opts.maxBytes !== undefined && (v.length - 2) / 2 > opts.maxBytes) throw invalidParams(`${name} exceeds ${opts.maxBytes} bytes`);
  const bytes = fromHex(v);
  if (opts.length !== undefined && bytes.length !== opts.length) throw invalidParams(`${name} must be ${opts.length} bytes, got ${bytes.length}`);
  return bytes;
}

export function addressParam(v: unknown, name: string): Uint8Array {
  if (typeof v !== "string") throw invalidParams(`${name} must be a pouw1… address`);
  try {
    return decodeAddress(v);
  } catch (e) {
    throw invalidParams(`${name}: ${(e as Error).message}`);
  }
}

export function objectParam(v: unknown, name: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw invalidParams(`${name} must be an object`);
  return v as Record<string, unknown>;
}

export function boolOption(o: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") throw invalidParams(`option ${key} must be a boolean`);
  return v;
}

/** A block reference: a height (number or decimal string), "latest", or a 32-byte 0x hash. */
export type BlockRef = { height: number } | { hash: Uint8Array } | "latest";

export function blockRefParam(v: unknown): BlockRef {
  if (v === undefined || v === "latest") return "latest";
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw invalidParams("block height must be a non-negative integer");
    return { height: v };
  }
  if (typeof v === "string" && /^[0-9]+$/.test(v)) return blockRefParam(Number(v));
  if (typeof v === "string" && v.startsWith("0x")) return { hash: hexParam(v, "block hash", { length: 32 }) };
  throw invalidParams('block must be a height, "latest" or a 0x block hash');
}
