/**
 * Bounded history (docs/decisions/0010-bounded-history.md): keeps the last
 * `keep` blocks with their commits, receipts and transaction-index entries
 * and deletes older ones in the background, in batches of at most
 * `batchHeights` heights, each one crash-safe batch (ChainStore.prune). It
 * runs after a commit, never inside it: a commit only schedules it.
 *
 * The floor never passes what the node itself still reads: the last
 * checkpoint's block (pouw_getCheckpoint, the anchor relayers), and a window
 * of at least `minRetained(params)` blocks (the block after a pending
 * proof's submission gives its sampling randomness; downtime and epochs look
 * back that far).
 */
import type { BlobStore } from "../db/blobs.ts";
import type { Params } from "../types/params.ts";
import { archivedProofsEndedFrom } from "../state/job-archive.ts";
import { pruneProofBlobs } from "./blob-pruning.ts";
import type { Blockchain } from "./blockchain.ts";

/** How much history a node keeps: the last N blocks, or everything. */
export type Pruning = { keep: number } | "archive";

/** A validator's default: the last 100,000 blocks. */
export const DEFAULT_PRUNING_KEEP = 100_000;

/** The fewest blocks a pruned node keeps, whatever it was asked: what its own work reads back. */
export function minRetained(params: Params): number {
  return Math.max(params.epochLength, params.signedBlocksWindow, params.attestationDeadline + params.challengeWindow) + 2;
}

/** Parses `--pruning` / config `pruning`: "archive" or a whole number of blocks ≥ 1. */
export function parsePruning(v: unknown): Pruning | null {
  if (v === "archive") return "archive";
  const n = typeof v === "number" ? v : typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? { keep: n } : null;
}

export interface PrunerOptions {
  keep: number;
  /** Most heights deleted per batch (default 256). */
  batchHeights?: number;
  /** Where proofs' blobs are: those of proofs decided below the floor go too (blob-pruning.ts). */
  blobs?: BlobStore;
  /** Told after each batch (the new floor). */
  onPruned?: (floor: number) => void;
  /** Told when a batch fails (the next commit tries again). */
  onError?: (err: unknown) => void;
}

export class Pruner {
  private readonly chain: Blockchain;
  readonly keep: number;
  private readonly batchHeights: number;
  private readonly opts: PrunerOptions;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;

  constructor(chain: Blockchain, opts: PrunerOptions) {
    this.chain = chain;
    this.keep = Math.max(opts.keep, minRetained(chain.params));
    this.batchHeights = opts.batchHeights ?? 256;
    this.opts = opts;
  }

  /** Prunes after every commit (and once now). */
  start(): void {
    this.unsubscribe = this.chain.onCommit(() => this.schedule());
    this.schedule();
  }

  /**
   * The floor this head allows: head − keep + 1, but never above the last
   * checkpoint's block (keep ≥ an epoch already holds it; the clamp keeps the
   * rule if minRetained ever changes).
   */
  target(): number {
    const head = this.chain.head.header.height;
    const last = this.chain.world.checkpoints.at(-1);
    let t = head - this.keep + 1;
    if (last) t = Math.min(t, last.height);
    return Math.max(1, t);
  }

  /** Starts a pruning run unless one is going (then it runs once more when done). */
  schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.schedule();
      }
    });
  }

  /** Waits for the run in progress (tests; close). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    const store = this.chain.store;
    try {
      while (!this.stopped) {
        const target = this.target();
        if (store.floor >= target) return;
        await store.prune(Math.min(target, store.floor + this.batchHeights));
        if (this.opts.blobs) await pruneProofBlobs(this.chain.world.proofs, this.opts.blobs, store.floor, (h) => archivedProofsEndedFrom(store.db, h));
        this.opts.onPruned?.(store.floor);
        // Let commits, sync and RPC in between batches.
        await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /** Stops after the batch in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.idle();
  }
}
