/**
 * The consensus write-ahead log, two files:
 *
 * - The proposal record: the block this validator is about to propose, made
 *   durable before it is signed. After a crash the node proposes the same
 *   block again (the privval returns the same signature) instead of building
 *   a different one it would have to refuse to sign. One file rewritten in
 *   place per height (a full block can be tens of megabytes: LevelDB would
 *   copy it through its log and compactions), framed as
 *   [round u32][length u32][sha256 of the block][block SSZ]. A torn write
 *   fails the checksum and reads as "no record", which is safe: nothing is
 *   signed before the record is synced.
 *
 * - The message log (CometBFT's consensus WAL): every message the machine
 *   handled at the current height, in order (proposals and votes from peers,
 *   fired timeouts), and every vote and proposal this validator signed. On a
 *   restart the engine replays it through a fresh machine, so the validator
 *   re-enters the height and round it was in, with the votes it had seen and
 *   the lock it held, and re-sends its own votes byte for byte. Own messages
 *   are appended with fsync, which also makes everything before them durable;
 *   peers' messages are plain writes (a process crash keeps them; a power
 *   loss may lose the tail, after the last thing this validator signed). The
 *   log is cut back at each new height to the messages already held for it.
 *   Frames are [length u32][crc32 u32][type u8][height u64][payload]; reading
 *   stops at the first torn or corrupt frame.
 *
 * Without a directory (in-memory nodes) both live in the database.
 */
import { createHash } from "node:crypto";
import { constants as fsc } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { ContainerType } from "@chainsafe/ssz";
import { Bucket, bucketKey, type Level } from "../db/database.ts";
import { Block, encodeBlockParts, type BlockT } from "../types/block.ts";
import { SignedTransaction } from "../types/transaction.ts";
import { Uint32 } from "../types/primitives.ts";
import { asStorageFault } from "../util/storage-fault.ts";
import type { TimeoutStep } from "./tendermint/types.ts";

/** One entry of the message log. `bytes` are the messages as they travel (SSZ `ProposalMessage` / `Vote`). */
export type WalRecord =
  /** A proposal from a peer that the engine accepted (signature checked). */
  | { type: "proposal"; height: number; bytes: Uint8Array }
  /** A vote from a peer that the engine accepted. */
  | { type: "vote"; height: number; bytes: Uint8Array }
  /** A timeout that fired. */
  | { type: "timeout"; height: number; round: number; step: TimeoutStep }
  /** A vote this validator signed. */
  | { type: "ownVote"; height: number; bytes: Uint8Array }
  /** A proposal this validator signed (the block is in the proposal record). */
  | { type: "ownProposal"; height: number; round: number; polRound: number; blockHash: Uint8Array; signature: Uint8Array };

const RECORD_TYPE = { proposal: 1, vote: 2, timeout: 3, ownVote: 4, ownProposal: 5 } as const;
const TIMEOUT_STEPS: TimeoutStep[] = ["propose", "prevote", "precommit"];
const LOG_PREFIX = bucketKey(Bucket.wal, new TextEncoder().encode("log/"));
const LOG_FRAME_HEAD = 4 + 4;
/** A frame longer than this is corruption, not a record (a proposal is capped far below). */
const MAX_LOG_FRAME = 256 * 1024 * 1024;

const WalProposal = new ContainerType({ round: Uint32, block: Block }, { typeName: "WalProposal" });
const KEY = bucketKey(Bucket.wal, new TextEncoder().encode("proposal"));
const FRAME_HEAD = 4 + 4 + 32;

export class ConsensusWal {
  private readonly db: Level;
  private readonly path: string | null;
  private readonly logPath: string | null;
  private fh: FileHandle | null = null;
  private logFh: FileHandle | null = null;
  /** Where the next log frame goes (file), or the next key's sequence number (database). */
  private logEnd = -1;

  /** `path`: the proposal record's file (the message log is `path` + ".log"); null keeps both in `db`. */
  constructor(db: Level, path: string | null = null) {
    this.db = db;
    this.path = path;
    this.logPath = path === null ? null : `${path}.log`;
  }

  // ---- message log

