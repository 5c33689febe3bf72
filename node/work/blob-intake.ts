/**
 * What `pouw_putBlob` may store (issue 12: RPC can never hurt consensus).
 *
 * A blob is taken only when the chain references or expects it:
 * - referenced: the manifest of a proof being verified or challenged (its
 *   id is the proof's checkpoints root), or a checkpoint that manifest lists;
 * - expected: a checkpoint shaped for an open job (its header's parameter
 *   count is the job's model and its step is one of the job's checkpoint
 *   steps), or a manifest as long as an open job's checkpoint count. This is
 *   what a worker uploads BEFORE its SubmitProof is included (node/work/worker.ts);
 *   a proof whose SubmitProof is still in the mempool is for an open job, so
 *   it is covered too.
 *
 * Expected blobs are "staged": written to the blob store with a marker
 * (expiry, size, job), counted against a per-job quota (`perJobSets` full
 * proofs' worth of bytes) and a per-node quota (`quotaBytes`). After each
 * block the staged blobs a proof now references lose their marker and stay;
 * those still unreferenced at their expiry are deleted. Markers live in the
 * database, so a restart still expires what an earlier run staged.
 *
 * Refusals are coded: BLOB_NOT_EXPECTED, BLOB_QUOTA_EXCEEDED.
 */
import type { Blockchain } from "../chain/blockchain.ts";
import { sha256 } from "../crypto/hash.ts";
import type { BlobStore } from "../db/blobs.ts";
import { parameterCount } from "../pouw/kernel/mlp.ts";
import { blobMatches, decodeManifest } from "../pouw/proof.ts";
import { checkpointBytes, checkpointCount, checkpointHeader } from "../pouw/training.ts";
import { JobStatus, ProofStatus, type JobT } from "../state/schemas.ts";
import { PouwError } from "../util/errors.ts";
import { bytesEqual, fromHex, toHex } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";

export const BlobIntakeCode = {
  /** No open job expects these bytes and no live proof references them. */
  BLOB_NOT_EXPECTED: "BLOB_NOT_EXPECTED",
  /** Staging the blob would exceed the node's (or the job's) quota of unreferenced bytes. */
  BLOB_QUOTA_EXCEEDED: "BLOB_QUOTA_EXCEEDED",
} as const;
export type BlobIntakeCode = (typeof BlobIntakeCode)[keyof typeof BlobIntakeCode];

export class BlobIntakeError extends PouwError<BlobIntakeCode> {}

export interface BlobIntakeOptions {
  /** Most bytes of unreferenced (staged) blobs held at once. */
  quotaBytes: number;
  /** An unreferenced blob is deleted this long after it was stored. */
  ttlMs: number;
  /** One job may have this many full proofs' worth of unreferenced bytes staged (a worker's retry, a rival worker). */
  perJobSets: number;
}

export const DEFAULT_BLOB_INTAKE: BlobIntakeOptions = {
  // The devnet demo job's proof (31 checkpoints of a 101,770-parameter model) is 25 MB.
  quotaBytes: 256 * 1024 * 1024,
  ttlMs: 10 * 60_000,
  perJobSets: 2,
};

export type IntakeOutcome = "referenced" | "staged" | "present";

interface Staged {
  id: Uint8Array;
  size: number;
  expiresAt: number;
  job: number;
}

/** Jobs by the blob shapes they expect, rebuilt when the head moves. */
interface JobIndex {
  height: number;
  /** Proof checkpoints root → job index, for jobs whose proof is pending or accepted. */
  proving: Map<string, number>;
  /** Parameter count → jobs (open or proving) with that model. */
  byParameters: Map<number, number[]>;
  /** Manifest length (32 × checkpoints) → open jobs. */
  byManifestBytes: Map<number, number[]>;
}

const MANIFEST_CACHE = 64;

