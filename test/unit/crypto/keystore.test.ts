/**
 * The keystore (node/crypto/keystore.ts): a seed in, the same seed out, for
 * both kinds; the file's fields; a wrong password, a tampered ciphertext, IV,
 * tag, salt or public field each fail with their own code and never yield a
 * different key; EIP-2335's password normalisation. A low scrypt cost (test only).
 */
import { describe, expect, it } from "vitest";
import { AnchorKey } from "../../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { DEFAULT_SCRYPT, decryptKeystore, encryptKeystore, normalizePassword, parseKeystore, testScryptOverride, type KeystoreJson } from "../../../node/crypto/keystore.ts";
import { fromHex, toHex } from "../../../node/util/hex.ts";

const cheap = { n: 1024, r: 8, p: 1 };
const account = AccountKey.fromLabel("keystore-test/account");
const anchor = AnchorKey.fromSeed(account.seed);

const seal = (password = "correct horse", extra?: Record<string, string>) =>
  encryptKeystore(account.seed, password, { kind: "pouw-mldsa-seed", pubkey: toHex(account.publicKey), address: account.bech32, ...(extra ? { extra } : {}), description: "test", scrypt: cheap });

/** A copy of `k` with one hex field's first byte flipped. */
function flip(k: KeystoreJson, edit: (c: KeystoreJson) => [Record<string, unknown>, string]): KeystoreJson {
  const copy = structuredClone(k);
  const [obj, field] = edit(copy);
  const hex = obj[field] as string;
  obj[field] = ((parseInt(hex.slice(0, 2), 16) ^ 1).toString(16).padStart(2, "0")) + hex.slice(2);
  return copy;
}

