import { createHash } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3.js";

/** SHA-256, the hash inside the chain (SSZ's). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** keccak256, for everything a settlement contract must recompute (DESIGN §9). */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
