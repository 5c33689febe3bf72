/**
 * Content-addressed blobs (training checkpoints, DESIGN §8): stored under
 * their SHA-256 in the `blob` bucket. Whoever hands a blob over names it by
 * hash, so a blob is accepted only when its bytes hash to that name.
 */
import { sha256 } from "../crypto/hash.ts";
import { Bucket, bucketKey, getBytes, type Level } from "./database.ts";

/** Largest blob accepted (a checkpoint of 600,000 parameters plus momentum is 4.8 MB). */
export const MAX_BLOB_BYTES = 6 * 1024 * 1024;

export class BlobStore {
  private readonly db: Level;

  constructor(db: Level) {
    this.db = db;
  }

  /**
   * Stores `bytes` under `id` (default: its SHA-256) and returns the id.
   * Callers check any other id against the bytes first (a manifest is stored
   * under its Merkle root).
   */
  async put(bytes: Uint8Array, id: Uint8Array = sha256(bytes)): Promise<Uint8Array> {
    if (bytes.length > MAX_BLOB_BYTES) throw new RangeError(`blob is ${bytes.length} bytes, limit ${MAX_BLOB_BYTES}`);
    await this.db.put(bucketKey(Bucket.blob, id), bytes);
    return id;
  }

  async get(id: Uint8Array): Promise<Uint8Array | undefined> {
    return getBytes(this.db, Bucket.blob, id);
  }

  async has(id: Uint8Array): Promise<boolean> {
    return (await this.get(id)) !== undefined;
  }
}
