/**
 * An index-addressed list of state records (validators, delegations, unbonding
 * entries): the committed records in memory, one database key per index, and
 * an overlay that collects one block's changes without touching them.
 */
import type { ContainerType } from "@chainsafe/ssz";
import { bucketKey, iterateBucket, u32Key, type BatchOp, type BucketId, type Level } from "../db/database.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyContainer = ContainerType<any>;

export interface TableSpec<T> {
  type: AnyContainer;
  bucket: BucketId;
  /** A copy that may be mutated without touching the original (copy byte arrays that get written in place). */
  copy: (t: T) => T;
}

/**
 * The table's records in key order. A `windowed` table (records leave from
 * the front: withdrawals, checkpoints) may start at any key; the others start
 * at 0. Keys must follow each other either way.
 */
export async function loadTable<T>(db: Level, spec: TableSpec<T>, count: number, what: string, opts: { windowed?: boolean } = {}): Promise<T[]> {
  const items: T[] = [];
  let first = 0;
  for await (const [id, v] of iterateBucket(db, spec.bucket)) {
    const i = new DataView(id.buffer, id.byteOffset, 4).getUint32(0);
    if (items.length === 0 && opts.windowed) first = i;
    if (i !== first + items.length) throw new Error(`state corrupt: ${what} ${first + items.length} missing`);
    items.push(spec.type.deserialize(v) as T);
  }
  if (items.length !== count) throw new Error(`state corrupt: ${items.length} ${what} records, meta says ${count}`);
  return items;
}

export function tablePutOp<T>(spec: TableSpec<T>, i: number, item: T): BatchOp {
  return { type: "put", key: bucketKey(spec.bucket, u32Key(i)), value: spec.type.serialize(item as never) };
}

export class TableOverlay<T> {
  private readonly dirty = new Map<number, T>();
  private readonly added: T[] = [];

  private readonly spec: TableSpec<T>;
  private readonly base: readonly T[];

  constructor(spec: TableSpec<T>, base: readonly T[]) {
    this.spec = spec;
    this.base = base;
  }

  get length(): number {
    return this.base.length + this.added.length;
  }

  /** The record as this block sees it. Do not mutate: use `mutable`. */
  get(i: number): T | undefined {
    if (i >= this.base.length) return this.added[i - this.base.length];
    return this.dirty.get(i) ?? this.base[i];
  }

  mutable(i: number): T {
    if (i >= this.base.length) {
      const t = this.added[i - this.base.length];
      if (t === undefined) throw new RangeError(`no record ${i}`);
      return t;
    }
    let d = this.dirty.get(i);
    if (!d) {
      const b = this.base[i];
      if (b === undefined) throw new RangeError(`no record ${i}`);
      this.dirty.set(i, (d = this.spec.copy(b)));
    }
    return d;
  }

  /** Puts `item` in place of record `i` (an emptied or refilled slot). */
  replace(i: number, item: T): void {
    if (i >= this.base.length) {
      if (i - this.base.length >= this.added.length) throw new RangeError(`no record ${i}`);
      this.added[i - this.base.length] = item;
    } else this.dirty.set(i, item);
  }

  push(item: T): number {
    this.added.push(item);
    return this.length - 1;
  }

  /** Records that leave from the front when the block is sealed (windowed tables; after every change of the block). */
  trimmed = 0;

  /** The first `n` records (of the list as this block leaves it) leave the live state. */
  trimFront(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.length) throw new RangeError(`cannot trim ${n} of ${this.length} records`);
    this.trimmed = n;
  }

  /** Every changed or added record with its index, added ones last in index order. */
  changes(): [number, T][] {
    const out: [number, T][] = [...this.dirty];
    for (let j = 0; j < this.added.length; j++) out.push([this.base.length + j, this.added[j]!]);
    return out;
  }

  get addedCount(): number {
    return this.added.length;
  }
}
