/**
 * Addresses: derivation from a public key and the `pouw1…` bech32m text form.
 * Both are checked against independent implementations (node:crypto SHA-256
 * and a BIP-350 bech32m encoder written out here).
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ADDRESS_BYTES, ADDRESS_PREFIX, SCHEME_MLDSA44, addressFromPublicKey, decodeAddress, encodeAddress, isAddress } from "../../../node/crypto/address.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";

const SEED = 20260403;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// ------------------------------------------- BIP-173/350 reference encoder

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;

function polymod(values: number[]): number {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}
const hrpExpand = (hrp: string) => [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];

function toWords(data: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

function refEncode(hrp: string, data: Uint8Array, constant = BECH32M_CONST): string {
  const words = toWords(data);
  const pm = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ constant;
  const checksum = Array.from({ length: 6 }, (_, i) => (pm >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...words, ...checksum].map((w) => CHARSET[w]).join("");
}

// --------------------------------------------------------------------- tests

const bytesArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const addrArb = bytesArb(ADDRESS_BYTES);

describe("addressFromPublicKey", () => {
  const independent = (pk: Uint8Array, scheme = 0x01) =>
    new Uint8Array(createHash("sha256").update(Buffer.from("pouw/addr/v1", "utf8")).update(Uint8Array.of(scheme)).update(pk).digest().subarray(0, 20));

  it('is the first 20 bytes of SHA-256("pouw/addr/v1" ‖ 0x01 ‖ pk)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1400 }), (pk) => {
        const a = addressFromPublicKey(pk);
        expect(a.length).toBe(20);
        expect(hex(a)).toBe(hex(independent(pk)));
      }),
      { seed: SEED, numRuns: 200 },
    );
    expect(SCHEME_MLDSA44).toBe(0x01);
  });

  it("hashes the scheme byte in: another scheme gives another address", () => {
    fc.assert(
      fc.property(bytesArb(1312), fc.integer({ min: 2, max: 255 }), (pk, scheme) => {
        expect(hex(addressFromPublicKey(pk, scheme))).toBe(hex(independent(pk, scheme)));
        expect(hex(addressFromPublicKey(pk, scheme))).not.toBe(hex(addressFromPublicKey(pk)));
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it("an AccountKey's address is derived from its real ML-DSA public key", () => {
    const key = AccountKey.fromLabel("address-test/0");
    expect(key.publicKey.length).toBe(1312);
    expect(hex(key.address)).toBe(hex(independent(key.publicKey)));
    expect(key.bech32).toBe(refEncode("pouw", key.address));
  });
});

describe("encodeAddress / decodeAddress", () => {
  it("encodes as bech32m with prefix pouw1, matching a BIP-350 reference encoder", () => {
    fc.assert(
      fc.property(addrArb, (a) => {
        const text = encodeAddress(a);
        expect(text.startsWith("pouw1")).toBe(true);
        expect(text).toBe(refEncode(ADDRESS_PREFIX, a));
        expect(text.length).toBe(4 + 1 + 32 + 6);
        expect(text).toBe(text.toLowerCase());
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("round-trips any 20 bytes", () => {
    fc.assert(
      fc.property(addrArb, (a) => {
        const back = decodeAddress(encodeAddress(a));
        expect(back).toBeInstanceOf(Uint8Array);
        expect(hex(back)).toBe(hex(a));
        expect(isAddress(encodeAddress(a))).toBe(true);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("decodes an address produced by the reference encoder, and its all-uppercase form (BIP-173)", () => {
    fc.assert(
      fc.property(addrArb, (a) => {
        const text = refEncode("pouw", a);
        expect(hex(decodeAddress(text))).toBe(hex(a));
        expect(hex(decodeAddress(text.toUpperCase()))).toBe(hex(a));
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it("encodeAddress refuses anything but 20 bytes with TypeError", () => {
    for (const n of [0, 19, 21, 32]) expect(() => encodeAddress(new Uint8Array(n))).toThrow(TypeError);
  });

  const rejects = (text: string, why?: RegExp) => {
    expect(() => decodeAddress(text)).toThrow(TypeError);
    if (why) expect(() => decodeAddress(text)).toThrow(why);
    expect(isAddress(text)).toBe(false);
  };

  it("rejects a wrong prefix with a valid checksum", () => {
    fc.assert(
      fc.property(addrArb, fc.constantFrom("cosmos", "pouv", "pou", "pouww", "bc", "tpouw"), (a, hrp) => {
        rejects(refEncode(hrp, a), /prefix/);
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it("rejects a bad checksum (any one character changed)", () => {
    fc.assert(
      fc.property(addrArb, fc.nat(), fc.integer({ min: 1, max: 31 }), (a, posSeed, shift) => {
        const text = encodeAddress(a);
        // any position after the separator "pouw1"
        const pos = 5 + (posSeed % (text.length - 5));
        const c = CHARSET[(CHARSET.indexOf(text[pos]!) + shift) % 32]!;
        rejects(text.slice(0, pos) + c + text.slice(pos + 1));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("rejects a wrong length with a valid bech32m checksum", () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 19, 21, 32, 40), fc.nat(), (n, s) => {
        const data = new Uint8Array(n).map((_, i) => (s + i * 7) & 0xff);
        rejects(refEncode("pouw", data), /20 bytes/);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  it("rejects bech32 (BIP-173) encodings of a valid address", () => {
    fc.assert(
      fc.property(addrArb, (a) => {
        const legacy = refEncode("pouw", a, BECH32_CONST);
        expect(legacy).not.toBe(encodeAddress(a));
        rejects(legacy);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it("rejects mixed case, garbage and non-canonical forms", () => {
    const good = encodeAddress(new Uint8Array(20).fill(0xab));
    const cases = [
      "",
      "pouw1",
      "pouw",
      "pouw1qqqq",
      "not an address",
      " " + good,
      good + " ",
      "P" + good.slice(1),
      good.slice(0, 10) + good.slice(10).toUpperCase(),
      good.replace("1", ""),
      good.slice(0, -1),
      good + "q",
      "0x" + "ab".repeat(20),
      good.replace(/.$/, "b"), // 'b' is not in the bech32 charset
    ];
    for (const c of cases) rejects(c);
    expect(isAddress(undefined)).toBe(false);
    expect(isAddress(42)).toBe(false);
    expect(isAddress(new Uint8Array(20))).toBe(false);
  });
});
