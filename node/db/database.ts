/**
 * The database: one abstract-level store (classic-level on disk, memory-level
 * in tests) split into buckets by a one-byte key prefix. Bucket numbers are
 * part of the on-disk format and are never reused.
 */
import type { AbstractBatchOperation, AbstractLevel } from "abstract-level";
import { ClassicLevel } from "classic-level";
import { MemoryLevel } from "memory-level";
import { PouwError } from "../util/errors.ts";
import { guardWrite, type StorageFaultHandler } from "../util/storage-fault.ts";

export type Level = AbstractLevel<Uint8Array, Uint8Array, Uint8Array>;
export type BatchOp = AbstractBatchOperation<Level, Uint8Array, Uint8Array>;

export const Bucket = {
  meta: 0,
  blockByHeight: 1,
  heightByHash: 2,
  commitByHeight: 3,
  receiptsByHeight: 4,
  txIndex: 5,
  account: 6,
  stateMeta: 7,
  privval: 8,
  wal: 9,
  blob: 10,
  /** Duplicate-vote evidence included in blocks: evidence hash → height. */
  evidence: 11,
  /** Staking state (index-addressed lists, u32 keys). */
  stakingValidator: 12,
  signingInfo: 13,
  delegation: 14,
  unbonding: 15,
  /** Useful-work state (index-addressed lists, u32 keys). */
  job: 16,
  proof: 17,
  /** Settlement state (index-addressed lists, u32 keys). */
  withdrawal: 18,
  checkpoint: 19,
  /** Anchor signatures gathered for epoch checkpoints: u64 epoch ‖ signer address → 65-byte signature. */
  anchorSignature: 20,
  /** Blobs taken over RPC that nothing references yet: blob id → u64 expiry (ms) ‖ u32 size ‖ u32 job index (node/work/blob-intake.ts). */
  blobStaged: 21,
  /** Accounts written since an account snapshot: u32 snapshot generation ‖ u32 account index → empty (node/state/account-snapshot.ts). */
  accountTouched: 22,
  /** Withdrawals and checkpoints that left the live state (decision 0010), outside the state root: same keys and values as in `withdrawal` and `checkpoint`. */
  withdrawalArchive: 23,
  checkpointArchive: 24,
  /** Jobs that left the live state with their proofs (decision 0010), outside the state root: job id → ArchivedJob. */
  jobArchive: 25,
  /** Proof id → job id, for proofs in `jobArchive`. */
  proofArchive: 26,
  /** u64 height the job ended ‖ job id → empty: archived jobs in the order they ended (blob pruning). */
  jobArchiveByEnd: 27,
} as const;
export type BucketId = (typeof Bucket)[keyof typeof Bucket];

export function bucketKey(bucket: BucketId, id: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + id.length);
  k[0] = bucket;
  k.set(id, 1);
  return k;
}

/** Big-endian u64 keys sort by number. */
export function heightKey(height: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(height));
  return b;
}

export function u32Key(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** The database is held by another process (LevelDB's LOCK file): a second node on the same home. */
export class DatabaseLockedError extends PouwError<"DB_LOCKED"> {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super("DB_LOCKED", `the database at ${path} is in use by another process (LevelDB lock)`, { path }, { cause });
    this.path = path;
  }
}

export async function openDb(path: string | null): Promise<Level> {
  const opts = { keyEncoding: "view", valueEncoding: "view" } as const;
  const db = (path === null ? new MemoryLevel<Uint8Array, Uint8Array>(opts) : new ClassicLevel<Uint8Array, Uint8Array>(path, opts)) as unknown as Level;
  try {
    await db.open();
  } catch (e) {
    if (path !== null && (e as { cause?: { code?: unknown } }).cause?.code === "LEVEL_LOCKED") throw new DatabaseLockedError(path, e);
    throw e;
  }
  return db;
}

/** The database's directory on disk; null in memory. */
export function dbLocation(db: Level): string | null {
  const loc = (db as { location?: unknown }).location;
  return typeof loc === "string" ? loc : null;
}

/**
 * Writes `ops` as one batch (atomic: all or none survive a crash), fsynced.
 * A disk that refuses it (full, read-only, I/O error) throws a StorageFault
 * naming `what`, after telling `onFault`.
 */
export async function writeBatch(db: Level, ops: BatchOp[], what: string, onFault?: StorageFaultHandler | null): Promise<void> {
  await guardWrite(what, dbLocation(db), () => db.batch(ops, { sync: true } as never), onFault);
}

/** Puts one value (`sync`: fsynced before it resolves); a disk refusal throws a StorageFault naming `what`, after telling `onFault`. */
export async function putBytes(db: Level, key: Uint8Array, value: Uint8Array, what: string, opts: { sync?: boolean; onFault?: StorageFaultHandler | null } = {}): Promise<void> {
  await guardWrite(what, dbLocation(db), () => (opts.sync ? db.put(key, value, { sync: true } as never) : db.put(key, value)), opts.onFault);
}

/** Reads a key, `undefined` when absent (abstract-level 3 returns undefined rather than throwing). */
export async function getBytes(db: Level, bucket: BucketId, id: Uint8Array): Promise<Uint8Array | undefined> {
  const v = await db.get(bucketKey(bucket, id));
  return v ?? undefined;
}

/** Every (id, value) of a bucket, in key order. */
export async function* iterateBucket(db: Level, bucket: BucketId): AsyncGenerator<[Uint8Array, Uint8Array]> {
  const gte = Uint8Array.of(bucket);
  const lt = Uint8Array.of(bucket + 1);
  for await (const [k, v] of db.iterator({ gte, lt })) yield [k.subarray(1), v];
}