  /** Appends a record; with `sync`, it and everything before it are on disk when this resolves. */
  async append(rec: WalRecord, sync = false): Promise<void> {
    const frame = encodeRecord(rec);
    try {
      if (this.logPath === null) {
        if (this.logEnd < 0) this.logEnd = (await this.readLog()).length;
        await this.db.put(logKey(this.logEnd++), frame, { sync } as never);
        return;
      }
      // Appends go after the last good frame: find it first if nothing has read the log yet.
      if (this.logEnd < 0) await this.readLog();
      const fh = await this.log();
      // A short write is retried for the rest: a full disk then reports ENOSPC rather than a short count.
      for (let at = 0; at < frame.length; ) {
        const { bytesWritten } = await fh.write(frame, at, frame.length - at, this.logEnd + at);
        if (bytesWritten === 0) throw new Error(`short write to the consensus WAL: ${at} of ${frame.length} bytes`);
        at += bytesWritten;
      }
      this.logEnd += frame.length;
      if (sync) await fh.datasync();
    } catch (e) {
      throw asStorageFault(e, "consensus WAL", this.logPath);
    }
  }

  /** The log's records in order, up to the first torn or corrupt frame. */
  async messages(): Promise<WalRecord[]> {
    return (await this.readLog()).map((f) => decodeRecord(f));
  }

  /** Starts the log afresh for a new height with `carry` (messages already held for it) in it. */
  async resetLog(carry: readonly WalRecord[]): Promise<void> {
    try {
      if (this.logPath === null) {
        await this.db.clear({ gte: LOG_PREFIX, lt: logKey(0xffffffff) });
        this.logEnd = 0;
      } else {
        const fh = await this.log();
        await fh.truncate(0);
        this.logEnd = 0;
      }
    } catch (e) {
      throw asStorageFault(e, "consensus WAL", this.logPath);
    }
    for (const rec of carry) await this.append(rec);
  }

  private async readLog(): Promise<Uint8Array[]> {
    const frames: Uint8Array[] = [];
    if (this.logPath === null) {
      for await (const [, v] of this.db.iterator({ gte: LOG_PREFIX, lt: logKey(0xffffffff) })) frames.push(v);
      this.logEnd = frames.length;
      return frames;
    }
    const fh = await this.log();
    const { size } = await fh.stat();
    const buf = new Uint8Array(size);
    if (size > 0) await fh.read(buf, 0, size, 0);
    let at = 0;
    while (at + LOG_FRAME_HEAD <= size) {
      const dv = new DataView(buf.buffer, at);
      const length = dv.getUint32(0, true);
      const sum = dv.getUint32(4, true);
      if (length < 9 || length > MAX_LOG_FRAME || at + LOG_FRAME_HEAD + length > size) break; // torn tail
      const body = buf.subarray(at + LOG_FRAME_HEAD, at + LOG_FRAME_HEAD + length);
      if (crc32(body) !== sum) break; // corrupt or torn
      frames.push(buf.subarray(at, at + LOG_FRAME_HEAD + length));
      at += LOG_FRAME_HEAD + length;
    }
    // Later appends go after the last good frame (a torn tail is overwritten).
    this.logEnd = at;
    return frames;
  }

  private async log(): Promise<FileHandle> {
    this.logFh ??= await open(this.logPath!, fsc.O_RDWR | fsc.O_CREAT);
    return this.logFh;
  }

  // ---- proposal record

  /** Durable when it resolves. `txBytes`, when given, are the block's transactions already encoded. */
  async saveProposal(round: number, block: BlockT, txBytes?: readonly Uint8Array[]): Promise<void> {
    try {
      await this.writeProposal(round, block, txBytes);
    } catch (e) {
      throw asStorageFault(e, "consensus WAL", this.path);
    }
  }

