/**
 * The two ML-DSA-44 back ends (node:crypto and @noble/post-quantum) must be
 * interchangeable byte for byte: same keys from a seed, each verifies the
 * other's signatures, both reject the same forgeries.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MLDSA44_PUBLIC_KEY_BYTES,
  MLDSA44_SEED_BYTES,
  MLDSA44_SIGNATURE_BYTES,
  NativeMlDsa,
  NobleMlDsa,
  hasNativeMlDsa,
  type MlDsaBackend,
} from "../../../node/crypto/mldsa.ts";

const SEED = 20260402;
const NATIVE = hasNativeMlDsa();
if (!NATIVE) {
  console.warn("mldsa-interop: this Node has no native ML-DSA-44 (node:crypto 'ml-dsa-44'); native-vs-noble tests are SKIPPED, only noble is tested");
}
const SKIP_REASON = "SKIPPED: node:crypto has no native ML-DSA-44 in this runtime (hasNativeMlDsa() is false)";
const describeNative = (title: string, fn: () => void) => (NATIVE ? describe(title, fn) : describe.skip(`${title} — ${SKIP_REASON}`, fn));

const noble = new NobleMlDsa();
const native: MlDsaBackend | null = NATIVE ? new NativeMlDsa() : null;

const seedArb = fc.uint8Array({ minLength: MLDSA44_SEED_BYTES, maxLength: MLDSA44_SEED_BYTES });
const msgArb = fc.uint8Array({ minLength: 0, maxLength: 200 });
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const flipBit = (b: Uint8Array, bit: number): Uint8Array => {
  const out = b.slice();
  const i = bit % (out.length * 8);
  out[i >> 3] ^= 1 << (i & 7);
  return out;
};

/** Seed bytes 0x00.., 0xff.., and a few fixed patterns, for tests that are not property-based. */
const fixedSeed = (fill: number) => new Uint8Array(MLDSA44_SEED_BYTES).fill(fill);

function rejectsForgeries(name: string, backend: () => MlDsaBackend, signer: () => MlDsaBackend) {
  describe(`${name} verification`, () => {
    it("rejects a flipped bit in the signature, the message or the public key", () => {
      fc.assert(
        fc.property(seedArb, msgArb, fc.nat(), fc.nat(), fc.nat(), (seed, msg, sb, mb, pb) => {
          const b = backend();
          const pk = signer().publicKeyFromSeed(seed);
          const sig = signer().sign(seed, msg);
          expect(b.verify(pk, msg, sig)).toBe(true);
          expect(b.verify(pk, msg, flipBit(sig, sb))).toBe(false);
          const badMsg = msg.length === 0 ? Uint8Array.of(1 << (mb & 7)) : flipBit(msg, mb);
          expect(b.verify(pk, badMsg, sig)).toBe(false);
          expect(b.verify(flipBit(pk, pb), msg, sig)).toBe(false);
        }),
        { seed: SEED, numRuns: 4 },
      );
    });

    it("rejects wrong lengths of signature and public key (returns false, does not throw)", () => {
      const seed = fixedSeed(7);
      const msg = new TextEncoder().encode("length checks");
      const b = backend();
      const pk = signer().publicKeyFromSeed(seed);
      const sig = signer().sign(seed, msg);
      expect(pk.length).toBe(MLDSA44_PUBLIC_KEY_BYTES);
      expect(sig.length).toBe(MLDSA44_SIGNATURE_BYTES);
      expect(b.verify(pk, msg, sig)).toBe(true);
      const longer = (x: Uint8Array) => Uint8Array.of(...x, 0);
      for (const badSig of [sig.subarray(0, sig.length - 1), longer(sig), new Uint8Array(0), sig.subarray(0, 2419 - 100)]) {
        expect(b.verify(pk, msg, badSig)).toBe(false);
      }
      for (const badPk of [pk.subarray(0, pk.length - 1), longer(pk), new Uint8Array(0), new Uint8Array(1952)]) {
        expect(b.verify(badPk, msg, sig)).toBe(false);
      }
    });

    it("rejects another key's signature and a zero signature", () => {
      const msg = new TextEncoder().encode("other key");
      const b = backend();
      const sigA = signer().sign(fixedSeed(1), msg);
      const pkB = signer().publicKeyFromSeed(fixedSeed(2));
      expect(b.verify(pkB, msg, sigA)).toBe(false);
      expect(b.verify(pkB, msg, new Uint8Array(MLDSA44_SIGNATURE_BYTES))).toBe(false);
      expect(b.verify(new Uint8Array(MLDSA44_PUBLIC_KEY_BYTES), msg, sigA)).toBe(false);
    });
  });
}

