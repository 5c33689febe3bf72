/**
 * Signature-verification worker thread. Receives batches of
 * (public key, message, signature) and answers one byte per item (1 = valid).
 * The back end keeps its KeyObject cache across batches, so a sender's
 * public key is parsed once per worker.
 */
import { parentPort } from "node:worker_threads";
import { mlDsa } from "../crypto/mldsa.ts";

/**
 * A batch packed into one transferred buffer (cloning thousands of small
 * arrays costs more than the copy): item i's public key, message and
 * signature are data[offsets[3i]..offsets[3i+1]], [3i+1..3i+2], [3i+2..3i+3].
 */
export interface VerifyRequest {
  id: number;
  data: Uint8Array;
  offsets: Uint32Array;
}

export interface VerifyResponse {
  id: number;
  ok: Uint8Array;
}

const backend = mlDsa();
parentPort!.on("message", (req: VerifyRequest) => {
  const { data, offsets } = req;
  const ok = new Uint8Array((offsets.length - 1) / 3);
  for (let i = 0; i < ok.length; i++) {
    const o = 3 * i;
    const part = (k: number) => data.subarray(offsets[o + k]!, offsets[o + k + 1]!);
    ok[i] = backend.verify(part(0), part(1), part(2)) ? 1 : 0;
  }
  parentPort!.postMessage({ id: req.id, ok } satisfies VerifyResponse, [ok.buffer]);
});
