/**
 * The account keyring: one file per key in a directory, encrypted keystores
 * by default (key-file.ts; plaintext ones from before still read, with a
 * warning). `dev:N` and `devval:N` name the devnet's published keys, which
 * need no file.
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { ADDRESS_PREFIX, decodeAddress } from "../crypto/address.ts";
import { AnchorKey } from "../crypto/anchor-key.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../crypto/keys.ts";
import { toHex } from "../util/hex.ts";
import { defaultHome } from "./default-home.ts";
import { CliError } from "./errors.ts";
import { keyFileInfo, readKeyFile, writeKeyFile, type KeyFileInfo, type ReadOptions } from "./key-file.ts";
import type { PasswordSource } from "./password.ts";

/** $POUW_KEYRING, else `keyring/` in the default home ($POUW_HOME or ~/.pouw). */
export function defaultKeyring(): string {
  return process.env.POUW_KEYRING ?? join(defaultHome(), "keyring");
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

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
  return keyring.info(who).addressBytes;
}

/** A key's public facts (no password needed). */
export interface KeyInfo extends Omit<KeyFileInfo, "path"> {
  name: string;
  /** The file, or null for a devnet key. */
  path: string | null;
  addressBytes: Uint8Array;
}

const noPassword: PasswordSource = async () => null;

export class Keyring {
  readonly dir: string;
  private readonly read: ReadOptions;

  /** `password`: where an encrypted key's password comes from (default: none, so an encrypted key is refused naming --password-file). */
  constructor(dir = defaultKeyring(), opts: { password?: PasswordSource; warn?: ReadOptions["warn"] } = {}) {
    this.dir = dir;
    this.read = { password: opts.password ?? noPassword, ...(opts.warn ? { warn: opts.warn } : {}) };
  }

  path(name: string): string {
    if (!NAME_RE.test(name)) throw new Error(`key name "${name}" must be 1-64 of A-Z a-z 0-9 _ . -`);
    return join(this.dir, `${name}.json`);
  }

  private devKey(name: string): AccountKey | null {
    const dev = /^dev:(\d+)$/.exec(name);
    if (dev) return AccountKey.fromLabel(devAccountLabel(Number(dev[1])));
    const val = /^devval:(\d+)$/.exec(name);
    if (val) return AccountKey.fromLabel(devValidatorLabel(Number(val[1])));
    return null;
  }

  /** The file of a named key, refusing addresses (they cannot sign) and naming `pouw keys new` for a missing one. */
  fileOf(name: string): string {
    if (HEX_ADDRESS.test(name)) throw new CliError("BAD_ADDRESS", `${name} is an EVM/hex address, not a pouw address (pouw1…) or a key name`);
    if (POUW_ADDRESS.test(name)) throw new CliError("BAD_ADDRESS", `${name} is an address, not a key: signing needs a key name from the keyring (pouw keys list) or dev:N`);
    const p = this.path(name);
    if (!existsSync(p)) throw new Error(`no key "${name}" in ${this.dir} (create one with \`pouw keys new --name ${name}\`)`);
    return p;
  }

  /** A named key, or `dev:N` / `devval:N` for the devnet's published keys, decrypted if it is encrypted. An address is refused: it cannot sign. */
  async get(name: string): Promise<AccountKey> {
    return this.devKey(name) ?? readKeyFile(this.fileOf(name), this.read);
  }

  /** A key's address and public key, without its password. */
  info(name: string): KeyInfo {
    const dev = this.devKey(name);
    if (dev) {
      return { name, path: null, encrypted: false, address: dev.bech32, addressBytes: dev.address, publicKey: toHex(dev.publicKey), anchorAddress: AnchorKey.fromSeed(dev.seed).address, insecure: "devnet key, published seed" };
    }
    const i = keyFileInfo(this.fileOf(name));
    return { ...i, name, addressBytes: decodeAddress(i.address) };
  }

  /** Refuses a name that looks like an address or is taken, before a password is asked for. */
  checkNew(name: string): string {
    if (HEX_ADDRESS.test(name) || POUW_ADDRESS.test(name)) throw new CliError("BAD_FLAG", `key name "${name}" looks like an address; choose another name`);
    const p = this.path(name);
    if (existsSync(p)) throw new Error(`${p} already exists; refusing to overwrite a key`);
    return p;
  }

  /** Writes a key: encrypted under `password`, or plaintext when it is null (--insecure-plaintext). */
  async add(name: string, key: AccountKey, opts: { password: string | null }): Promise<string> {
    const p = this.checkNew(name);
    await writeKeyFile(p, name, key, { password: opts.password });
    return p;
  }

  list(): { name: string; address: string; encrypted: boolean }[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => {
        const i = keyFileInfo(join(this.dir, f));
        return { name: basename(f, ".json"), address: i.address, encrypted: i.encrypted };
      });
  }
}
