import { bech32m } from "@scure/base";
import { utf8 } from "../util/hex.ts";
import { sha256 } from "./hash.ts";

export const ADDRESS_BYTES = 20;
export const ADDRESS_PREFIX = "pouw";
/** Key scheme byte hashed into the address, so other schemes can come later without collisions. */
export const SCHEME_MLDSA44 = 0x01;
const ADDRESS_DOMAIN = utf8("pouw/addr/v1");

/** First 20 bytes of SHA-256("pouw/addr/v1" ‖ scheme ‖ publicKey). */
export function addressFromPublicKey(publicKey: Uint8Array, scheme = SCHEME_MLDSA44): Uint8Array {
  return sha256(ADDRESS_DOMAIN, Uint8Array.of(scheme), publicKey).subarray(0, ADDRESS_BYTES);
}

export function encodeAddress(address: Uint8Array): string {
  if (address.length !== ADDRESS_BYTES) throw new TypeError(`address must be ${ADDRESS_BYTES} bytes`);
  return bech32m.encode(ADDRESS_PREFIX, bech32m.toWords(address));
}

/**
 * Parses a `pouw1…` bech32m address (all lower or, per BIP-173, all upper
 * case; mixed case is invalid); throws `TypeError` with the reason on
 * anything else, saying so when it is an EVM/hex `0x…` address.
 */
export function decodeAddress(text: string): Uint8Array {
  if (/^0x[0-9a-f]*$/i.test(text)) throw new TypeError(`${text} is an EVM/hex address, not a pouw address (${ADDRESS_PREFIX}1…)`);
  let decoded;
  try {
    decoded = bech32m.decode(text as `${string}1${string}`);
  } catch (e) {
    const mixed = text !== text.toLowerCase() && text !== text.toUpperCase();
    throw new TypeError(`invalid bech32m address: ${mixed ? "mixed upper and lower case (an address is all lower or all upper case)" : (e as Error).message}`);
  }
  if (decoded.prefix !== ADDRESS_PREFIX) throw new TypeError(`address prefix must be "${ADDRESS_PREFIX}", got "${decoded.prefix}"`);
  const bytes = bech32m.fromWords(decoded.words);
  if (bytes.length !== ADDRESS_BYTES) throw new TypeError(`address must be ${ADDRESS_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

export function isAddress(text: unknown): boolean {
  if (typeof text !== "string") return false;
  try {
    decodeAddress(text);
    return true;
  } catch {
    return false;
  }
}
