/**
 * Anchor keys (DESIGN §9): the secp256k1 keys validators sign epoch
 * checkpoints with, so EVM and Sui contracts can check them with ecrecover.
 *
 * A validator's anchor key lives beside its consensus key. When the home has
 * no anchor key file, the key derives from the consensus key's seed:
 * keccak256("pouw/anchor-key/v1" ‖ seed), hashed again in the (2^-128) case
 * that the result is not a valid scalar. One backup then covers both keys,
 * and `pouw keys show` prints the anchor address a genesis or a
 * CreateValidator needs.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { privateKeyToAddress } from "viem/accounts";
import { bytesToHex, type Hex } from "viem";
import { concatBytes, utf8 } from "../util/hex.ts";

const DOMAIN = utf8("pouw/anchor-key/v1");

export class AnchorKey {
  /** 0x-prefixed 32-byte secp256k1 scalar. */
  readonly privateKey: Hex;
  /** The key's EVM address, checksummed. */
  readonly address: Hex;

  constructor(privateKey: Hex) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) throw new TypeError("an anchor key is 32 bytes of 0x-prefixed hex");
    if (!secp256k1.utils.isValidSecretKey(Buffer.from(privateKey.slice(2), "hex"))) throw new RangeError("anchor key is not a valid secp256k1 scalar");
    this.privateKey = privateKey.toLowerCase() as Hex;
    this.address = privateKeyToAddress(this.privateKey);
  }

  /** The anchor key derived from a consensus (ML-DSA) seed. */
  static fromSeed(seed: Uint8Array): AnchorKey {
    let h = keccak_256(concatBytes(DOMAIN, seed));
    while (!secp256k1.utils.isValidSecretKey(h)) h = keccak_256(h);
    return new AnchorKey(bytesToHex(h));
  }

  static generate(): AnchorKey {
    return new AnchorKey(bytesToHex(secp256k1.utils.randomSecretKey()));
  }

  /** The address as 20 bytes (state and genesis form). */
  get addressBytes(): Uint8Array {
    return Buffer.from(this.address.slice(2), "hex");
  }
}
