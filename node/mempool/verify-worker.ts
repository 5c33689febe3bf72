/**
 * Signature-verification worker thread. Receives batches of
 * (public key, message, signature) and answers one byte per item (1 = valid).
 * The back end keeps its KeyObject cache across batches, so a sender's
 * public key is parsed once per worker.
 */
import { parentPort } from "node:worker_threads";
import { mlDsa } from "../crypto/mldsa.ts";

export interface VerifyRequest {
  id: number;
  publicKeys: Uint8Array[];
  messages: Uint8Array[];
  signatures: Uint8Array[];
}

export interface VerifyResponse {
  id: number;
  ok: Uint8Array;
}

const backend = mlDsa();
parentPort!.on("message", (req: VerifyRequest) => {
  const ok = new Uint8Array(req.publicKeys.length);
  for (let i = 0; i < ok.length; i++) ok[i] = backend.verify(req.publicKeys[i]!, req.messages[i]!, req.signatures[i]!) ? 1 : 0;
  parentPort!.postMessage({ id: req.id, ok } satisfies VerifyResponse, [ok.buffer]);
});
