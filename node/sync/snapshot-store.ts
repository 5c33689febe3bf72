/**
 * The state snapshots a node serves to others for state sync: every `every`
 * heights the committed state is captured (its manifest, and a copy of the
 * account columns taken between two blocks) and written in the background to
 * `<home>/state/sync/<height>.snap`; the newest `keep` are kept. An
 * in-memory node keeps its snapshots' columns in memory instead.
 *
 * File layout (little-endian): 48-byte header — magic "POUWSS01", u32
 * manifest-head length, u32 rest length, u64 reserved, SHA-256 of everything
 * after the header — then the ManifestHead (SSZ), the rest of the state (SSZ
 * State without accounts) and the account chunks back to back (4,096 × 36
 * bytes each, the last one shorter). The checksum is checked when a node
 * restarts; a file that fails it is deleted, not served.
 */
import { createHash } from "node:crypto";
import { createReadStream, mkdirSync, readdirSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ACCOUNT_BYTES, ADDRESS_BYTES, type AccountColumns } from "../state/account-tree.ts";
import { syncDir } from "../state/account-snapshot.ts";
import { ACCOUNT_CHUNK_LEVEL, ACCOUNTS_PER_CHUNK, accountChunkCount, encodeAccountChunk } from "../state/state-chunks.ts";
import type { WorldState } from "../state/world.ts";
import { ManifestHead, MAX_LISTED_SNAPSHOTS, SnapshotList, type ManifestHeadT, type SnapshotInfoT } from "./state-messages.ts";

export interface StateSnapshotOptions {
  /** Heights between snapshots (a snapshot at every multiple); 0 makes none. */
  every: number;
  /** Snapshots kept (the newest). */
  keep: number;
}

/** Every 1,000 blocks (ten epochs at the default epoch length), the last two kept: a joining node finds one within 2,000 blocks of the head. */
export const DEFAULT_STATE_SNAPSHOTS: StateSnapshotOptions = { every: 1000, keep: 2 };

const MAGIC = Buffer.from("POUWSS01");
const HEADER = 48;
const CHUNK_BYTES = ACCOUNTS_PER_CHUNK * ACCOUNT_BYTES;

interface Held {
  info: SnapshotInfoT;
  head: Uint8Array;
  rest: Uint8Array;
  /** On disk: the file and where the chunks start. */
  path: string | null;
  dataStart: number;
  /** In memory: the columns as they were at the snapshot's height. */
  columns: AccountColumns | null;
}

export class StateSnapshots {
  readonly opts: StateSnapshotOptions;
  private readonly dir: string | null;
  private readonly warn: (msg: string, err?: unknown) => void;
  private held: Held[] = [];
  private writing: Promise<void> = Promise.resolve();
  private pending = 0;
  /** Resolves once the files found at open are checked (those that pass are served). */
  readonly ready: Promise<void>;

  constructor(dir: string | null, opts: Partial<StateSnapshotOptions> = {}, warn: (msg: string, err?: unknown) => void = () => {}) {
    this.opts = { ...DEFAULT_STATE_SNAPSHOTS, ...opts };
    if (!Number.isSafeInteger(this.opts.every) || this.opts.every < 0) throw new RangeError(`snapshot interval must be a whole number of blocks ≥ 0, got ${this.opts.every}`);
    if (!Number.isSafeInteger(this.opts.keep) || this.opts.keep < 1) throw new RangeError(`snapshots kept must be ≥ 1, got ${this.opts.keep}`);
    this.dir = dir;
    this.warn = warn;
    if (dir !== null) mkdirSync(dir, { recursive: true });
    this.ready = dir === null ? Promise.resolve() : this.loadExisting(dir);
  }

  /** Whether `height` is a snapshot height. */
  due(height: number): boolean {
    return this.opts.every > 0 && height > 0 && height % this.opts.every === 0;
  }

  /** The snapshots served, newest first. */
  list(): SnapshotInfoT[] {
    return this.held.map((h) => h.info).sort((a, b) => b.height - a.height);
  }

  /**
   * The answer to a peer's `state_snapshots` request: the newest
   * MAX_LISTED_SNAPSHOTS the list holds (a node may keep more; the older
   * ones are still served by height to a peer that asks for them).
   */
  listing(): Uint8Array {
    return SnapshotList.serialize(this.list().slice(0, MAX_LISTED_SNAPSHOTS));
  }

  /**
   * Captures the committed state of `height` (call between blocks: the
   * columns are copied now, the file is written in the background). A capture
   * while the previous one is still being written is skipped.
   */
  capture(world: WorldState, height: number, blockHash: Uint8Array): void {
    if (this.pending > 0) {
      this.warn(`state snapshot at height ${height} skipped: the one before is still being written`);
      return;
    }
    const n = world.accounts.count;
    const c = world.accounts.columns();
    const columns: AccountColumns = { count: n, addresses: c.addresses.slice(0, n * ADDRESS_BYTES), balances: c.balances.slice(0, n), nonces: c.nonces.slice(0, n) };
    const head: ManifestHeadT = {
      height,
      blockHash: new Uint8Array(blockHash),
      accountCount: n,
      accountChunkRoots: Array.from({ length: accountChunkCount(n) }, (_, k) => world.accounts.subtreeRoot(ACCOUNT_CHUNK_LEVEL, k)),
    };
    const held: Held = {
      info: { height, blockHash: head.blockHash, accountCount: n, chunks: head.accountChunkRoots.length },
      head: ManifestHead.serialize(head),
      rest: world.view.serialize(),
      path: null,
      dataStart: 0,
      columns,
    };
    if (this.dir === null) {
      void this.add(held);
      return;
    }
    this.pending++;
    const dir = this.dir;
    this.writing = this.writing
      .then(async () => {
        const path = join(dir, `${height}.snap`);
        await writeSnapshotFile(path, held);
        await this.add({ ...held, path, dataStart: HEADER + held.head.length + held.rest.length, columns: null });
      })
      .catch((e) => this.warn(`state snapshot at height ${height} not written`, e))
      .finally(() => this.pending--);
  }

