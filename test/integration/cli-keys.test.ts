/**
 * Encrypted keys (issue 16) as a user meets them, with real `pouw` processes:
 * `keys new` / `keys import` write keystores with no seed in them, `keys show`
 * and `keys list` need no password, a transfer signs from an encrypted key
 * given --password-file (refused without one, or with a wrong one, each with
 * its own exit status), a plaintext key from before still signs (with a
 * warning), and `pouw start` on a home whose validator key is encrypted
 * refuses to start without a password (one line naming the file and the
 * flag, exit 83) and produces blocks with --password-file.
 * Keystores are written at a low scrypt cost ($POUW_KEYSTORE_SCRYPT_N, test only).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../../node/cli/errors.ts";
import { AccountKey } from "../../node/crypto/keys.ts";
import { decryptKeystore } from "../../node/crypto/keystore.ts";
import { toHex } from "../../node/util/hex.ts";
import { CLI, freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { until } from "../helpers/until.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pouw-cli-keys-"));
const keyring = join(dir, "keyring");
const env = { ...process.env, POUW_KEYRING: keyring, POUW_HOME: join(dir, "default-home"), POUW_KEYSTORE_SCRYPT_N: "1024" };
const passwordFile = join(dir, "password");
const wrongFile = join(dir, "wrong");
writeFileSync(passwordFile, "correct horse battery staple\n", { mode: 0o600 });
writeFileSync(wrongFile, "not it\n", { mode: 0o600 });

async function pouw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Exactly one line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0]!;
}

const home = join(dir, "home");
let node: ChildNode | undefined;
let rpc = "";

afterAll(async () => {
  node?.proc.kill("SIGTERM");
  await node?.exited;
  rmSync(dir, { recursive: true, force: true });
});

describe("pouw start with an encrypted validator key", () => {
  beforeAll(async () => {
    // The devnet's validator key (so this one home produces blocks), written encrypted.
    const init = await pouw("init", "--home", home, "--dev-validator", "0", "--password-file", passwordFile);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/keys\/validator\.json encrypted/);
  });

  it("writes the validator key as a keystore, with no seed in it", async () => {
    const text = readFileSync(join(home, "keys", "validator.json"), "utf8");
    const seed = toHex(AccountKey.fromLabel("pouw/devnet/validator/0").seed).slice(2);
    expect(text).not.toContain(seed);
    expect(JSON.parse(text)).toMatchObject({ version: 1, kind: "pouw-mldsa-seed", crypto: { kdf: { function: "scrypt" }, cipher: { function: "aes-256-gcm" } } });
    expect(statSync(join(home, "keys", "validator.json")).mode & 0o077).toBe(0);
  });

  it("refuses to start without a password: one line naming the file and --password-file, exit 83", async () => {
    const r = await pouw("start", "--home", home, "--rpc-port", String(await freePort()), "--no-worker", "--log-level", "warn");
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.KEY_LOCKED);
    expect(EXIT.KEY_LOCKED).toBe(83);
    expect(oneLine(r.stderr)).toBe(`error: validator key ${join(home, "keys", "validator.json")} is encrypted and no password was given: use --password-file <file> (or run on a terminal to be asked)`);
  });

  it("refuses a wrong password: one line, exit 84", async () => {
    const r = await pouw("start", "--home", home, "--rpc-port", String(await freePort()), "--no-worker", "--log-level", "warn", "--password-file", wrongFile);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.KEY_BAD_PASSWORD);
    expect(oneLine(r.stderr)).toBe(`error: wrong password for keystore ${join(home, "keys", "validator.json")} (the checksum does not match)`);
  });

  it("starts with --password-file and produces blocks", async () => {
    const port = await freePort();
    node = await startChild(home, port, ["--no-worker", "--password-file", passwordFile, "--block-time", "200"], env);
    rpc = `http://127.0.0.1:${port}/`;
    const height = await until(() => node!.client.chainInfo().then((i) => i.height), (h) => h >= 2, 30_000, "two blocks");
    expect(height).toBeGreaterThanOrEqual(2);
    expect(node.output()).not.toMatch(/UNENCRYPTED/);
  }, 60_000);
});

describe("pouw keys with encrypted keystores", () => {
  it("keys new writes a keystore with no seed in it; show and list need no password", async () => {
    const created = await pouw("keys", "new", "--name", "x", "--password-file", passwordFile, "--json");
    expect(created.code, created.stderr).toBe(0);
    const x = JSON.parse(created.stdout) as { address: string; file: string; encrypted: boolean };
    expect(x.encrypted).toBe(true);
    expect(statSync(x.file).mode & 0o077).toBe(0);
    const text = readFileSync(x.file, "utf8");
    const seed = await decryptKeystore(JSON.parse(text), "correct horse battery staple", x.file);
    expect(new AccountKey(seed).bech32).toBe(x.address);
    expect(text).not.toContain(toHex(seed).slice(2));
    expect(text).not.toContain("correct horse");

    const shown = await pouw("keys", "show", "x");
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`x: ${x.address}`);
    expect(shown.stdout).toContain("(encrypted keystore)");
    expect(JSON.parse((await pouw("keys", "show", "x", "--json")).stdout)).toMatchObject({ address: x.address, encrypted: true });
    const list = JSON.parse((await pouw("keys", "list", "--json")).stdout) as { name: string; address: string; encrypted: boolean }[];
    expect(list).toContainEqual({ name: "x", address: x.address, encrypted: true });
  });

  it("keys import encrypts the seed it is given", async () => {
    const seed = "5a".repeat(32);
    const r = await pouw("keys", "import", "--name", "imp", "--seed", seed, "--password-file", passwordFile, "--json");
    expect(r.code, r.stderr).toBe(0);
    const { file, address } = JSON.parse(r.stdout) as { file: string; address: string };
    expect(address).toBe(new AccountKey(Buffer.from(seed, "hex")).bech32);
    expect(readFileSync(file, "utf8")).not.toContain(seed);
  });

  it("keys new without a password (no terminal) is refused naming the flags; --insecure-plaintext writes the old format", async () => {
    const r = await pouw("keys", "new", "--name", "nopw");
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe("error: pouw keys new writes an encrypted keystore and needs its password: give --password-file <file> (or run it on a terminal to be asked), or --insecure-plaintext for a devnet or test key");
    const plain = await pouw("keys", "new", "--name", "plain", "--insecure-plaintext", "--json");
    expect(plain.code, plain.stderr).toBe(0);
    const file = JSON.parse(plain.stdout) as { file: string; encrypted: boolean };
    expect(file.encrypted).toBe(false);
    expect(JSON.parse(readFileSync(file.file, "utf8")).seed).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await pouw("keys", "show", "plain")).stdout).toMatch(/UNENCRYPTED plaintext/);
  });

  it("a transfer signs from an encrypted key with --password-file; without it exit 83, with a wrong one exit 84", async () => {
    expect(rpc).not.toBe(""); // the node started above
    const x = JSON.parse((await pouw("keys", "show", "x", "--json")).stdout) as { address: string };
    const fund = await pouw("tx", "transfer", "--from", "dev:2", "--to", "x", "--amount", "5", "--rpc", rpc, "--json");
    expect(fund.code, fund.stderr).toBe(0);

    const locked = await pouw("tx", "transfer", "--from", "x", "--to", "dev:3", "--amount", "1", "--rpc", rpc);
    expect(locked.code).toBe(EXIT.KEY_LOCKED);
    expect(oneLine(locked.stderr)).toBe(`error: key ${join(keyring, "x.json")} is encrypted and no password was given: use --password-file <file> (or run on a terminal to be asked)`);
    const wrong = await pouw("tx", "transfer", "--from", "x", "--to", "dev:3", "--amount", "1", "--rpc", rpc, "--password-file", wrongFile);
    expect(wrong.code).toBe(EXIT.KEY_BAD_PASSWORD);
    expect(oneLine(wrong.stderr)).toBe(`error: wrong password for keystore ${join(keyring, "x.json")} (the checksum does not match)`);

    const sent = await pouw("tx", "transfer", "--from", "x", "--to", "dev:3", "--amount", "1", "--rpc", rpc, "--password-file", passwordFile, "--json");
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: "finalized", receipt: { status: "success" } });
    const after = JSON.parse((await pouw("balance", "x", "--rpc", rpc, "--json")).stdout) as { address: string; balance: string; nonce: string };
    expect(after).toMatchObject({ address: x.address, nonce: "1" });
    expect(BigInt(after.balance)).toBeLessThan(4_000_000_000n); // 5 in, 1 out and the fee
  }, 90_000);

  it("a plaintext key from before still signs, with a warning that it is unencrypted", async () => {
    const fund = await pouw("tx", "transfer", "--from", "dev:2", "--to", "plain", "--amount", "2", "--rpc", rpc);
    expect(fund.code, fund.stderr).toBe(0);
    const sent = await pouw("tx", "transfer", "--from", "plain", "--to", "dev:3", "--amount", "1", "--rpc", rpc);
    expect(sent.code, sent.stderr).toBe(0);
    expect(oneLine(sent.stderr)).toMatch(/^warning: key \S+plain\.json is an UNENCRYPTED plaintext file: anyone who can read it can sign with it/);
  }, 90_000);

  // A terminal (a pty from util-linux `script`): the password is asked twice, never echoed.
  const hasScript = (() => {
    try {
      return existsSync(execFileSync("sh", ["-c", "command -v script"], { encoding: "utf8" }).trim());
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasScript)("on a terminal, keys new asks for the password twice without echoing it", async () => {
    const cmd = [process.execPath, CLI, "keys", "new", "--name", "tty", "--json"].map((a) => `'${a}'`).join(" ");
    const proc = spawn("script", ["-qec", cmd, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.on("exit", r));
    await until(() => out, (o) => o.includes("new password: "), 30_000, "the first prompt");
    proc.stdin.write("s\u00e9same tty\r");
    await until(() => out, (o) => o.includes("repeat it: "), 10_000, "the second prompt");
    proc.stdin.write("se\u0301same tty\r"); // the same password in NFKD's other spelling
    expect(await exited).toBe(0);
    expect(out).not.toContain("same tty");
    const file = join(keyring, "tty.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    expect(new AccountKey(await decryptKeystore(json, "s\u00e9same tty", file)).bech32).toBe(json.address);
  }, 60_000);
});

describe("pouw keys change-password", () => {
  const newFile = join(dir, "new-password");
  writeFileSync(newFile, "a new and longer password\n", { mode: 0o600 });
  const keystoreOf = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { address: string; description: string; crypto: unknown };

  it("re-encrypts a keyring key: the new password opens it, the old one no longer does; same key, same name, nothing left beside it", async () => {
    expect((await pouw("keys", "new", "--name", "rotate", "--password-file", passwordFile)).code).toBe(0);
    const file = join(keyring, "rotate.json");
    const before = keystoreOf(file);
    const r = await pouw("keys", "change-password", "rotate", "--password-file", passwordFile, "--new-password-file", newFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`changed the password of ${file} (${before.address})`);
    const after = keystoreOf(file);
    expect(after).toMatchObject({ address: before.address, description: "rotate" });
    expect(new AccountKey(await decryptKeystore(after, "a new and longer password", file)).bech32).toBe(before.address);
    await expect(decryptKeystore(after, "correct horse battery staple", file)).rejects.toMatchObject({ code: "KEYSTORE_BAD_PASSWORD" });
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(existsSync(`${file}.new`)).toBe(false);
  });

  it("a wrong current password is exit 84 and leaves the file as it was", async () => {
    const file = join(keyring, "rotate.json");
    const bytes = readFileSync(file);
    const r = await pouw("keys", "change-password", "rotate", "--password-file", wrongFile, "--new-password-file", passwordFile);
    expect(r.code).toBe(EXIT.KEY_BAD_PASSWORD);
    expect(oneLine(r.stderr)).toMatch(/wrong password for keystore \S+rotate\.json/);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it("encrypts a plaintext key file in place, and a node's anchor key by its path", async () => {
    expect((await pouw("keys", "new", "--name", "old-plain", "--insecure-plaintext")).code).toBe(0);
    const file = join(keyring, "old-plain.json");
    const address = (JSON.parse(readFileSync(file, "utf8")) as { address: string }).address;
    const r = await pouw("keys", "change-password", "old-plain", "--new-password-file", newFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`encrypted (it was plaintext) ${file} (${address})`);
    expect(readFileSync(file, "utf8")).not.toMatch(/"seed"/);
    expect(new AccountKey(await decryptKeystore(keystoreOf(file), "a new and longer password", file)).bech32).toBe(address);

    const h2 = join(dir, "home-rotate");
    const anchorIn = join(dir, "anchor-in.json");
    writeFileSync(anchorIn, JSON.stringify({ privateKey: `0x${"42".repeat(32)}` }), { mode: 0o600 });
    const init = await pouw("init", "--home", h2, "--dev-validator", "1", "--anchor-key", anchorIn, "--password-file", passwordFile);
    expect(init.code, init.stderr).toBe(0);
    const anchorFile = join(h2, "keys", "anchor.json");
    const anchorAddress = keystoreOf(anchorFile).address;
    const a = await pouw("keys", "change-password", anchorFile, "--password-file", passwordFile, "--new-password-file", newFile, "--json");
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ file: anchorFile, address: anchorAddress, kind: "pouw-anchor-secp256k1", wasEncrypted: true });
    expect(toHex(await decryptKeystore(keystoreOf(anchorFile), "a new and longer password", anchorFile))).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("without a new password and no terminal it is refused naming --new-password-file, before reading the key", async () => {
    const r = await pouw("keys", "change-password", "rotate", "--password-file", passwordFile);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe("error: pouw keys change-password needs the new password: give --new-password-file <file> (or run it on a terminal to be asked)");
    expect((await pouw("keys", "change-password", "dev:0", "--new-password-file", newFile)).stderr).toMatch(/dev:0 is a devnet key with a published seed/);
  });
});
