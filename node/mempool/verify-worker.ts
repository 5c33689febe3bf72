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
 * arrays costs more than the copy): item i's public key is
 * data[offsets[5i]..offsets[5i+1]] (items may share one), its message
 * data[offsets[5i+2]..offsets[5i+3]] and its signature
 * data[offsets[5i+3]..offsets[5i+4]].
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
  const ok = new Uint8Array(offsets.length / 5);
  for (let i = 0; i < ok.length; i++) {
    const o = 5 * i;
    const part = (a: number, b: number) => data.subarray(offsets[o + a]!, offsets[o + b]!);
    ok[i] = backend.verify(part(0, 1), part(2, 3), part(3, 4)) ? 1 : 0;
  }
  parentPort!.postMessage({ id: req.id, ok } satisfies VerifyResponse, [ok.buffer]);
});