export class BlobIntake {
  readonly opts: BlobIntakeOptions;
  private readonly chain: Blockchain;
  private readonly store: BlobStore;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly staged = new Map<string, Staged>();
  private readonly jobBytes = new Map<number, number>();
  private stagedBytes = 0;
  private index: JobIndex | null = null;
  /** Manifests by checkpoints root (immutable: a root names one manifest), most recent last. */
  private readonly manifests = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, Promise<IntakeOutcome>>();
  private loaded: Promise<void> | null = null;
  private sweeping: Promise<void> | null = null;
  private lastSweep = 0;
  private closed = false;
  private readonly offCommit: () => void;

  constructor(opts: Partial<BlobIntakeOptions>, m: { chain: Blockchain; store: BlobStore; now?: () => number; logger: Logger }) {
    this.opts = { ...DEFAULT_BLOB_INTAKE, ...opts };
    this.chain = m.chain;
    this.store = m.store;
    this.now = m.now ?? Date.now;
    this.logger = m.logger;
    // After each block: promote what a proof now references, expire the rest on time.
    this.offCommit = m.chain.onCommit(() => void this.sweep().catch((e: unknown) => this.logger.warn({ err: e }, "Blob intake sweep failed")));
  }

  /** Unreferenced bytes held, their count and the quota. */
  stats(): { stagedBytes: number; stagedBlobs: number; quotaBytes: number } {
    return { stagedBytes: this.stagedBytes, stagedBlobs: this.staged.size, quotaBytes: this.opts.quotaBytes };
  }

