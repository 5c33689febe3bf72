/**
 * Signature-verification worker thread. Receives batches and answers them:
 *   - "sig": (public key, message, signature) triples; one byte per item (1 = valid).
 *   - "tx": encoded signed transactions; per item, 65 bytes: the verdict
 *     (1 valid, 0 invalid, 2 does not decode), the transaction's hash and its
 *     Transaction root. The roots (most of what decoding costs) are computed
 *     here, off the event loop, with the signature check they feed.
 * The back end keeps its KeyObject cache across batches, so a sender's
 * public key is parsed once per worker.
 */
import { parentPort } from "node:worker_threads";
import { digestTxs, verifySigs } from "./digest.ts";

/**
 * A batch packed into one transferred buffer (cloning thousands of small
 * arrays costs more than the copy).
 *   - "sig": item i's public key is data[offsets[5i]..offsets[5i+1]] (items
 *     may share one), its message data[offsets[5i+2]..offsets[5i+3]] and its
 *     signature data[offsets[5i+3]..offsets[5i+4]].
 *   - "tx": item i is data[offsets[i]..offsets[i+1]].
 */
export interface VerifyRequest {
  id: number;
  kind: "sig" | "tx";
  data: Uint8Array;
  offsets: Uint32Array;
}

export interface VerifyResponse {
  id: number;
  ok: Uint8Array;
}

parentPort!.on("message", (req: VerifyRequest) => {
  const ok = req.kind === "tx" ? digestTxs(req.data, req.offsets) : verifySigs(req.data, req.offsets);
  parentPort!.postMessage({ id: req.id, ok } satisfies VerifyResponse, [ok.buffer as ArrayBuffer]);
});
