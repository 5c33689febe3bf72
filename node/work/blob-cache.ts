/**
 * Blobs a block's execution needs, held in memory so the (synchronous) state
 * transition can read them: a challenge's start checkpoint. Fetched from the
 * local blob store or from peers when a challenge enters the mempool and
 * before a block carrying one is verified.
 */
import { sha256 } from "../crypto/hash.ts";
import type { BlobStore } from "../db/blobs.ts";
import { TX_TYPES, type SignedTransactionT } from "../types/transaction.ts";
import { toHex } from "../util/hex.ts";

const MAX_CACHED = 32;

/** The start-checkpoint hashes of the challenges among `txs`. */
export function challengeStarts(txs: readonly SignedTransactionT[]): Uint8Array[] {
  return txs.filter((t) => TX_TYPES[t.tx.body.selector] === "ChallengeProof").map((t) => (t.tx.body.value as { startHash: Uint8Array }).startHash);
}

export class BlobCache {
  private readonly store: BlobStore;
  private readonly remote: ((id: Uint8Array) => Promise<Uint8Array | undefined>) | null;
  private readonly items = new Map<string, Uint8Array>();

  constructor(store: BlobStore, remote: ((id: Uint8Array) => Promise<Uint8Array | undefined>) | null) {
    this.store = store;
    this.remote = remote;
  }

  get(id: Uint8Array): Uint8Array | undefined {
    return this.items.get(toHex(id));
  }

  /** Loads the blobs (by SHA-256) into memory: from the store, else from peers (then stored). */
  async prefetch(ids: readonly Uint8Array[]): Promise<void> {
    for (const id of ids) {
      const k = toHex(id);
      if (this.items.has(k)) continue;
      let bytes = await this.store.get(id);
      if (!bytes && this.remote) {
        bytes = await this.remote(id);
        if (bytes) await this.store.put(bytes);
      }
      if (!bytes || toHex(sha256(bytes)) !== k) continue;
      if (this.items.size >= MAX_CACHED) this.items.delete(this.items.keys().next().value as string);
      this.items.set(k, bytes);
    }
  }
}