describe("keystore", () => {
  it("round-trips an ML-DSA seed and a secp256k1 anchor key", async () => {
    const k = await seal();
    expect(await decryptKeystore(JSON.parse(JSON.stringify(k)), "correct horse", "k.json")).toEqual(account.seed);
    const a = await encryptKeystore(fromHex(anchor.privateKey), "pw", { kind: "pouw-anchor-secp256k1", pubkey: "0x02", address: anchor.address, scrypt: cheap });
    expect(toHex(await decryptKeystore(a, "pw", "a.json"))).toBe(anchor.privateKey);
  });

  it("has EIP-2335's fields, and neither the seed nor the password in it", async () => {
    const k = await seal("correct horse", { anchorAddress: anchor.address });
    expect(k).toMatchObject({
      version: 1,
      kind: "pouw-mldsa-seed",
      crypto: {
        kdf: { function: "scrypt", params: { n: 1024, r: 8, p: 1, dklen: 32 } },
        checksum: { function: "sha256" },
        cipher: { function: "aes-256-gcm" },
      },
      pubkey: toHex(account.publicKey),
      address: account.bech32,
      extra: { anchorAddress: anchor.address },
      description: "test",
    });
    expect(k.crypto.kdf.params.salt).toMatch(/^[0-9a-f]{64}$/);
    expect(k.crypto.checksum.message).toMatch(/^[0-9a-f]{64}$/);
    expect(k.crypto.cipher.params.iv).toMatch(/^[0-9a-f]{24}$/);
    expect(k.crypto.cipher.params.tag).toMatch(/^[0-9a-f]{32}$/);
    expect(k.crypto.cipher.message).toMatch(/^[0-9a-f]{64}$/);
    expect(k.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const text = JSON.stringify(k);
    expect(text).not.toContain(toHex(account.seed).slice(2));
    expect(text).not.toContain("correct horse");
    // Two encryptions of one seed share nothing secret-derived.
    const k2 = await seal();
    expect(k2.crypto.kdf.params.salt).not.toBe(k.crypto.kdf.params.salt);
    expect(k2.crypto.cipher.message).not.toBe(k.crypto.cipher.message);
    expect(parseKeystore(k, "k.json")).toBe(k);
  });

  it("a wrong password fails with KEYSTORE_BAD_PASSWORD and a message naming the file", async () => {
    const k = await seal();
    const e = await decryptKeystore(k, "correct horse!", "/keys/x.json").catch((err: unknown) => err);
    expect(e).toMatchObject({ code: "KEYSTORE_BAD_PASSWORD", message: "wrong password for keystore /keys/x.json (the checksum does not match)" });
  });

  it("a tampered ciphertext, IV, tag or public field is KEYSTORE_CORRUPT, a tampered salt or kdf parameter a bad password: never another key", async () => {
    const k = await seal("pw", { anchorAddress: anchor.address });
    const corrupt: [string, KeystoreJson][] = [
      ["ciphertext", flip(k, (c) => [c.crypto.cipher as unknown as Record<string, unknown>, "message"])],
      ["iv", flip(k, (c) => [c.crypto.cipher.params, "iv"])],
      ["tag", flip(k, (c) => [c.crypto.cipher.params, "tag"])],
      ["pubkey", { ...k, pubkey: toHex(AccountKey.fromLabel("other").publicKey) }],
      ["address", { ...k, address: AccountKey.fromLabel("other").bech32 }],
      ["extra", { ...k, extra: { anchorAddress: "0x" + "11".repeat(20) } }],
      ["kind", { ...k, kind: "pouw-anchor-secp256k1" }],
    ];
    for (const [what, bad] of corrupt) {
      const e = await decryptKeystore(bad, "pw", "k.json").catch((err: unknown) => err);
      expect(e, what).toMatchObject({ code: "KEYSTORE_CORRUPT" });
      expect((e as Error).message, what).toMatch(/^keystore k\.json is corrupt: the password is right but the ciphertext, IV or public fields were changed/);
    }
    const salt = flip(k, (c) => [c.crypto.kdf.params as unknown as Record<string, unknown>, "salt"]);
    await expect(decryptKeystore(salt, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_BAD_PASSWORD" });
    const n = structuredClone(k);
    n.crypto.kdf.params.n = 2048;
    await expect(decryptKeystore(n, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_BAD_PASSWORD" });
    // The description is not authenticated: a label, it changes nothing a reader acts on.
    expect(await decryptKeystore({ ...k, description: "renamed" }, "pw", "k.json")).toEqual(account.seed);
  });

  it("a file that is not a keystore, or one this node cannot read, has its own code", async () => {
    const k = await seal();
    await expect(decryptKeystore({ seed: "0x00" }, "pw", "p.json")).rejects.toMatchObject({ code: "KEYSTORE_CORRUPT", message: "keystore p.json is corrupt: not a keystore (no version and crypto fields)" });
    await expect(decryptKeystore({ ...k, version: 4 }, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED", message: "keystore k.json is not supported by this node: version 4 (this node reads version 1)" });
    const pbkdf2 = structuredClone(k) as unknown as { crypto: { kdf: { function: string } } };
    pbkdf2.crypto.kdf.function = "pbkdf2";
    await expect(decryptKeystore(pbkdf2, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED" });
    const ctr = structuredClone(k) as unknown as { crypto: { cipher: { function: string } } };
    ctr.crypto.cipher.function = "aes-128-ctr";
    await expect(decryptKeystore(ctr, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED", message: /cipher "aes-128-ctr"/ });
    const huge = structuredClone(k);
    huge.crypto.kdf.params.n = 2 ** 24; // a hostile file must not take 16 GiB
    await expect(decryptKeystore(huge, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED", message: /above this node's limits/ });
    const noIv = structuredClone(k) as unknown as { crypto: { cipher: { params: Record<string, unknown> } } };
    delete noIv.crypto.cipher.params.iv;
    await expect(decryptKeystore(noIv, "pw", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_CORRUPT" });
    await expect(seal("\u0007\u0000")).rejects.toMatchObject({ code: "KEYSTORE_EMPTY_PASSWORD" });
  });

  it("normalises passwords as EIP-2335: NFKD, control codes stripped", async () => {
    const composed = "caf\u00e9"; // é as one code point
    const decomposed = "cafe\u0301"; // e + combining acute accent
    expect(composed).not.toBe(decomposed);
    expect(normalizePassword(composed)).toEqual(normalizePassword(decomposed));
    expect(normalizePassword("a\u0000b\u001fc\u007fd\u0080e\u009f")).toEqual(normalizePassword("abcde"));
    expect(normalizePassword("\ufb01")).toEqual(normalizePassword("fi")); // compatibility decomposition (the K in NFKD)
    const k = await seal(composed);
    expect(await decryptKeystore(k, decomposed, "k.json")).toEqual(account.seed);
    expect(await decryptKeystore(k, "caf\u00e9\u0007", "k.json")).toEqual(account.seed);
    await expect(decryptKeystore(k, "cafe", "k.json")).rejects.toMatchObject({ code: "KEYSTORE_BAD_PASSWORD" });
  });

  it("writes real keys at N = 2^18 unless $POUW_KEYSTORE_SCRYPT_N (test only) says otherwise", () => {
    expect(DEFAULT_SCRYPT).toEqual({ n: 2 ** 18, r: 8, p: 1 });
    expect(testScryptOverride({})).toBeNull();
    expect(testScryptOverride({ POUW_KEYSTORE_SCRYPT_N: "1024" })).toEqual({ n: 1024, r: 8, p: 1 });
    expect(() => testScryptOverride({ POUW_KEYSTORE_SCRYPT_N: "1000" })).toThrow(/power of two/);
  });
});
