/**
 * ML-DSA-44 (FIPS 204, pure mode, empty context) behind one interface with two
 * back ends: Node's native implementation (Node >= 24.7) and
 * `@noble/post-quantum`. Both produce and accept identical bytes
 * (test/unit/crypto/mldsa-interop.test.ts proves it both ways).
 */
import * as nodeCrypto from "node:crypto";
import { ml_dsa44 } from "@noble/post-quantum/ml-dsa.js";

export const MLDSA44_PUBLIC_KEY_BYTES = 1312;
export const MLDSA44_SIGNATURE_BYTES = 2420;
export const MLDSA44_SEED_BYTES = 32;

export interface MlDsaBackend {
  readonly name: "native" | "noble";
  publicKeyFromSeed(seed: Uint8Array): Uint8Array;
  /** Hedged (randomized) signature unless `deterministic` is set (noble only; native is always hedged). */
  sign(seed: Uint8Array, message: Uint8Array, opts?: { deterministic?: boolean }): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

// PKCS#8 and SPKI wrappers for runtimes whose KeyObject lacks the raw formats.
const PKCS8_SEED_PREFIX = Buffer.from("3034020100300b060960864801650304031104228020", "hex");
const SPKI_PREFIX_LEN = 22;

export function hasNativeMlDsa(): boolean {
  try {
    nodeCrypto.generateKeyPairSync("ml-dsa-44" as never);
    return true;
  } catch {
    return false;
  }
}

function nativePrivateKey(seed: Uint8Array): nodeCrypto.KeyObject {
  return nodeCrypto.createPrivateKey({
    key: Buffer.concat([PKCS8_SEED_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
}

function checkLengths(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return publicKey.length === MLDSA44_PUBLIC_KEY_BYTES && signature.length === MLDSA44_SIGNATURE_BYTES;
}

/** Native back end. Public KeyObjects and private keys are cached: building one costs about a third of a verification. */
export class NativeMlDsa implements MlDsaBackend {
  readonly name = "native" as const;
  private readonly pubCache = new Map<string, nodeCrypto.KeyObject>();
  private readonly privCache = new Map<string, nodeCrypto.KeyObject>();
  private spkiPrefix: Buffer | null = null;

  private readonly cacheSize: number;

  constructor(cacheSize = 50_000) {
    this.cacheSize = cacheSize;
  }

  private privateKey(seed: Uint8Array): nodeCrypto.KeyObject {
    const k = Buffer.from(seed).toString("hex");
    let key = this.privCache.get(k);
    if (!key) {
      key = nativePrivateKey(seed);
      if (this.privCache.size >= 1024) this.privCache.clear();
      this.privCache.set(k, key);
    }
    return key;
  }

  private publicKeyObject(publicKey: Uint8Array): nodeCrypto.KeyObject {
    const k = Buffer.from(publicKey).toString("base64");
    let key = this.pubCache.get(k);
    if (!key) {
      if (!this.spkiPrefix) {
        const spki = nodeCrypto.createPublicKey(nativePrivateKey(new Uint8Array(32))).export({ format: "der", type: "spki" });
        this.spkiPrefix = spki.subarray(0, SPKI_PREFIX_LEN);
      }
      key = nodeCrypto.createPublicKey({ key: Buffer.concat([this.spkiPrefix, publicKey]), format: "der", type: "spki" });
      if (this.pubCache.size >= this.cacheSize) this.pubCache.delete(this.pubCache.keys().next().value as string);
      this.pubCache.set(k, key);
    }
    return key;
  }

  publicKeyFromSeed(seed: Uint8Array): Uint8Array {
    const spki = nodeCrypto.createPublicKey(this.privateKey(seed)).export({ format: "der", type: "spki" });
    return new Uint8Array(spki.subarray(SPKI_PREFIX_LEN));
  }

  sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeCrypto.sign(null, message, this.privateKey(seed)));
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!checkLengths(publicKey, signature)) return false;
    try {
      return nodeCrypto.verify(null, message, this.publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  }
}

export class NobleMlDsa implements MlDsaBackend {
  readonly name = "noble" as const;
  private readonly secretCache = new Map<string, Uint8Array>();

  private secretKey(seed: Uint8Array): Uint8Array {
    const k = Buffer.from(seed).toString("hex");
    let sk = this.secretCache.get(k);
    if (!sk) {
      sk = ml_dsa44.keygen(seed).secretKey;
      if (this.secretCache.size >= 1024) this.secretCache.clear();
      this.secretCache.set(k, sk);
    }
    return sk;
  }

  publicKeyFromSeed(seed: Uint8Array): Uint8Array {
    return ml_dsa44.keygen(seed).publicKey;
  }

  sign(seed: Uint8Array, message: Uint8Array, opts: { deterministic?: boolean } = {}): Uint8Array {
    return ml_dsa44.sign(message, this.secretKey(seed), opts.deterministic ? { extraEntropy: false } : {});
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!checkLengths(publicKey, signature)) return false;
    try {
      return ml_dsa44.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  }
}

let defaultBackend: MlDsaBackend | null = null;

/** The fastest back end this runtime has; `POUW_MLDSA=noble` forces noble. */
export function mlDsa(): MlDsaBackend {
  if (!defaultBackend) {
    defaultBackend = process.env.POUW_MLDSA !== "noble" && hasNativeMlDsa() ? new NativeMlDsa() : new NobleMlDsa();
  }
  return defaultBackend;
}