  /**
   * Stores `bytes` under `id` if the chain references or expects it; throws
   * BLOB_NOT_EXPECTED or BLOB_QUOTA_EXCEEDED otherwise. Callers have checked
   * that the bytes match the id (`blobMatches`).
   */
  async put(bytes: Uint8Array, id: Uint8Array): Promise<IntakeOutcome> {
    if (!blobMatches(id, bytes)) throw new RangeError("the bytes do not match the id");
    await this.load();
    const key = toHex(id);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = this.admit(bytes, id, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.offCommit();
    await this.sweeping?.catch(() => undefined);
    await Promise.allSettled(this.inFlight.values());
  }

  private async admit(bytes: Uint8Array, id: Uint8Array, key: string): Promise<IntakeOutcome> {
    const verdict = await this.classify(bytes, id, key);
    if (verdict.kind === "referenced") {
      if (this.staged.has(key)) await this.unstage(key);
      else if (!(await this.store.has(id))) await this.store.put(bytes, id);
      if (verdict.root === key) this.rememberManifest(key, bytes);
      return "referenced";
    }
    if (this.staged.has(key) || (await this.store.has(id))) return "present";
    let job = this.pickJob(verdict.jobs, bytes.length);
    if (job === null || this.stagedBytes + bytes.length > this.opts.quotaBytes) {
      // Blobs past their time may be holding the room: expire them now and look again.
      await this.sweep(true);
      job = this.pickJob(verdict.jobs, bytes.length);
    }
    if (job === null) {
      throw new BlobIntakeError(BlobIntakeCode.BLOB_QUOTA_EXCEEDED, `the job's quota of unreferenced blob bytes is used up (${this.opts.perJobSets} proofs' worth); retry after the staged blobs are referenced or expire`, {
        scope: "job",
      });
    }
    if (this.stagedBytes + bytes.length > this.opts.quotaBytes) {
      throw new BlobIntakeError(BlobIntakeCode.BLOB_QUOTA_EXCEEDED, `this node holds ${this.stagedBytes} bytes of unreferenced blobs, quota ${this.opts.quotaBytes}; retry after they are referenced or expire`, {
        scope: "node",
        stagedBytes: this.stagedBytes,
        quotaBytes: this.opts.quotaBytes,
      });
    }
    // Reserve before the write, so concurrent uploads cannot overshoot the quotas together.
    const s: Staged = { id, size: bytes.length, expiresAt: this.now() + this.opts.ttlMs, job };
    this.track(key, s);
    try {
      await this.store.putStaged(bytes, id, s.expiresAt, job);
    } catch (e) {
      this.untrack(key);
      throw e;
    }
    return "staged";
  }

  /** The open jobs (then proving ones) with room for `size` more staged bytes; the first that fits. */
  private pickJob(jobs: readonly number[], size: number): number | null {
    const world = this.chain.world;
    for (const j of jobs) {
      const job = world.jobs[j];
      if (!job) continue;
      const limit = this.opts.perJobSets * proofBytes(job);
      if ((this.jobBytes.get(j) ?? 0) + size <= limit) return j;
    }
    return null;
  }

  private async classify(bytes: Uint8Array, id: Uint8Array, key: string): Promise<{ kind: "referenced"; root: string } | { kind: "expected"; jobs: number[] }> {
    const idx = this.jobIndex();
    const world = this.chain.world;
    const isContentHash = bytesEqual(sha256(bytes), id);
    if (!isContentHash) {
      // A manifest, under a checkpoints root.
      if (idx.proving.has(key)) return { kind: "referenced", root: key };
      const jobs = idx.byManifestBytes.get(bytes.length) ?? [];
      if (jobs.length > 0) return { kind: "expected", jobs };
      throw notExpected("no open job has a proof of that many checkpoints and no pending proof has that checkpoints root");
    }
    const h = checkpointHeader(bytes);
    if (!h) throw notExpected("not a training checkpoint (and a manifest is uploaded under its checkpoints root)");
    const candidates = (idx.byParameters.get(h.parameters) ?? []).filter((j) => isCheckpointStep(world.jobs[j]!, h.step));
    const open: number[] = [];
    const proving: number[] = [];
    for (const j of candidates) {
      const job = world.jobs[j]!;
      if (job.status === JobStatus.Open) {
        open.push(j);
        continue;
      }
      const root = toHex(world.proofs[job.proof - 1]!.commitment.checkpointsRoot);
      const listed = await this.manifest(root);
      if (listed?.has(key)) return { kind: "referenced", root };
      // The proof's manifest is not here yet: the checkpoint may be one of its, so it is staged for that job.
      if (!listed) proving.push(j);
    }
    if (open.length + proving.length > 0) return { kind: "expected", jobs: [...open, ...proving] };
    throw notExpected(`no open job trains a ${h.parameters}-parameter model with a checkpoint at step ${h.step}, and no live proof lists this checkpoint`);
  }

  private jobIndex(): JobIndex {
    const height = this.chain.head.header.height;
    if (this.index?.height === height) return this.index;
    const world = this.chain.world;
    const idx: JobIndex = { height, proving: new Map(), byParameters: new Map(), byManifestBytes: new Map() };
    const add = (m: Map<number, number[]>, k: number, j: number) => {
      const l = m.get(k);
      if (l) l.push(j);
      else m.set(k, [j]);
    };
    world.jobs.forEach((job, j) => {
      const open = job.status === JobStatus.Open;
      const proof = job.proof > 0 ? world.proofs[job.proof - 1] : undefined;
      const live = job.status === JobStatus.Proving && proof !== undefined && (proof.status === ProofStatus.Pending || proof.status === ProofStatus.Accepted);
      if (!open && !live) return;
      if (live) idx.proving.set(toHex(proof!.commitment.checkpointsRoot), j);
      add(idx.byParameters, parameterCount(job.spec.layers), j);
      if (open) add(idx.byManifestBytes, 32 * checkpointCount(job.spec), j);
    });
    this.index = idx;
    return idx;
  }

  /** The checkpoint hashes a manifest lists, from the cache or the store; null when this node does not hold it. */
  private async manifest(root: string): Promise<Set<string> | null> {
    const hit = this.manifests.get(root);
    if (hit) return hit;
    const bytes = await this.store.get(fromHex(root));
    if (!bytes) return null;
    return this.rememberManifest(root, bytes);
  }

  private rememberManifest(root: string, bytes: Uint8Array): Set<string> | null {
    const hashes = decodeManifest(bytes, fromHex(root));
    if (!hashes) return null;
    const set = new Set(hashes.map(toHex));
    if (this.manifests.size >= MANIFEST_CACHE) this.manifests.delete(this.manifests.keys().next().value as string);
    this.manifests.set(root, set);
    return set;
  }

  private track(key: string, s: Staged): void {
    this.staged.set(key, s);
    this.stagedBytes += s.size;
    this.jobBytes.set(s.job, (this.jobBytes.get(s.job) ?? 0) + s.size);
  }

  private untrack(key: string): Staged | undefined {
    const s = this.staged.get(key);
    if (!s) return undefined;
    this.staged.delete(key);
    this.stagedBytes -= s.size;
    const left = (this.jobBytes.get(s.job) ?? 0) - s.size;
    if (left > 0) this.jobBytes.set(s.job, left);
    else this.jobBytes.delete(s.job);
    return s;
  }

  private async unstage(key: string): Promise<void> {
    const s = this.untrack(key);
    if (s) await this.store.unstage(s.id);
  }

  /** Loads the markers an earlier run left (once). */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      for await (const s of this.store.staged()) this.track(toHex(s.id), s);
      if (this.staged.size > 0) this.logger.info({ blobs: this.staged.size, bytes: this.stagedBytes }, "Unreferenced RPC blobs from an earlier run: they expire unless a proof references them");
    })();
    return this.loaded;
  }

  /**
   * Promotes the staged blobs a live or paid proof references and deletes the
   * ones past their expiry. At most once a second unless `force`d.
   */
  async sweep(force = false): Promise<void> {
    if (this.closed) return;
    if (this.sweeping) return this.sweeping;
    if (!force && this.now() - this.lastSweep < 1000) return;
    this.sweeping = (async () => {
      try {
        await this.load();
        this.lastSweep = this.now();
        if (this.staged.size === 0) return;
        const referenced = this.referencedRoots();
        const now = this.now();
        let expired = 0;
        let expiredBytes = 0;
        let promoted = 0;
        for (const [key, s] of [...this.staged]) {
          if (this.closed) return;
          if (await this.isReferenced(key, referenced)) {
            await this.unstage(key);
            promoted++;
          } else if (now >= s.expiresAt) {
            this.untrack(key);
            await this.store.dropStaged(s.id);
            expired++;
            expiredBytes += s.size;
          }
        }
        if (expired > 0) this.logger.info({ blobs: expired, bytes: expiredBytes }, "Deleted unreferenced RPC blobs past their expiry");
        if (promoted > 0) this.logger.debug({ blobs: promoted }, "Staged blobs now referenced by a proof");
      } finally {
        this.sweeping = null;
      }
    })();
    return this.sweeping;
  }

  /** Checkpoint roots of the proofs whose blobs are still needed: pending, accepted (challengeable) or just paid, for the staged blobs' jobs and every proving job. */
  private referencedRoots(): Set<string> {
    const world = this.chain.world;
    const roots = new Set(this.jobIndex().proving.keys());
    for (const s of this.staged.values()) {
      const job = world.jobs[s.job];
      const proof = job && job.proof > 0 ? world.proofs[job.proof - 1] : undefined;
      if (proof && (proof.status === ProofStatus.Pending || proof.status === ProofStatus.Accepted || proof.status === ProofStatus.Paid)) {
        roots.add(toHex(proof.commitment.checkpointsRoot));
      }
    }
    return roots;
  }

  private async isReferenced(key: string, roots: Set<string>): Promise<boolean> {
    if (roots.has(key)) return true;
    for (const root of roots) if ((await this.manifest(root))?.has(key)) return true;
    return false;
  }
}

function notExpected(why: string): BlobIntakeError {
  return new BlobIntakeError(BlobIntakeCode.BLOB_NOT_EXPECTED, `blob not expected: ${why}`);
}

function isCheckpointStep(job: JobT, step: number): boolean {
  const { steps, segmentLength } = job.spec;
  return step === steps || (step < steps && step % segmentLength === 0);
}

/** Bytes of one full proof of a job: every checkpoint and the manifest. */
function proofBytes(job: JobT): number {
  const n = checkpointCount(job.spec);
  return n * checkpointBytes(parameterCount(job.spec.layers)) + 32 * n;
}
