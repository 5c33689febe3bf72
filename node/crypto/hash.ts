import { hash } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { concatBytes } from "../util/hex.ts";

/** SHA-256, the hash inside the chain (SSZ's). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  // One-shot crypto.hash: a fraction of createHash().update().digest() for the short inputs hashed per transaction.
  const data = parts.length === 1 ? parts[0]! : concatBytes(...parts);
  const out = hash("sha256", data, "buffer");
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** keccak256, for everything a settlement contract must recompute (DESIGN §9). */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
