/**
 * A pool of worker threads verifying ML-DSA signatures off the main thread.
 * A batch is split evenly across the workers; with `threads: 0` everything
 * runs on the caller's thread (tests, tiny nodes). A worker that dies is
 * replaced and its unanswered items are verified again.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { mlDsa } from "../crypto/mldsa.ts";
import { MempoolError, MempoolErrorCode } from "./errors.ts";
import { digestTxs, TX_DIGEST_BYTES, TX_UNDECODABLE } from "./digest.ts";
import type { VerifyRequest, VerifyResponse } from "./verify-worker.ts";

export interface VerifyItem {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

/** What the pool computes for one encoded transaction: its hash, its Transaction root and whether its signature verifies. */
export interface TxDigest {
  /** True: the signature verifies. False: it does not. Null: the bytes do not decode (the caller decoded them, so a bug). */
  ok: boolean | null;
  hash: Uint8Array;
  txRoot: Uint8Array;
}

export interface SignatureVerifierOptions {
  /** Worker threads; defaults to the number of cores, at most 4. */
  threads?: number;
  /** Start the threads on the first batch rather than now (a verifier that may never be used costs nothing). */
  lazy?: boolean;
}

interface Pending {
  /** Rebuilds the request (its buffer is transferred to the worker, so a respawn needs a fresh one). */
  make: () => VerifyRequest;
  resolve: (ok: Uint8Array) => void;
  reject: (e: Error) => void;
}

const WORKER_URL = new URL("./verify-worker.ts", import.meta.url);

class VerifyThread {
  private worker: Worker;
  readonly inFlight = new Map<number, Pending>();
  private closing = false;

  constructor() {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const w = new Worker(WORKER_URL);
    w.on("message", (res: VerifyResponse) => {
      const p = this.inFlight.get(res.id);
      if (!p) return;
      this.inFlight.delete(res.id);
      p.resolve(res.ok);
    });
    w.on("error", () => {
      // 'exit' follows and handles the respawn.
    });
    w.on("exit", () => {
      if (this.closing) {
        for (const p of this.inFlight.values()) p.reject(new MempoolError(MempoolErrorCode.VERIFIER_CLOSED, "signature verifier closed"));
        this.inFlight.clear();
        return;
      }
      this.worker = this.spawn();
      for (const p of this.inFlight.values()) this.post(p.make());
    });
    return w;
  }