describeNative("native vs noble ML-DSA-44", () => {
  it("derives byte-identical public keys from the same seed", () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const a = native!.publicKeyFromSeed(seed);
        const b = noble.publicKeyFromSeed(seed);
        expect(a.length).toBe(MLDSA44_PUBLIC_KEY_BYTES);
        expect(hex(a)).toBe(hex(b));
      }),
      { seed: SEED, numRuns: 8 },
    );
    for (const fill of [0x00, 0xff]) expect(hex(native!.publicKeyFromSeed(fixedSeed(fill)))).toBe(hex(noble.publicKeyFromSeed(fixedSeed(fill))));
  });

  it("a native signature verifies under noble, and a noble signature under native", () => {
    fc.assert(
      fc.property(seedArb, msgArb, fc.boolean(), (seed, msg, deterministic) => {
        const pk = noble.publicKeyFromSeed(seed);
        const nativeSig = native!.sign(seed, msg);
        const nobleSig = noble.sign(seed, msg, { deterministic });
        expect(nativeSig.length).toBe(MLDSA44_SIGNATURE_BYTES);
        expect(nobleSig.length).toBe(MLDSA44_SIGNATURE_BYTES);
        expect(noble.verify(pk, msg, nativeSig)).toBe(true);
        expect(native!.verify(pk, msg, nobleSig)).toBe(true);
        // and each verifies its own
        expect(native!.verify(pk, msg, nativeSig)).toBe(true);
        expect(noble.verify(pk, msg, nobleSig)).toBe(true);
      }),
      { seed: SEED, numRuns: 8 },
    );
  });

  it("native signing is hedged: two signatures of one message differ, both verify under noble", () => {
    const seed = fixedSeed(9);
    const msg = new TextEncoder().encode("hedged");
    const s1 = native!.sign(seed, msg);
    const s2 = native!.sign(seed, msg, { deterministic: true });
    expect(hex(s1)).not.toBe(hex(s2));
    const pk = native!.publicKeyFromSeed(seed);
    expect(noble.verify(pk, msg, s1)).toBe(true);
    expect(noble.verify(pk, msg, s2)).toBe(true);
  });

  it("a native verifier caching public keys still rejects a key it has not seen", () => {
    const v = new NativeMlDsa(2);
    const msg = new TextEncoder().encode("cache");
    const sigs = [1, 2, 3].map((i) => ({ pk: noble.publicKeyFromSeed(fixedSeed(i)), sig: noble.sign(fixedSeed(i), msg, { deterministic: true }) }));
    for (const { pk, sig } of sigs) expect(v.verify(pk, msg, sig)).toBe(true);
    // After evictions, mixing keys and signatures must still fail.
    expect(v.verify(sigs[0]!.pk, msg, sigs[1]!.sig)).toBe(false);
    expect(v.verify(sigs[2]!.pk, msg, sigs[0]!.sig)).toBe(false);
    expect(v.verify(sigs[0]!.pk, msg, sigs[0]!.sig)).toBe(true);
  });
});

describeNative("native back end", () => {
  rejectsForgeries("native (noble-signed)", () => native!, () => noble);
  rejectsForgeries("native (native-signed)", () => native!, () => native!);
  rejectsForgeries("noble (native-signed)", () => noble, () => native!);
});
rejectsForgeries("noble (noble-signed)", () => noble, () => noble);

describe("noble deterministic signing", () => {
  it("is reproducible: same seed and message give the same bytes, across instances", () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const a = noble.sign(seed, msg, { deterministic: true });
        const b = new NobleMlDsa().sign(seed, msg, { deterministic: true });
        expect(hex(a)).toBe(hex(b));
        expect(noble.verify(noble.publicKeyFromSeed(seed), msg, a)).toBe(true);
      }),
      { seed: SEED, numRuns: 4 },
    );
  });

  it("depends on the message and the seed", () => {
    const msg = new TextEncoder().encode("m");
    const a = noble.sign(fixedSeed(1), msg, { deterministic: true });
    expect(hex(noble.sign(fixedSeed(1), new TextEncoder().encode("n"), { deterministic: true }))).not.toBe(hex(a));
    expect(hex(noble.sign(fixedSeed(2), msg, { deterministic: true }))).not.toBe(hex(a));
  });

  it("hedged noble signing (the default) is randomized", () => {
    const msg = new TextEncoder().encode("hedged noble");
    const a = noble.sign(fixedSeed(3), msg);
    const b = noble.sign(fixedSeed(3), msg);
    expect(hex(a)).not.toBe(hex(b));
    const pk = noble.publicKeyFromSeed(fixedSeed(3));
    expect(noble.verify(pk, msg, a) && noble.verify(pk, msg, b)).toBe(true);
  });
});
