import { randomBytes } from "node:crypto";
import { utf8 } from "../util/hex.ts";
import { addressFromPublicKey, encodeAddress } from "./address.ts";
import { sha256 } from "./hash.ts";
import { MLDSA44_SEED_BYTES, mlDsa, type MlDsaBackend } from "./mldsa.ts";

/** An ML-DSA-44 account or validator key: the 32-byte seed is the secret, everything else derives from it. */
export class AccountKey {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly address: Uint8Array;
  readonly backend: MlDsaBackend;

  constructor(seed: Uint8Array, backend: MlDsaBackend = mlDsa()) {
    if (seed.length !== MLDSA44_SEED_BYTES) throw new TypeError(`seed must be ${MLDSA44_SEED_BYTES} bytes`);
    this.seed = seed;
    this.backend = backend;
    this.publicKey = backend.publicKeyFromSeed(seed);
    this.address = addressFromPublicKey(this.publicKey);
  }

  static generate(backend?: MlDsaBackend): AccountKey {
    return new AccountKey(new Uint8Array(randomBytes(MLDSA44_SEED_BYTES)), backend);
  }

  /**
   * A key from a published label. INSECURE: anyone can derive it. Used for the
   * devnet's funded accounts and validator, and for tests.
   */
  static fromLabel(label: string, backend?: MlDsaBackend): AccountKey {
    return new AccountKey(sha256(utf8(label)), backend);
  }

  get bech32(): string {
    return encodeAddress(this.address);
  }

  sign(message: Uint8Array, opts?: { deterministic?: boolean }): Uint8Array {
    return this.backend.sign(this.seed, message, opts);
  }
}

/** The published label of devnet account `i` (funded in genesis/devnet.json). */
export const devAccountLabel = (i: number): string => `pouw/devnet/account/${i}`;
export const devValidatorLabel = (i: number): string => `pouw/devnet/validator/${i}`;
