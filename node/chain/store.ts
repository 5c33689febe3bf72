/**
 * Persistence of the chain: blocks, commits, receipts, the transaction index
 * and the head pointer. A block commit is ONE batch (block + receipts + index
 * + state changes + head), written with `sync`, so a process killed at any
 * instant restarts at the last committed height with a matching state root.
 * A disk that refuses a write (full, I/O error) throws a StorageFault: the
 * "chain database" for the batch, the "block file" for a body.
 */
import { ContainerType } from "@chainsafe/ssz";
import { Bucket, bucketKey, getBytes, heightKey, writeBatch, type BatchOp, type Level } from "../db/database.ts";
import { BlockFiles, BlockLocation } from "../db/blockfile.ts";
import { Block, BlockReceipts, encodeBlock, encodeBlockParts, Commit, type BlockT, type CommitT, type ReceiptT } from "../types/block.ts";
import { Bytes32, Uint32, UintNum64 } from "../types/primitives.ts";
import { blockHash } from "./block.ts";

const HEAD_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("head"));
const GENESIS_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("genesis"));

/** Whether the database holds a chain (a head pointer) yet. */
export async function hasHead(db: Level): Promise<boolean> {
  return (await db.get(HEAD_KEY)) !== undefined;
}
/** The lowest retained height (u64): blocks 0 .. floor-1 were pruned, genesis with the first batch (docs/decisions/0010-bounded-history.md). */
const PRUNED_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("pruned"));

export const HeadPointer = new ContainerType({ height: UintNum64, hash: Bytes32 });
export const TxLocation = new ContainerType({ height: UintNum64, index: Uint32 });

export interface TxLocationT {
  height: number;
  index: number;
}

export class ChainStore {
  readonly db: Level;
  /** Where block bodies live on disk; null keeps them in the database (in-memory nodes). */
  readonly files: BlockFiles | null;
  /** Lowest retained height: blocks, commits, receipts and tx-index entries below it are gone (1: nothing pruned; genesis goes with the first batch, its file with it). */
  floor = 1;

  private constructor(db: Level, files: BlockFiles | null) {
    this.db = db;
    this.files = files;
  }

  /**
   * Opens the store; with `blocksDir`, block bodies go to append-only files
   * (segments of `maxFileBytes`), cut back to the committed head, and segment
   * files wholly below the pruning floor are deleted (a prune killed between
   * its batch and its file deletion).
   */
  static async open(db: Level, blocksDir: string | null, opts: { maxFileBytes?: number } = {}): Promise<ChainStore> {
    const files = blocksDir === null ? null : new BlockFiles(blocksDir, opts);
    const store = new ChainStore(db, files);
    const pruned = await db.get(PRUNED_KEY);
    if (pruned) store.floor = UintNum64.deserialize(pruned);
    if (!files) return store;
    const head = await store.getHead();
    const loc = head ? await getBytes(db, Bucket.blockByHeight, heightKey(head.height)) : undefined;
    await files.recover(loc ? BlockLocation.deserialize(loc) : null);
    await store.deleteFilesBelowFloor();
    return store;
  }

  /** True when `height`'s block was pruned. */
  isPruned(height: number): boolean {
    return height < this.floor && this.floor > 1;
  }

  /**
   * Prunes heights floor .. `to`-1 (to > floor) in ONE synced batch that also
   * moves the floor, so a kill at any instant leaves either the old or the
   * new floor with everything at or above it intact; then deletes the
   * segment files that hold only pruned blocks. Reads two small values per
   * height (the commit for the block hash, the receipts for the tx hashes),
   * never a block body.
   */
  async prune(to: number): Promise<void> {
    const from = this.floor;
    if (to <= from) return;
    const ops: BatchOp[] = [];
    if (from === 1) {
      // Genesis sits in the first block file; the genesis file rebuilds it, so it goes with the first batch.
      const genesis = await this.getBlock(0);
      if (genesis) ops.push({ type: "del", key: bucketKey(Bucket.heightByHash, blockHash(genesis.header)) });
      ops.push({ type: "del", key: bucketKey(Bucket.blockByHeight, heightKey(0)) }, { type: "del", key: bucketKey(Bucket.receiptsByHeight, heightKey(0)) });
    }
    for (let h = from; h < to; h++) {
      const hk = heightKey(h);
      const commit = await this.getCommitBytes(h);
      if (commit) ops.push({ type: "del", key: bucketKey(Bucket.heightByHash, Commit.deserialize(commit).blockHash) });
      const receipts = await this.getReceipts(h);
      for (const r of receipts ?? []) ops.push({ type: "del", key: bucketKey(Bucket.txIndex, r.txHash) });
      ops.push(
        { type: "del", key: bucketKey(Bucket.blockByHeight, hk) },
        { type: "del", key: bucketKey(Bucket.commitByHeight, hk) },
        { type: "del", key: bucketKey(Bucket.receiptsByHeight, hk) },
      );
    }
    ops.push({ type: "put", key: PRUNED_KEY, value: UintNum64.serialize(to) });
    // Readers see these heights as pruned from now on, not as missing while the batch is being written.
    this.floor = to;
    try {
      await this.write(ops);
    } catch (e) {
      this.floor = from;
      throw e;
    }
    await this.deleteFilesBelowFloor();
  }

