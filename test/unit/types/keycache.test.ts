import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressFromPublicKey } from "../../../node/crypto/address.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { keyInfo, transactionRoot } from "../../../node/types/keycache.ts";
import { PublicKey } from "../../../node/types/primitives.ts";
import { SignedTransaction, Transaction, TxSelector, type TransactionT } from "../../../node/types/transaction.ts";
import { decodeTransaction } from "../../../node/types/txcodec.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("public-key cache", () => {
  it("transactionRoot with the cached key root equals Transaction.hashTreeRoot", () => {
    const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 32 }),
        u64,
        u64,
        u64,
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        u64,
        fc.uint8Array({ minLength: 1312, maxLength: 1312 }),
        (chainId, nonce, maxFeePerGas, maxPriorityFeePerGas, gasLimit, to, amount, publicKey) => {
          const tx: TransactionT = { chainId, nonce, maxFeePerGas, maxPriorityFeePerGas, gasLimit, body: { selector: TxSelector.Transfer, value: { to, amount } }, publicKey };
          expect(hex(transactionRoot(tx, keyInfo(publicKey).root))).toBe(hex(Transaction.hashTreeRoot(tx)));
        },
      ),
      { seed: 7, numRuns: 100 },
    );
  });

  it("never confuses two keys that share their first 32 bytes", () => {
    const a = AccountKey.fromLabel("keycache/a").publicKey;
    const b = a.slice();
    b[1000] ^= 1; // same prefix, different key
    for (const k of [a, b, a, b]) {
      const info = keyInfo(k);
      expect(hex(info.root)).toBe(hex(PublicKey.hashTreeRoot(k)));
      expect(hex(info.address)).toBe(hex(addressFromPublicKey(k)));
    }
  });

  it("decoded envelopes get the sender and hash of the uncached computation", () => {
    const key = AccountKey.fromLabel("keycache/sender");
    for (let n = 0; n < 3; n++) {
      const { bytes } = signedTransfer(key, { nonce: BigInt(n), to: key.address, amount: 1n });
      const dec = decodeTransaction(bytes);
      expect(hex(dec.sender)).toBe(hex(addressFromPublicKey(key.publicKey)));
      expect(dec.hashHex).toBe("0x" + hex(SignedTransaction.hashTreeRoot(SignedTransaction.deserialize(bytes))));
    }
  });
});
