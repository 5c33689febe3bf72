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

const HEAD_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("head"));
const GENESIS_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("genesis"));

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

  private constructor(db: Level, files: BlockFiles | null) {
    this.db = db;
    this.files = files;
  }

  /** Opens the store; with `blocksDir`, block bodies go to append-only files, cut back to the committed head. */
  static async open(db: Level, blocksDir: string | null): Promise<ChainStore> {
    if (blocksDir === null) return new ChainStore(db, null);
    const files = new BlockFiles(blocksDir);
    const store = new ChainStore(db, files);
    const head = await store.getHead();
    const loc = head ? await getBytes(db, Bucket.blockByHeight, heightKey(head.height)) : undefined;
    await files.recover(loc ? BlockLocation.deserialize(loc) : null);
    return store;
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
    const v = await getBytes(this.db, Bucket.blockByHeight, heightKey(height));
    if (!v || !this.files) return v;
    return this.files.read(BlockLocation.deserialize(v));
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