  /** Deletes block files before the one holding the floor's block (they hold only pruned blocks). */
  private async deleteFilesBelowFloor(): Promise<void> {
    if (!this.files || this.floor <= 1) return;
    const loc = await getBytes(this.db, Bucket.blockByHeight, heightKey(this.floor));
    if (loc) await this.files.deleteBefore(BlockLocation.deserialize(loc).file);
  }

  async close(): Promise<void> {
    await this.files?.close();
  }

  async getHead(): Promise<{ height: number; hash: Uint8Array } | undefined> {
    const v = await this.db.get(HEAD_KEY);
    return v ? HeadPointer.deserialize(v) : undefined;
  }

  /** The genesis file's hash, to refuse starting a data dir with another genesis. */
  async getGenesisHash(): Promise<Uint8Array | undefined> {
    return (await this.db.get(GENESIS_KEY)) ?? undefined;
  }

  async getBlock(height: number): Promise<BlockT | undefined> {
    const v = await this.getBlockBytes(height);
    return v ? Block.deserialize(v) : undefined;
  }

  /** The block's SSZ encoding. */
  async getBlockBytes(height: number): Promise<Uint8Array | undefined> {
    if (this.isPruned(height)) return undefined;
    const v = await getBytes(this.db, Bucket.blockByHeight, heightKey(height));
    if (!v || !this.files) return v;
    try {
      return await this.files.read(BlockLocation.deserialize(v));
    } catch (e) {
      // Pruned while this read was on its way (its file deleted): the block is gone, not the disk.
      if (this.isPruned(height)) return undefined;
      throw e;
    }
  }

  async getHeightByHash(hash: Uint8Array): Promise<number | undefined> {
    const v = await getBytes(this.db, Bucket.heightByHash, hash);
    return v ? UintNum64.deserialize(v) : undefined;
  }

  /** The commit that finalized `height` (the next block carries it too, as lastCommit). */
  async getCommit(height: number): Promise<CommitT | undefined> {
    const v = await this.getCommitBytes(height);
    return v ? Commit.deserialize(v) : undefined;
  }

  /** The commit's SSZ encoding, as stored. */
  async getCommitBytes(height: number): Promise<Uint8Array | undefined> {
    return getBytes(this.db, Bucket.commitByHeight, heightKey(height));
  }

  async getReceipts(height: number): Promise<ReceiptT[] | undefined> {
    const v = await getBytes(this.db, Bucket.receiptsByHeight, heightKey(height));
    return v ? BlockReceipts.deserialize(v) : undefined;
  }

  async getTxLocation(hash: Uint8Array): Promise<TxLocationT | undefined> {
    const v = await getBytes(this.db, Bucket.txIndex, hash);
    return v ? TxLocation.deserialize(v) : undefined;
  }

  /**
   * Batch operations that record a committed block; the caller adds the
   * state's and writes them at once. With block files the body is appended
   * (and synced) here and the batch records where.
   */
  async blockOps(
    block: BlockT,
    hash: Uint8Array,
    commit: CommitT | null,
    receipts: ReceiptT[],
    txs: readonly { hash: Uint8Array; bytes: Uint8Array }[],
    opts: { syncBody?: boolean; encoded?: { block: Uint8Array; commit: Uint8Array } } = {},
  ): Promise<BatchOp[]> {
    const h = block.header.height;
    const hk = heightKey(h);
    const txBytes = txs.map((t) => t.bytes);
    // Sync hands over the bytes it received (SSZ decoding is strict, so they are the canonical encoding): no re-encoding.
    const parts = opts.encoded ? [opts.encoded.block] : encodeBlockParts(block, txBytes);
    const body = this.files ? BlockLocation.serialize(await this.files.append(parts, { sync: opts.syncBody ?? true })) : (opts.encoded?.block ?? encodeBlock(block, txBytes));
    const ops: BatchOp[] = [
      { type: "put", key: bucketKey(Bucket.blockByHeight, hk), value: body },
      { type: "put", key: bucketKey(Bucket.heightByHash, hash), value: UintNum64.serialize(h) },
      { type: "put", key: bucketKey(Bucket.receiptsByHeight, hk), value: BlockReceipts.serialize(receipts) },
      { type: "put", key: HEAD_KEY, value: HeadPointer.serialize({ height: h, hash }) },
    ];
    if (commit) ops.push({ type: "put", key: bucketKey(Bucket.commitByHeight, hk), value: opts.encoded?.commit ?? Commit.serialize(commit) });
    for (let i = 0; i < txs.length; i++) {
      ops.push({ type: "put", key: bucketKey(Bucket.txIndex, txs[i]!.hash), value: TxLocation.serialize({ height: h, index: i }) });
    }
    return ops;
  }

  /** Sets the lowest retained height (a state-synced node holds nothing below its snapshot's successor). */
  floorOp(height: number): BatchOp {
    return { type: "put", key: PRUNED_KEY, value: UintNum64.serialize(height) };
  }

  genesisOp(genesisHash: Uint8Array): BatchOp {
    return { type: "put", key: GENESIS_KEY, value: genesisHash };
  }

  /** Makes block bodies appended with `syncBody: false` durable. */
  async syncBodies(): Promise<void> {
    await this.files?.sync();
  }

  async write(ops: BatchOp[]): Promise<void> {
    await writeBatch(this.db, ops, "chain database");
  }
}
