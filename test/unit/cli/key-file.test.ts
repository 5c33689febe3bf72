/**
 * Key files (node/cli/key-file.ts) on a real directory: an ML-DSA key and an
 * anchor key each round-trip encrypted and plaintext; an encrypted file with
 * no password is KEY_LOCKED naming the file; a keystore of the other kind is
 * refused; a plaintext file is read with one warning. Low scrypt cost (test only).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEVNET_INSECURE_LABEL, keyFileInfo, readAnchorKeyFile, readKeyFile, writeAnchorKeyFile, writeKeyFile } from "../../../node/cli/key-file.ts";
import { AnchorKey } from "../../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";

process.env.POUW_KEYSTORE_SCRYPT_N = "1024";
const dir = mkdtempSync(join(tmpdir(), "pouw-key-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pw = (p: string | null) => ({ password: async () => p, warn: () => {} });

describe("key files", () => {
  const key = AccountKey.fromLabel("key-file-test");

  it("an ML-DSA key: encrypted round-trip, info without the password, KEY_LOCKED without one", async () => {
    const path = join(dir, "v.json");
    await writeKeyFile(path, "v", key, { password: "pw" });
    expect(readFileSync(path, "utf8")).not.toContain(Buffer.from(key.seed).toString("hex"));
    expect(keyFileInfo(path)).toMatchObject({ encrypted: true, address: key.bech32, anchorAddress: AnchorKey.fromSeed(key.seed).address });
    expect((await readKeyFile(path, pw("pw"))).seed).toEqual(key.seed);
    await expect(readKeyFile(path, { ...pw(null), what: "validator key" })).rejects.toMatchObject({
      code: "KEY_LOCKED",
      message: `validator key ${path} is encrypted and no password was given: use --password-file <file> (or run on a terminal to be asked)`,
    });
    await expect(readKeyFile(path, pw("nope"))).rejects.toMatchObject({ code: "KEYSTORE_BAD_PASSWORD" });
    await expect(writeKeyFile(path, "v", key, { password: "pw" })).rejects.toThrow(/already exists/);
  });

  it("an anchor key: encrypted and plaintext round-trips; a keystore of the other kind is refused", async () => {
    const anchor = AnchorKey.generate();
    const sealed = join(dir, "anchor.json");
    await writeAnchorKeyFile(sealed, anchor, { password: "pw" });
    expect(readFileSync(sealed, "utf8")).not.toContain(anchor.privateKey.slice(2));
    expect((await readAnchorKeyFile(sealed, pw("pw"))).privateKey).toBe(anchor.privateKey);
    const plain = join(dir, "anchor-plain.json");
    await writeAnchorKeyFile(plain, anchor, { password: null });
    expect((await readAnchorKeyFile(plain, pw(null))).address).toBe(anchor.address);
    await expect(readKeyFile(sealed, pw("pw"))).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED", message: `keystore ${sealed} holds a pouw-anchor-secp256k1 key, not a pouw-mldsa-seed key` });
    await expect(readAnchorKeyFile(join(dir, "v.json"), pw("pw"))).rejects.toMatchObject({ code: "KEYSTORE_UNSUPPORTED" });
  });

  it("a plaintext file reads with one warning; a devnet key says it is published", async () => {
    const path = join(dir, "plain.json");
    await writeKeyFile(path, "plain", key, { password: null });
    const seen: string[] = [];
    const o = { password: async () => null, warn: (m: string) => void seen.push(m) };
    expect((await readKeyFile(path, o)).bech32).toBe(key.bech32);
    await readKeyFile(path, o);
    expect(seen).toEqual([`key ${path} is an UNENCRYPTED plaintext file: anyone who can read it can sign with it (write it encrypted: pouw keys import, or pouw init, with --password-file)`]);
    const dev = join(dir, "dev.json");
    await writeKeyFile(dev, "validator", key, { password: null, insecure: DEVNET_INSECURE_LABEL });
    expect(JSON.parse(readFileSync(dev, "utf8")).insecure).toBe(DEVNET_INSECURE_LABEL);
    await readKeyFile(dev, { ...o, what: "validator key" });
    expect(seen[1]).toBe(`validator key ${dev} is plaintext on purpose (${DEVNET_INSECURE_LABEL}): never hold value on it`);
  });
});
