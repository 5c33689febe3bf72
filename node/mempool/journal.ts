/**
 * The mempool journal: every transaction the mempool admitted, appended to a
 * file before the admission is acknowledged, so accepted transactions survive
 * a crash or restart (geth's transactions.rlp journal). Plain writes, no
 * fsync: a killed process keeps them (the page cache is the kernel's); a
 * power loss may lose the newest. On start the node re-admits what the
 * journal holds (those included or made stale meanwhile fail admission and
 * are dropped) and rewrites it with what it kept. It is rewritten the same
 * way when it has grown well past what the pool holds.
 *
 * Frames: [length u32 LE][transaction bytes]; reading stops at a torn tail.
 *
 * Appends are written by libuv's thread pool, not the event loop (a batch of
 * 500 transactions is ~2 MB), one after another in call order; a rewrite
 * waits its turn in the same queue, so no append lands on a file that was
 * replaced.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, write, writeSync, writev } from "node:fs";
import { asStorageFault } from "../util/storage-fault.ts";

const MAX_FRAME = 1024 * 1024;

export class MempoolJournal {
  readonly path: string;
  private fd: number;
  private size: number;
  /** The writes in progress, in order: each one starts after the one before. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.fd = fd;
    this.size = size;
  }

  /** Opens (creating) the journal and returns it with the transactions it holds, oldest first. */
  static open(path: string): { journal: MempoolJournal; txs: Uint8Array[] } {
    const txs = existsSync(path) ? readFrames(readFileSync(path)) : [];
    let fd: number;
    try {
      fd = openSync(path, "a");
    } catch (e) {
      throw asStorageFault(e, "mempool journal", path);
    }
    const size = txs.reduce((n, t) => n + 4 + t.length, 0);
    return { journal: new MempoolJournal(path, fd, size), txs };
  }

  /** Bytes in the file (what `rewrite` would shrink). */
  get bytes(): number {
    return this.size;
  }

  /** Appends transactions (their encoded bytes); on disk in the page cache when it resolves. */
  append(txs: readonly Uint8Array[]): Promise<void> {
    if (txs.length === 0) return Promise.resolve();
    // Length prefixes in one small buffer, written with the transactions' own bytes (no copy of them).
    const heads = new Uint8Array(4 * txs.length);
    const dv = new DataView(heads.buffer);
    const parts: Uint8Array[] = [];
    let total = 0;
    txs.forEach((t, i) => {
      dv.setUint32(4 * i, t.length, true);
      parts.push(heads.subarray(4 * i, 4 * i + 4), t);
      total += 4 + t.length;
    });
    this.size += total;
    const fail = (e: unknown) => asStorageFault(e, "mempool journal", this.path);
    return this.enqueue(async () => {
      let at = await new Promise<number>((resolve, reject) => writev(this.fd, parts as NodeJS.ArrayBufferView[], null, (e, n) => (e ? reject(fail(e)) : resolve(n))));
      // A short write (a full disk): the rest, so the OS says why it cannot.
      while (at < total) {
        const rest = frame(txs).subarray(at);
        const n = await new Promise<number>((resolve, reject) => write(this.fd, rest, 0, rest.length, null, (e, k) => (e ? reject(fail(e)) : resolve(k))));
        if (n === 0) throw fail(new Error(`short write: ${at} of ${total} bytes`));
        at += n;
      }
    });
  }

  /** Replaces the journal with exactly `txs` (written to a temporary file, synced, renamed over it) once earlier appends are written. */
  rewrite(txs: readonly Uint8Array[]): Promise<void> {
    return this.enqueue(async () => this.rewriteNow(txs));
  }

  /** Runs `op` after every write queued before it; a failure is the caller's and does not stop later writes. */
  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private rewriteNow(txs: readonly Uint8Array[]): void {
    const tmp = `${this.path}.tmp`;
    try {
      const buf = frame(txs);
      const fd = openSync(tmp, "w");
      try {
        let at = 0;
        while (at < buf.length) at += writeSync(fd, buf, at, buf.length - at);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      closeSync(this.fd);
      this.fd = openSync(this.path, "a");
      this.size = buf.length;
    } catch (e) {
      throw asStorageFault(e, "mempool journal", this.path);
    }
  }

  /** Closes the file once the queued writes are done. */
  async close(): Promise<void> {
    await this.queue;
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

function frame(txs: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const t of txs) n += 4 + t.length;
  const buf = new Uint8Array(n);
  const dv = new DataView(buf.buffer);
  let at = 0;
  for (const t of txs) {
    dv.setUint32(at, t.length, true);
    buf.set(t, at + 4);
    at += 4 + t.length;
  }
  return buf;
}

function readFrames(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = dv.getUint32(at, true);
    if (len === 0 || len > MAX_FRAME || at + 4 + len > buf.length) break; // torn tail
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}