  /** Waits for the snapshot being written (tests, close). */
  async idle(): Promise<void> {
    await this.ready;
    await this.writing;
  }

  /** The manifest of the snapshot at `height`: its head and the rest of the state; null when not held. */
  manifest(height: number): { head: Uint8Array; rest: Uint8Array } | null {
    const h = this.held.find((x) => x.info.height === height);
    return h ? { head: h.head, rest: h.rest } : null;
  }

  /** Account chunk `k` of the snapshot at `height`; null when not held. */
  async chunk(height: number, k: number): Promise<Uint8Array | null> {
    const h = this.held.find((x) => x.info.height === height);
    if (!h || !Number.isInteger(k) || k < 0 || k >= h.info.chunks) return null;
    if (h.columns) return encodeAccountChunk(h.columns, k);
    const count = Math.min(ACCOUNTS_PER_CHUNK, h.info.accountCount - k * ACCOUNTS_PER_CHUNK);
    const out = new Uint8Array(count * ACCOUNT_BYTES);
    let f;
    try {
      f = await open(h.path!, "r");
    } catch {
      return null; // deleted meanwhile (a newer one replaced it)
    }
    try {
      let off = 0;
      while (off < out.length) {
        const { bytesRead } = await f.read(out, off, out.length - off, h.dataStart + k * CHUNK_BYTES + off);
        if (bytesRead === 0) return null;
        off += bytesRead;
      }
      return out;
    } finally {
      await f.close();
    }
  }

  /** Serves `h` from now on; the snapshots beyond `keep` stop being served at once and their files are deleted. */
  private async add(h: Held): Promise<void> {
    this.held = [...this.held.filter((x) => x.info.height !== h.info.height), h].sort((a, b) => b.info.height - a.info.height);
    const dropped = this.held.slice(this.opts.keep);
    this.held = this.held.slice(0, this.opts.keep);
    for (const d of dropped) if (d.path) await rm(d.path, { force: true }).catch((e) => this.warn(`old state snapshot ${d.path} not deleted`, e));
  }

  /** Reads the snapshot files a previous run left: those whose checksum holds are served again; the rest (torn, damaged) are deleted. */
  private async loadExisting(dir: string): Promise<void> {
    const names = readdirSync(dir).filter((n) => /^\d+\.snap(\.tmp)?$/.test(n));
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith(".tmp")) {
        await rm(path, { force: true });
        continue;
      }
      try {
        await this.add(await readSnapshotFile(path));
      } catch (e) {
        this.warn(`state snapshot ${path} is damaged (${(e as Error).message}): deleted`);
        await rm(path, { force: true }).catch(() => undefined);
      }
    }
  }
}

async function writeSnapshotFile(path: string, s: Held): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await open(tmp, "w", 0o600);
  const sum = createHash("sha256");
  try {
    let at = HEADER;
    const put = async (b: Uint8Array) => {
      sum.update(b);
      let off = 0;
      while (off < b.length) off += (await f.write(b, off, b.length - off, at + off)).bytesWritten;
      at += b.length;
    };
    await put(s.head);
    await put(s.rest);
    const c = s.columns!;
    const buf = new Uint8Array(CHUNK_BYTES);
    for (let k = 0; k < accountChunkCount(c.count); k++) await put(encodeAccountChunk(c, k, buf));
    const header = Buffer.alloc(HEADER);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(s.head.length, 8);
    header.writeUInt32LE(s.rest.length, 12);
    sum.digest().copy(header, 16);
    await f.write(header, 0, HEADER, 0);
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

async function readSnapshotFile(path: string): Promise<Held> {
  const f = await open(path, "r");
  let header: Buffer, head: Buffer, rest: Buffer, size: number;
  try {
    size = (await f.stat()).size;
    header = Buffer.alloc(HEADER);
    await f.read(header, 0, HEADER, 0);
    if (!header.subarray(0, 8).equals(MAGIC)) throw new Error("not a state snapshot of this format");
    const headLen = header.readUInt32LE(8);
    const restLen = header.readUInt32LE(12);
    if (HEADER + headLen + restLen > size) throw new Error("shorter than its header says");
    head = Buffer.alloc(headLen);
    rest = Buffer.alloc(restLen);
    await f.read(head, 0, headLen, HEADER);
    await f.read(rest, 0, restLen, HEADER + headLen);
  } finally {
    await f.close();
  }
  const m = ManifestHead.deserialize(head);
  const dataStart = HEADER + head.length + rest.length;
  if (size !== dataStart + m.accountCount * ACCOUNT_BYTES) throw new Error(`${size} bytes, ${m.accountCount} accounts need ${dataStart + m.accountCount * ACCOUNT_BYTES}`);
  const sum = createHash("sha256");
  for await (const piece of createReadStream(path, { start: HEADER })) sum.update(piece as Buffer);
  if (!sum.digest().equals(header.subarray(16, 48))) throw new Error("checksum mismatch");
  return {
    info: { height: m.height, blockHash: m.blockHash, accountCount: m.accountCount, chunks: m.accountChunkRoots.length },
    head: new Uint8Array(head),
    rest: new Uint8Array(rest),
    path,
    dataStart,
    columns: null,
  };
}
