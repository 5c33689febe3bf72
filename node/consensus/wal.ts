/**
 * The consensus write-ahead record: the block this validator is about to vote
 * for, made durable before the first vote. After a crash between signing and
 * committing, the node votes for the same block again (the privval returns
 * the same signatures) instead of building a different one it would have to
 * refuse to sign.
 *
 * On disk it is one file rewritten in place per height (a full block can be
 * tens of megabytes: LevelDB would copy it through its log and compactions),
 * framed as [round u32][length u32][sha256 of the block][block SSZ]. A torn
 * write fails the checksum and reads as "no record", which is safe: nothing is
 * signed before the record is synced. Without a directory (in-memory nodes)
 * the record lives in the database.
 */
import { createHash } from "node:crypto";
import { constants as fsc } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { ContainerType } from "@chainsafe/ssz";
import { Bucket, bucketKey, type Level } from "../db/database.ts";
import { Block, encodeBlockParts, type BlockT } from "../types/block.ts";
import { SignedTransaction } from "../types/transaction.ts";
import { Uint32 } from "../types/primitives.ts";

const WalProposal = new ContainerType({ round: Uint32, block: Block }, { typeName: "WalProposal" });
const KEY = bucketKey(Bucket.wal, new TextEncoder().encode("proposal"));
const FRAME_HEAD = 4 + 4 + 32;

export class ConsensusWal {
  private readonly db: Level;
  private readonly path: string | null;
  private fh: FileHandle | null = null;

  /** `path`: the record's file; null keeps it in `db`. */
  constructor(db: Level, path: string | null = null) {
    this.db = db;
    this.path = path;
  }

  /** Durable when it resolves. `txBytes`, when given, are the block's transactions already encoded. */
  async saveProposal(round: number, block: BlockT, txBytes?: readonly Uint8Array[]): Promise<void> {
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
    for (let i = 0; i < all.length; i += 512) at += (await fh.writev(all.slice(i, i + 512), at)).bytesWritten;
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
    this.fh = null;
  }

  private async file(): Promise<FileHandle> {
    this.fh ??= await open(this.path!, fsc.O_RDWR | fsc.O_CREAT);
    return this.fh;
  }
}
