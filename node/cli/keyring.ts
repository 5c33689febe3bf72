/**
 * Key files: one JSON file per key, mode 0600, holding the 32-byte ML-DSA
 * seed in hex (unencrypted: protect the directory). `dev:N` names the
 * devnet's published account keys, which need no file.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ADDRESS_PREFIX, decodeAddress } from "../crypto/address.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../crypto/keys.ts";
import { fromHex, isHex, toHex } from "../util/hex.ts";
import { defaultHome } from "./default-home.ts";
import { CliError } from "./errors.ts";

export interface KeyFile {
  name: string;
  address: string;
  publicKey: string;
  seed: string;
}

/** $POUW_KEYRING, else `keyring/` in the default home ($POUW_HOME or ~/.pouw). */
export function defaultKeyring(): string {
  return process.env.POUW_KEYRING ?? join(defaultHome(), "keyring");
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function writeKeyFile(path: string, name: string, key: AccountKey, opts: { overwrite?: boolean } = {}): void {
  if (existsSync(path) && !opts.overwrite) throw new Error(`${path} already exists; refusing to overwrite a key`);
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  const file: KeyFile = { name, address: key.bech32, publicKey: toHex(key.publicKey), seed: toHex(key.seed) };
  writeFileSync(path, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function readKeyFile(path: string): AccountKey {
  let file: KeyFile;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as KeyFile;
  } catch (e) {
    throw new Error(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (!isHex(file.seed) || fromHex(file.seed).length !== 32) throw new Error(`${path}: seed must be 32 bytes of hex`);
  const key = new AccountKey(fromHex(file.seed));
  if (file.address && file.address !== key.bech32) throw new Error(`${path}: address ${file.address} does not match the seed (${key.bech32})`);
  return key;
}

const HEX_ADDRESS = /^0x[0-9a-f]*$/i;
const POUW_ADDRESS = new RegExp(`^${ADDRESS_PREFIX}1`, "i");

/**
 * What a user gives where an address is expected: a `pouw1…` address (all
 * lower or all upper case), a key name or dev:N. A hex `0x…` address, or a
 * `pouw1…` one that does not decode, is refused naming `flag` and why.
 */
export function resolveAddress(keyring: Keyring, who: string, flag = ""): Uint8Array {
  const what = flag ? `${flag} ${who}` : who;
  if (HEX_ADDRESS.test(who)) throw new CliError("BAD_ADDRESS", `${what} is an EVM/hex address, not a pouw address (pouw1…)`);
  if (POUW_ADDRESS.test(who)) {
    try {
      return decodeAddress(who);
    } catch (e) {
      throw new CliError("BAD_ADDRESS", `${what} is not a valid pouw address (${(e as Error).message})`);
    }
  }
  return keyring.get(who).address;
}

export class Keyring {
  readonly dir: string;

  constructor(dir = defaultKeyring()) {
    this.dir = dir;
  }

  path(name: string): string {
    if (!NAME_RE.test(name)) throw new Error(`key name "${name}" must be 1-64 of A-Z a-z 0-9 _ . -`);
    return join(this.dir, `${name}.json`);
  }

  /** A named key, or `dev:N` / `devval:N` for the devnet's published keys. An address is refused: it cannot sign. */
  get(name: string): AccountKey {
    const dev = /^dev:(\d+)$/.exec(name);
    if (dev) return AccountKey.fromLabel(devAccountLabel(Number(dev[1])));
    const val = /^devval:(\d+)$/.exec(name);
    if (val) return AccountKey.fromLabel(devValidatorLabel(Number(val[1])));
    if (HEX_ADDRESS.test(name)) throw new CliError("BAD_ADDRESS", `${name} is an EVM/hex address, not a pouw address (pouw1…) or a key name`);
    if (POUW_ADDRESS.test(name)) throw new CliError("BAD_ADDRESS", `${name} is an address, not a key: signing needs a key name from the keyring (pouw keys list) or dev:N`);
    const p = this.path(name);
    if (!existsSync(p)) throw new Error(`no key "${name}" in ${this.dir} (create one with \`pouw keys new --name ${name}\`)`);
    return readKeyFile(p);
  }

  add(name: string, key: AccountKey): string {
    if (HEX_ADDRESS.test(name) || POUW_ADDRESS.test(name)) throw new CliError("BAD_FLAG", `key name "${name}" looks like an address; choose another name`);
    const p = this.path(name);
    writeKeyFile(p, name, key);
    return p;
  }

  list(): { name: string; address: string }[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => {
        const k = JSON.parse(readFileSync(join(this.dir, f), "utf8")) as KeyFile;
        return { name: k.name, address: k.address };
      });
  }
}
