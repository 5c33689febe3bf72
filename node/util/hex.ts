const HEX_RE = /^(0x)?([0-9a-fA-F]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return "0x" + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function isHex(s: unknown): s is string {
  return typeof s === "string" && HEX_RE.test(s);
}

/** Parses `0x`-prefixed (or bare) hex; throws `TypeError` on anything else. */
export function fromHex(s: string): Uint8Array {
  if (!isHex(s)) throw new TypeError("not an even-length hex string");
  const body = s.startsWith("0x") ? s.slice(2) : s;
  return new Uint8Array(Buffer.from(body, "hex"));
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
