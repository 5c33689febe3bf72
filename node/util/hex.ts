const HEX_RE = /^(0x)?([0-9a-fA-F]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function isHex(s: unknown): s is string {
  return typeof s === "string" && HEX_RE.test(s);
}

/**
 * Parses `0x`-prefixed (or bare) hex; throws `TypeError` on anything else.
 * Buffer's decoder stops at the first pair that is not hex, so a short result
 * is the whole check (no regular expression over a 7 KB transaction).
 */
export function fromHex(s: string): Uint8Array {
  const out = hexBytes(s);
  if (!out) throw new TypeError("not an even-length hex string");
  return out;
}

/** The bytes of `0x`-prefixed (or bare) even-length hex, or null when it is not that. */
export function hexBytes(s: string): Uint8Array | null {
  const from = s.startsWith("0x") ? 2 : 0;
  const digits = s.length - from;
  if (digits % 2 !== 0) return null;
  // Decoded straight into a buffer of its own (never Buffer's shared pool, so no caller can see or transfer another's
  // bytes): one allocation per call. Decoding stops at the first pair that is not hex, so a short count means bad input.
  const n = digits / 2;
  const buf = Buffer.allocUnsafeSlow(n);
  if (n > 0 && buf.write(from === 0 ? s : s.substring(from), 0, n, "hex") !== n) return null;
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