  private async writeProposal(round: number, block: BlockT, txBytes?: readonly Uint8Array[]): Promise<void> {
    if (this.path === null) {
      await this.db.put(KEY, WalProposal.serialize({ round, block }), { sync: true } as never);
      return;
    }
    const parts = encodeBlockParts(block, txBytes ?? block.body.txs.map((t) => SignedTransaction.serialize(t)));
    const h = createHash("sha256");
    let length = 0;
    for (const p of parts) {
      h.update(p);
      length += p.length;
    }
    const head = new Uint8Array(FRAME_HEAD);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, round, true);
    dv.setUint32(4, length, true);
    head.set(h.digest(), 8);
    const fh = await this.file();
    let at = 0;
    const all = [head, ...parts];
    // One call for every part: libuv writes them IOV_MAX at a time in one thread-pool job (one wait, not one per slice).
    at += (await fh.writev(all, at)).bytesWritten;
    if (at !== FRAME_HEAD + length) throw new Error(`short write to the consensus WAL: ${at} of ${FRAME_HEAD + length} bytes`);
    await fh.truncate(at);
    await fh.datasync();
  }

  async loadProposal(): Promise<{ round: number; block: BlockT } | undefined> {
    if (this.path === null) {
      const v = await this.db.get(KEY);
      return v ? WalProposal.deserialize(v) : undefined;
    }
    const fh = await this.file();
    const { size } = await fh.stat();
    if (size < FRAME_HEAD) return undefined;
    const buf = new Uint8Array(size);
    await fh.read(buf, 0, size, 0);
    const dv = new DataView(buf.buffer);
    const round = dv.getUint32(0, true);
    const length = dv.getUint32(4, true);
    if (FRAME_HEAD + length !== size) return undefined; // torn write
    const body = buf.subarray(FRAME_HEAD);
    const sum = createHash("sha256").update(body).digest();
    if (!sum.equals(buf.subarray(8, FRAME_HEAD))) return undefined; // torn write
    return { round, block: Block.deserialize(body) };
  }

  async close(): Promise<void> {
    await this.fh?.close();
    await this.logFh?.close();
    this.fh = null;
    this.logFh = null;
    this.logEnd = -1;
  }

  private async file(): Promise<FileHandle> {
    this.fh ??= await open(this.path!, fsc.O_RDWR | fsc.O_CREAT);
    return this.fh;
  }
}

function logKey(seq: number): Uint8Array {
  const k = new Uint8Array(LOG_PREFIX.length + 4);
  k.set(LOG_PREFIX);
  new DataView(k.buffer).setUint32(LOG_PREFIX.length, seq, false);
  return k;
}

function encodeRecord(rec: WalRecord): Uint8Array {
  let payload: Uint8Array;
  switch (rec.type) {
    case "proposal":
    case "vote":
    case "ownVote":
      payload = rec.bytes;
      break;
    case "timeout":
      payload = new Uint8Array(5);
      new DataView(payload.buffer).setUint32(0, rec.round, true);
      payload[4] = TIMEOUT_STEPS.indexOf(rec.step);
      break;
    case "ownProposal":
      payload = new Uint8Array(8 + 32 + rec.signature.length);
      new DataView(payload.buffer).setUint32(0, rec.round, true);
      new DataView(payload.buffer).setInt32(4, rec.polRound, true);
      payload.set(rec.blockHash, 8);
      payload.set(rec.signature, 40);
      break;
  }
  const length = 1 + 8 + payload.length;
  const frame = new Uint8Array(LOG_FRAME_HEAD + length);
  const dv = new DataView(frame.buffer);
  dv.setUint32(0, length, true);
  frame[8] = RECORD_TYPE[rec.type];
  dv.setBigUint64(9, BigInt(rec.height), true);
  frame.set(payload, 17);
  dv.setUint32(4, crc32(frame.subarray(LOG_FRAME_HEAD)), true);
  return frame;
}

function decodeRecord(frame: Uint8Array): WalRecord {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const type = frame[8];
  const height = Number(dv.getBigUint64(9, true));
  const payload = frame.subarray(17);
  const pdv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  switch (type) {
    case RECORD_TYPE.proposal:
      return { type: "proposal", height, bytes: payload };
    case RECORD_TYPE.vote:
      return { type: "vote", height, bytes: payload };
    case RECORD_TYPE.ownVote:
      return { type: "ownVote", height, bytes: payload };
    case RECORD_TYPE.timeout:
      return { type: "timeout", height, round: pdv.getUint32(0, true), step: TIMEOUT_STEPS[payload[4]!] ?? "propose" };
    case RECORD_TYPE.ownProposal:
      return { type: "ownProposal", height, round: pdv.getUint32(0, true), polRound: pdv.getInt32(4, true), blockHash: payload.slice(8, 40), signature: payload.slice(40) };
    default:
      throw new Error(`unknown consensus WAL record type ${type}`);
  }
}
