/**
 * Content-addressed blobs (training checkpoints, DESIGN §8): stored under
 * their SHA-256 in the `blob` bucket. Whoever hands a blob over names it by
 * hash, so a blob is accepted only when its bytes hash to that name. A put
 * the disk refused throws a StorageFault ("blob store"), after telling
 * `onFault` (the node stops).
 */
import { sha256 } from "../crypto/hash.ts";
import type { StorageFaultHandler } from "../util/storage-fault.ts";
import { Bucket, bucketKey, getBytes, iterateBucket, putBytes, writeBatch, type BatchOp, type Level } from "./database.ts";

/** Largest blob accepted (a checkpoint of 600,000 parameters plus momentum is 4.8 MB). */
export const MAX_BLOB_BYTES = 6 * 1024 * 1024;

/** A blob taken over RPC that nothing references yet. */
export interface StagedBlob {
  id: Uint8Array;
  /** Wall-clock ms after which it is deleted unless a proof references it by then. */
  expiresAt: number;
  size: number;
  /** Index of the job it was taken for (its quota). */
  job: number;
}

export class BlobStore {
  private readonly db: Level;
  private readonly onFault: StorageFaultHandler | null;

  constructor(db: Level, opts: { onFault?: StorageFaultHandler } = {}) {
    this.db = db;
    this.onFault = opts.onFault ?? null;
  }

  /**
   * Stores `bytes` under `id` (default: its SHA-256) and returns the id.
   * Callers check any other id against the bytes first (a manifest is stored
   * under its Merkle root).
   */
  async put(bytes: Uint8Array, id: Uint8Array = sha256(bytes)): Promise<Uint8Array> {
    if (bytes.length > MAX_BLOB_BYTES) throw new RangeError(`blob is ${bytes.length} bytes, limit ${MAX_BLOB_BYTES}`);
    await putBytes(this.db, bucketKey(Bucket.blob, id), bytes, "blob store", { onFault: this.onFault });
    return id;
  }

  async get(id: Uint8Array): Promise<Uint8Array | undefined> {
    return getBytes(this.db, Bucket.blob, id);
  }

  /**
   * Stores a blob taken over RPC that nothing references yet, with its
   * marker (expiry, size, the job it was taken for) in one batch, so a
   * restart still knows to expire it (node/work/blob-intake.ts).
   */
  async putStaged(bytes: Uint8Array, id: Uint8Array, expiresAt: number, job: number): Promise<void> {
    if (bytes.length > MAX_BLOB_BYTES) throw new RangeError(`blob is ${bytes.length} bytes, limit ${MAX_BLOB_BYTES}`);
    const marker = new Uint8Array(16);
    const dv = new DataView(marker.buffer);
    dv.setBigUint64(0, BigInt(expiresAt));
    dv.setUint32(8, bytes.length);
    dv.setUint32(12, job);
    await writeBatch(
      this.db,
      [
        { type: "put", key: bucketKey(Bucket.blob, id), value: bytes },
        { type: "put", key: bucketKey(Bucket.blobStaged, id), value: marker },
      ],
      "blob store",
      this.onFault,
    );
  }

  /** A staged blob came to be referenced: it stays, its marker goes. */
  async unstage(id: Uint8Array): Promise<void> {
    await writeBatch(this.db, [{ type: "del", key: bucketKey(Bucket.blobStaged, id) }], "blob store", this.onFault);
  }

  /** A staged blob expired unreferenced: the blob and its marker go. */
  async dropStaged(id: Uint8Array): Promise<void> {
    await writeBatch(
      this.db,
      [
        { type: "del", key: bucketKey(Bucket.blob, id) },
        { type: "del", key: bucketKey(Bucket.blobStaged, id) },
      ],
      "blob store",
      this.onFault,
    );
  }

  /** Every staged blob's marker. */
  async *staged(): AsyncGenerator<StagedBlob> {
    for await (const [id, v] of iterateBucket(this.db, Bucket.blobStaged)) {
      if (v.length !== 16) continue;
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      yield { id: id.slice(), expiresAt: Number(dv.getBigUint64(0)), size: dv.getUint32(8), job: dv.getUint32(12) };
    }
  }

  async has(id: Uint8Array): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }

  /** True when `id` is staged (taken over RPC, not referenced yet): pruning leaves it to the intake's expiry. */
  async isStaged(id: Uint8Array): Promise<boolean> {
    return (await getBytes(this.db, Bucket.blobStaged, id)) !== undefined;
  }

  /** The height below which proofs' blobs were pruned (1: none yet). */
  async prunedBelow(): Promise<number> {
    const v = await this.db.get(BLOBS_PRUNED_KEY);
    return v ? Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0)) : 1;
  }

  /** Deletes `ids` and records `below` in ONE batch (a kill redoes the range: deleting is idempotent). */
  async prune(ids: Iterable<Uint8Array>, below: number): Promise<void> {
    const mark = new Uint8Array(8);
    new DataView(mark.buffer).setBigUint64(0, BigInt(below));
    const ops: BatchOp[] = [...ids].map((id) => ({ type: "del" as const, key: bucketKey(Bucket.blob, id) }));
    ops.push({ type: "put", key: BLOBS_PRUNED_KEY, value: mark });
    await writeBatch(this.db, ops, "blob store", this.onFault);
  }
}

const BLOBS_PRUNED_KEY = bucketKey(Bucket.meta, new TextEncoder().encode("blobs-pruned"));
