/**
 * What the signature workers compute for a batch (and the caller's thread
 * when the pool has no threads): signature checks of (key, message,
 * signature) triples, and for encoded transactions their roots, hash and
 * signature check together.
 */
import { mlDsa } from "../crypto/mldsa.ts";
import { SignedTransaction } from "../types/transaction.ts";
import { txDigests, txSigningMessage } from "../types/txcodec.ts";

/** Bytes per item of a "tx" answer: verdict, hash, Transaction root. */
export const TX_DIGEST_BYTES = 1 + 32 + 32;
export const TX_UNDECODABLE = 2;

const backend = mlDsa();

export function verifySigs(data: Uint8Array, offsets: Uint32Array): Uint8Array {
  const ok = new Uint8Array(offsets.length / 5);
  for (let i = 0; i < ok.length; i++) {
    const o = 5 * i;
    const part = (a: number, b: number) => data.subarray(offsets[o + a]!, offsets[o + b]!);
    ok[i] = backend.verify(part(0, 1), part(2, 3), part(3, 4)) ? 1 : 0;
  }
  return ok;
}

export function digestTxs(data: Uint8Array, offsets: Uint32Array): Uint8Array {
  const n = offsets.length - 1;
  const out = new Uint8Array(n * TX_DIGEST_BYTES);
  for (let i = 0; i < n; i++) {
    const at = i * TX_DIGEST_BYTES;
    try {
      const signed = SignedTransaction.deserialize(data.subarray(offsets[i]!, offsets[i + 1]!), { reuseBytes: true });
      const { hash, txRoot } = txDigests(signed);
      out[at] = backend.verify(signed.tx.publicKey, txSigningMessage(txRoot), signed.signature) ? 1 : 0;
      out.set(hash, at + 1);
      out.set(txRoot, at + 33);
    } catch {
      out[at] = TX_UNDECODABLE;
    }
  }
  return out;
}
