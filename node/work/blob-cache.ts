/**
 * Blobs a block's execution needs, held in memory so the (synchronous) state
 * transition can read them: a challenge's start checkpoint. Fetched from the
 * local blob store or from peers (then stored).
 *
 * Whoever needs blobs for a block or a batch of blocks (sync importing a
 * range, consensus verifying a proposal, the proposer building from the
 * mempool) takes a lease with `acquire`/`forBlocks`: the leased entries are
 * pinned (reference-counted) and never evicted until every lease on them is
 * released, whatever else is fetched meanwhile. Unpinned entries (mempool
 * prefetches, released leases) are kept in LRU order and evicted once the
 * cache is over its budget (count and bytes, pinned ones included), so
 * pins can push it over budget but nothing unpinned stays there.
 */
import { sha256 } from "../crypto/hash.ts";
import type { BlobStore } from "../db/blobs.ts";
import type { BlockT } from "../types/block.ts";
import { TX_TYPES, type SignedTransactionT } from "../types/transaction.ts";
import { fromHex, toHex } from "../util/hex.ts";

export interface BlobCacheBudget {
  /** Most entries held (pinned ones count; only unpinned ones are evicted). */
  maxEntries: number;
  /** Most bytes held, likewise. */
  maxBytes: number;
}

/** Unpinned: a few dozen MNIST-sized checkpoints (about 0.8 MB each); what a block in flight needs is pinned on top. */
export const DEFAULT_BLOB_CACHE_BUDGET: BlobCacheBudget = { maxEntries: 32, maxBytes: 64 * 1024 * 1024 };

/** Blobs loaded at once by `acquire`. */
const LOAD_CONCURRENCY = 4;

/** Blobs pinned for one block or batch; `missing` are those neither the store nor any peer had. */
export interface BlobLease {
  readonly missing: readonly Uint8Array[];
  /** Unpins the blobs (idempotent); they become evictable once no other lease holds them. */
  release(): void;
}

/** The start-checkpoint hashes of the challenges among `txs`. */
export function challengeStarts(txs: readonly SignedTransactionT[]): Uint8Array[] {
  return txs.filter((t) => TX_TYPES[t.tx.body.selector] === "ChallengeProof").map((t) => (t.tx.body.value as { startHash: Uint8Array }).startHash);
}

interface Entry {
  bytes: Uint8Array;
  pins: number;
}

export class BlobCache {
  private readonly store: BlobStore;
  private readonly remote: ((id: Uint8Array) => Promise<Uint8Array | undefined>) | null;
  private readonly budget: BlobCacheBudget;
  private readonly entries = new Map<string, Entry>();
  /** Unpinned entries, least recently used first. */
  private readonly lru = new Set<string>();
  private bytes = 0;
  /** Loads under way, so concurrent askers share one fetch. */
  private readonly loading = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(store: BlobStore, remote: ((id: Uint8Array) => Promise<Uint8Array | undefined>) | null, budget: Partial<BlobCacheBudget> = {}) {
    this.store = store;
    this.remote = remote;
    this.budget = { ...DEFAULT_BLOB_CACHE_BUDGET, ...budget };
  }

  get(id: Uint8Array): Uint8Array | undefined {
    const k = toHex(id);
    const e = this.entries.get(k);
    if (e && e.pins === 0) {
      this.lru.delete(k);
      this.lru.add(k);
    }
    return e?.bytes;
  }

  /** Entries held, how many are pinned, and their bytes (for tests and metrics). */
  stats(): { entries: number; pinned: number; bytes: number } {
    return { entries: this.entries.size, pinned: this.entries.size - this.lru.size, bytes: this.bytes };
  }

  /** Pins the start checkpoints of the challenges in `blocks` until the lease is released. */
  forBlocks(blocks: readonly BlockT[]): Promise<BlobLease> {
    return this.acquire(blocks.flatMap((b) => challengeStarts(b.body.txs)));
  }

  /**
   * Loads the blobs (by SHA-256) and pins them until the returned lease is
   * released. Those already held are pinned at once, before anything is
   * awaited, so nothing fetched meanwhile can evict them.
   */
  async acquire(ids: readonly Uint8Array[]): Promise<BlobLease> {
    const keys = [...new Set(ids.map(toHex))];
    const pinned: string[] = [];
    const wanted: string[] = [];
    for (const k of keys) (this.pin(k) ? pinned : wanted).push(k);
    const missing: Uint8Array[] = [];
    // A few at a time: peers cap the streams a protocol may have open at once.
    let next = 0;
    const worker = async () => {
      while (next < wanted.length) {
        const k = wanted[next++]!;
        const bytes = await this.load(k);
        if (this.pin(k)) pinned.push(k);
        else if (bytes) {
          this.insert(k, bytes, 1);
          pinned.push(k);
        } else missing.push(fromHex(k));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, wanted.length) }, worker));
    this.evict();
    let released = false;
    return {
      missing,
      release: () => {
        if (released) return;
        released = true;
        for (const k of pinned) this.unpin(k);
        this.evict();
      },
    };
  }

  /** Loads the blobs into memory unpinned (a challenge entering the mempool): evictable under the budget. */
  async prefetch(ids: readonly Uint8Array[]): Promise<void> {
    for (const id of ids) {
      const k = toHex(id);
      if (this.entries.has(k)) continue;
      const bytes = await this.load(k);
      if (bytes && !this.entries.has(k)) this.insert(k, bytes, 0);
      this.evict();
    }
  }

  /** From the store, else from peers (then stored); undefined when nobody has bytes that hash to `k`. */
  private load(k: string): Promise<Uint8Array | undefined> {
    let p = this.loading.get(k);
    if (!p) {
      p = (async () => {
        const id = fromHex(k);
        let bytes = await this.store.get(id);
        if (!bytes && this.remote) {
          bytes = await this.remote(id);
          if (bytes && toHex(sha256(bytes)) === k) await this.store.put(bytes);
        }
        return bytes && toHex(sha256(bytes)) === k ? bytes : undefined;
      })().finally(() => this.loading.delete(k));
      this.loading.set(k, p);
    }
    return p;
  }

  private pin(k: string): boolean {
    const e = this.entries.get(k);
    if (!e) return false;
    if (e.pins++ === 0) this.lru.delete(k);
    return true;
  }

  private unpin(k: string): void {
    const e = this.entries.get(k);
    if (!e || e.pins === 0) return;
    if (--e.pins === 0) this.lru.add(k);
  }

  private insert(k: string, bytes: Uint8Array, pins: number): void {
    this.entries.set(k, { bytes, pins });
    this.bytes += bytes.length;
    if (pins === 0) this.lru.add(k);
  }

  /** Drops least recently used unpinned entries while the cache is over budget. */
  private evict(): void {
    for (const k of this.lru) {
      if (this.entries.size <= this.budget.maxEntries && this.bytes <= this.budget.maxBytes) return;
      this.lru.delete(k);
      this.bytes -= this.entries.get(k)!.bytes.length;
      this.entries.delete(k);
    }
  }
}
