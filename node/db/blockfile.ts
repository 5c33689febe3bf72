/**
 * Append-only block files, as Bitcoin's blk*.dat and Ethereum's freezer keep
 * bodies out of the key-value store: a block is written once, so LevelDB
 * never copies it through its log, memtable and compactions (measured: storing
 * 30 MB blocks in LevelDB cost a fifth of end-to-end throughput).
 *
 * The database holds each block's location. A commit appends and fdatasyncs
 * the block first, then writes the location in the block's atomic batch; a
 * crash in between leaves bytes past the last recorded location, which
 * `recover` truncates on the next start. So does a write the disk refused
 * halfway (full, I/O error): such a failure is thrown as a StorageFault and
 * the node stops; what it left past the head is cut on the next start.
 */
import { constants as fsc, mkdirSync, readdirSync, rmSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { ContainerType, UintNumberType } from "@chainsafe/ssz";
import { asStorageFault, StorageFault } from "../util/storage-fault.ts";

export const BlockLocation = new ContainerType({
  file: new UintNumberType(4),
  offset: new UintNumberType(8, { clipInfinity: true }),
  length: new UintNumberType(4),
});
export interface BlockLocationT {
  file: number;
  offset: number;
  length: number;
}

const FILE_RE = /^blk(\d{5})\.dat$/;
const fileName = (n: number) => `blk${String(n).padStart(5, "0")}.dat`;

export class BlockFiles {
  readonly dir: string;
  private readonly maxFileBytes: number;
  private current: { n: number; fh: FileHandle; size: number } | null = null;
  /** One read handle per file, as a promise: concurrent first reads of a file share one open (two opens leaked one handle). */
  private readonly readers = new Map<number, Promise<FileHandle>>();
  private dirty = false;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(dir: string, opts: { maxFileBytes?: number } = {}) {
    this.dir = dir;
    this.maxFileBytes = opts.maxFileBytes ?? 1 << 30;
    mkdirSync(dir, { recursive: true });
  }

  /** Cuts everything after `last` (the last committed block's location; null when none is committed). */
  async recover(last: BlockLocationT | null): Promise<void> {
    try {
      await this.recoverFiles(last);
    } catch (e) {
      throw asStorageFault(e, "block file", join(this.dir, fileName(last?.file ?? 0)));
    }
  }

  private async recoverFiles(last: BlockLocationT | null): Promise<void> {
    const keepFile = last?.file ?? 0;
    const keepBytes = last ? last.offset + last.length : 0;
    for (const name of readdirSync(this.dir)) {
      const m = FILE_RE.exec(name);
      if (m && Number(m[1]) > keepFile) rmSync(join(this.dir, name));
    }
    const fh = await open(join(this.dir, fileName(keepFile)), fsc.O_RDWR | fsc.O_CREAT);
    const { size } = await fh.stat();
    if (size < keepBytes) {
      await fh.close();
      throw new Error(`block file ${fileName(keepFile)} is ${size} bytes, the database expects at least ${keepBytes}`);
    }
    if (size > keepBytes) {
      // Appended but never recorded: a crash, or a write the disk refused partway through.
      try {
        await fh.truncate(keepBytes);
        await fh.datasync();
      } catch (e) {
        await fh.close().catch(() => undefined);
        throw e;
      }
    }
    this.current = { n: keepFile, fh, size: keepBytes };
  }

  /**
   * Appends one block given as parts (written with writev, never
   * concatenated) and makes it durable. With `sync: false` the write is
   * deferred to the next `sync()`, which writes every deferred block in one
   * go and syncs once (sync imports a batch of blocks this way, before any of
   * their locations is written).
   */
  async append(parts: readonly Uint8Array[], opts: { sync?: boolean } = {}): Promise<BlockLocationT> {
    if (!this.current) throw new Error("block files not recovered");
    let length = 0;
    for (const p of parts) length += p.length;
    const used = this.current.size + this.pendingBytes;
    if (used > 0 && used + length > this.maxFileBytes) {
      await this.guard(async () => {
        await this.flush();
        await this.rotate();
      });
    }
    const cur = this.current;
    const loc = { file: cur.n, offset: cur.size + this.pendingBytes, length };
    this.pending.push(...parts);
    this.pendingBytes += length;
    if (opts.sync ?? true) await this.sync();
    return loc;
  }

  /** Makes every append so far durable. */
  async sync(): Promise<void> {
    await this.guard(async () => {
      await this.flush();
      if (!this.dirty || !this.current) return;
      await this.current.fh.datasync();
      this.dirty = false;
    });
  }

  /** Runs a write to the current file; a disk refusal becomes a StorageFault naming that file. */
  private async guard(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (e) {
      throw asStorageFault(e, "block file", join(this.dir, fileName(this.current?.n ?? 0)));
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const cur = this.current!;
    const parts = this.pending;
    const length = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    // One call for every part: libuv writes them IOV_MAX at a time in one thread-pool job (one wait, not one per slice).
    let written = (await cur.fh.writev(parts as Uint8Array[], cur.size)).bytesWritten;
    // A short write (e.g. the disk filled up partway): write the rest, so the OS says why it cannot.
    while (written < length) {
      const rest = tail(parts, written);
      const { bytesWritten } = await cur.fh.write(rest, 0, rest.length, cur.size + written);
      if (bytesWritten === 0) throw new StorageFault("block file", join(this.dir, fileName(cur.n)), new Error(`short write: ${written} of ${length} bytes`));
      written += bytesWritten;
    }
    cur.size += length;
    this.dirty = true;
  }

  async read(loc: BlockLocationT): Promise<Uint8Array> {
    let opening = this.readers.get(loc.file);
    if (!opening) {
      opening = open(join(this.dir, fileName(loc.file)), "r");
      this.readers.set(loc.file, opening);
      opening.catch(() => this.readers.delete(loc.file));
    }
    const fh = await opening;
    const buf = new Uint8Array(loc.length);
    const { bytesRead } = await fh.read(buf, 0, loc.length, loc.offset);
    if (bytesRead !== loc.length) throw new Error(`block file ${fileName(loc.file)}: read ${bytesRead} of ${loc.length} bytes at ${loc.offset}`);
    return buf;
  }

  private async rotate(): Promise<void> {
    const cur = this.current!;
    if (this.dirty) await cur.fh.datasync();
    this.dirty = false;
    await cur.fh.close();
    const n = cur.n + 1;
    const fh = await open(join(this.dir, fileName(n)), "w+");
    await fh.datasync();
    const dirFh = await open(this.dir, "r");
    await dirFh.sync().finally(() => dirFh.close());
    this.current = { n, fh, size: 0 };
  }

  /**
   * Deletes every block file numbered below `n` (pruning: they hold only
   * blocks below the retained window). Never the current file. Idempotent.
   */
  async deleteBefore(n: number): Promise<number> {
    const cur = this.current?.n ?? 0;
    let deleted = 0;
    for (const name of readdirSync(this.dir)) {
      const m = FILE_RE.exec(name);
      if (!m) continue;
      const k = Number(m[1]);
      if (k >= n || k >= cur) continue;
      const fh = this.readers.get(k);
      this.readers.delete(k);
      await fh?.then((h) => h.close()).catch(() => undefined);
      rmSync(join(this.dir, name), { force: true });
      deleted++;
    }
    return deleted;
  }

  /** The block files on disk, by number (for tests and metrics). */
  fileNumbers(): number[] {
    return readdirSync(this.dir)
      .map((name) => FILE_RE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    if (this.current) await this.sync();
    await this.current?.fh.close();
    this.current = null;
    for (const fh of this.readers.values()) await fh.then((h) => h.close()).catch(() => undefined);
    this.readers.clear();
  }
}

/** The bytes of `parts` after the first `skip`, as one buffer. */
function tail(parts: readonly Uint8Array[], skip: number): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total - skip);
  let at = 0;
  for (const p of parts) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    out.set(p.subarray(skip), at);
    at += p.length - skip;
    skip = 0;
  }
  return out;
}