  run(make: () => VerifyRequest): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const req = make();
      this.inFlight.set(req.id, { make, resolve, reject });
      this.post(req);
    });
  }

  private post(req: VerifyRequest): void {
    this.worker.postMessage(req, [req.data.buffer as ArrayBuffer, req.offsets.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

export class SignatureVerifier {
  readonly threads: number;
  private readonly pool: VerifyThread[] = [];
  private nextId = 1;
  private next = 0;
  private closed = false;
  private started = false;

  constructor(opts: SignatureVerifierOptions = {}) {
    this.threads = opts.threads ?? Math.min(4, Math.max(1, availableParallelism()));
    if (!opts.lazy) this.start();
  }

  /** Whether the worker threads exist (a lazy verifier starts them on its first batch). */
  get running(): boolean {
    return this.started && !this.closed;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.threads; i++) this.pool.push(new VerifyThread());
  }

  /** One boolean per item, in order. */
  async verifyBatch(items: readonly VerifyItem[]): Promise<boolean[]> {
    if (this.closed) throw new MempoolError(MempoolErrorCode.VERIFIER_CLOSED, "signature verifier closed");
    this.start();
    if (this.pool.length === 0) {
      const backend = mlDsa();
      return items.map((it) => backend.verify(it.publicKey, it.message, it.signature));
    }
    if (items.length === 0) {
      // Still a round trip to every worker: callers use this to warm the pool up.
      await Promise.all(this.pool.map((t) => t.run(this.requestFor([]))));
      return [];
    }
    const out: boolean[] = [];
    for (const ok of await this.spread(items, (slice) => this.requestFor(slice))) for (const b of ok) out.push(b === 1);
    return out;
  }

  /**
   * For each encoded signed transaction, in order: its hash and Transaction
   * root, computed with its signature check in the workers (the roots are
   * most of what decoding costs, so the event loop is spared them).
   */
  async digestAndVerify(txs: readonly Uint8Array[]): Promise<TxDigest[]> {
    if (this.closed) throw new MempoolError(MempoolErrorCode.VERIFIER_CLOSED, "signature verifier closed");
    if (txs.length === 0) return [];
    this.start();
    let answers: Uint8Array[];
    if (this.pool.length === 0) {
      const req = txRequest(0, txs);
      answers = [digestTxs(req.data, req.offsets)];
    } else {
      answers = await this.spread(txs, (slice) => {
        const id = this.nextId++;
        return () => txRequest(id, slice);
      });
    }
    const out: TxDigest[] = [];
    for (const a of answers) {
      for (let at = 0; at < a.length; at += TX_DIGEST_BYTES) {
        const v = a[at]!;
        out.push({ ok: v === TX_UNDECODABLE ? null : v === 1, hash: a.slice(at + 1, at + 33), txRoot: a.slice(at + 33, at + 65) });
      }
    }
    return out;
  }

  /** Small batches go to one worker round-robin; large ones are split across all. The answers come back in order. */
  private spread<T>(items: readonly T[], request: (slice: readonly T[]) => () => VerifyRequest): Promise<Uint8Array[]> {
    const parts = items.length < 16 ? 1 : this.pool.length;
    const size = Math.ceil(items.length / parts);
    const jobs: Promise<Uint8Array>[] = [];
    for (let i = 0; i < items.length; i += size) jobs.push(this.pool[this.next++ % this.pool.length]!.run(request(items.slice(i, i + size))));
    return Promise.all(jobs);
  }

  /** A request factory with a fixed id: the same id if it has to be rebuilt for a respawned worker. */
  private requestFor(items: readonly VerifyItem[]): () => VerifyRequest {
    const id = this.nextId++;
    return () => this.request(id, items);
  }

  private request(id: number, items: readonly VerifyItem[]): VerifyRequest {
    // A public key object that recurs (a validator's key in every commit) is packed once.
    const keyAt = new Map<Uint8Array, number>();
    let total = 0;
    for (const it of items) {
      if (!keyAt.has(it.publicKey)) {
        keyAt.set(it.publicKey, -1);
        total += it.publicKey.length;
      }
      total += it.message.length + it.signature.length;
    }
    const data = new Uint8Array(total);
    const offsets = new Uint32Array(5 * items.length);
    let at = 0;
    let k = 0;
    for (const it of items) {
      let pk = keyAt.get(it.publicKey)!;
      if (pk < 0) {
        pk = at;
        keyAt.set(it.publicKey, pk);
        data.set(it.publicKey, at);
        at += it.publicKey.length;
      }
      offsets[k++] = pk;
      offsets[k++] = pk + it.publicKey.length;
      offsets[k++] = at;
      data.set(it.message, at);
      at += it.message.length;
      offsets[k++] = at;
      data.set(it.signature, at);
      at += it.signature.length;
      offsets[k++] = at;
    }
    return { id, kind: "sig", data, offsets };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.pool.map((t) => t.close()));
  }
}

/** Encoded transactions packed one after another; item i is data[offsets[i]..offsets[i+1]]. */
function txRequest(id: number, txs: readonly Uint8Array[]): VerifyRequest {
  const offsets = new Uint32Array(txs.length + 1);
  let total = 0;
  txs.forEach((t, i) => {
    offsets[i] = total;
    total += t.length;
  });
  offsets[txs.length] = total;
  const data = new Uint8Array(total);
  txs.forEach((t, i) => data.set(t, offsets[i]!));
  return { id, kind: "tx", data, offsets };
}
