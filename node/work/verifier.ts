/**
 * A validator's part in useful work (DESIGN §8, step 3): for every pending
 * proof, once the block after its inclusion fixes the randomness, fetch the
 * manifest and the sampled segments' start checkpoints (from the local blob
 * store, else from peers), re-execute in the work thread, and sign and
 * publish a `WorkAttestation`. Blobs nobody serves mean no attestation: the
 * attestation deadline then rejects the proof.
 */
import type { Blockchain, CommittedBlock } from "../chain/blockchain.ts";
import { attestationSigningMessage } from "../chain/attestations.ts";
import { blockHash } from "../chain/block.ts";
import type { AccountKey } from "../crypto/keys.ts";
import type { BlobStore } from "../db/blobs.ts";
import { decodeManifest, sampleSegments, blobMatches, type VerifyResult } from "../pouw/proof.ts";
import { loadDataset } from "../pouw/registry.ts";
import type { WorkThread } from "../pouw/work-pool.ts";
import { ProofStatus, type ProofT } from "../state/schemas.ts";
import { addrKey, idKey } from "../state/world.ts";
import type { WorkAttestationT } from "../types/block.ts";
import { toHex } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";

export interface WorkVerifierDeps {
  chain: Blockchain;
  blobs: BlobStore;
  /** Fetches a blob from peers (checked against its id); absent for a node without networking. */
  fetchRemote?: (id: Uint8Array) => Promise<Uint8Array | undefined>;
  key: AccountKey;
  thread: WorkThread;
  logger: Logger;
  /** Hands a signed attestation to the node (pool and gossip). */
  publish: (a: WorkAttestationT) => void;
}

/** Blocks to wait before trying again when blobs could not be fetched. */
const RETRY_BLOCKS = 2;
/** Outcomes kept in `results` (the newest): a validator that runs for years verifies without end. */
export const RESULTS_KEPT = 1024;

export class WorkVerifier {
  private readonly d: WorkVerifierDeps;
  /** Proof id hex → height from which to try (again); absent: not seen yet. */
  private readonly retryAt = new Map<string, number>();
  private readonly done = new Set<string>();
  private running = false;
  private closed = false;
  /** The newest RESULTS_KEPT outcomes by proof id, for tests and status. */
  readonly results = new Map<string, VerifyResult>();

  constructor(d: WorkVerifierDeps) {
    this.d = d;
  }

  onCommit(_: CommittedBlock): void {
    if (!this.running && !this.closed) void this.scan();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.d.thread.close();
  }

  private async scan(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const next = this.nextProof();
        if (!next || this.closed) return;
        await this.verify(next);
      }
    } catch (e) {
      this.d.logger.error({ err: e }, "Proof verification failed");
    } finally {
      this.running = false;
    }
  }

  /** The oldest pending proof this validator has not judged and whose randomness is fixed. */
  private nextProof(): ProofT | null {
    const { chain, key } = this.d;
    const world = chain.world;
    const height = chain.head.header.height;
    if (!world.validators.some((v) => addrKey(v.address) === addrKey(key.address))) return null;
    // Only the open proofs are looked at (slots are reused, so index order is not age: sort by submission).
    const pending = [...world.openProofs].filter((i) => world.proofs[i]!.status === ProofStatus.Pending);
    pending.sort((a, b) => world.proofs[a]!.submittedAt - world.proofs[b]!.submittedAt || a - b);
    const live = new Set<string>();
    let next: ProofT | null = null;
    for (const i of pending) {
      const p = world.proofs[i]!;
      const id = idKey(p.id);
      live.add(id);
      if (next || this.done.has(id)) continue;
      if (height < p.submittedAt + 1 || height < (this.retryAt.get(id) ?? 0)) continue;
      if (p.attesters.some((a) => addrKey(a) === addrKey(key.address)) || p.dissenters.some((a) => addrKey(a) === addrKey(key.address))) {
        this.done.add(id);
        continue;
      }
      next = p;
    }
    // Forget proofs that are decided: what is kept stays as small as the open set.
    for (const id of this.done) if (!live.has(id)) this.done.delete(id);
    for (const id of this.retryAt.keys()) if (!live.has(id)) this.retryAt.delete(id);
    return next;
  }

  private async blob(id: Uint8Array): Promise<Uint8Array | undefined> {
    const local = await this.d.blobs.get(id);
    if (local) return local;
    const remote = await this.d.fetchRemote?.(id);
    if (remote && blobMatches(id, remote)) {
      await this.d.blobs.put(remote, id);
      return remote;
    }
    return undefined;
  }

  private async verify(p: ProofT): Promise<void> {
    const { chain, logger } = this.d;
    const id = idKey(p.id);
    const job = chain.world.jobs[p.job]!;
    const info = chain.ctx.datasets.get(idKey(job.spec.datasetId));
    if (!info || !loadDataset(info)) {
      logger.warn({ proof: toHex(p.id), dataset: info?.name ?? toHex(job.spec.datasetId) }, "Cannot verify a proof: this node does not hold its dataset");
      this.done.add(id);
      return;
    }
    const after = await chain.store.getBlock(p.submittedAt + 1);
    if (!after) return;
    const randomness = blockHash(after.header);
    const c = p.commitment;
    // Fetch what the sampled segments and the final evaluation need; the thread checks everything else.
    const blobs = new Map<string, Uint8Array>();
    const manifest = await this.blob(c.checkpointsRoot);
    const hashes = manifest ? decodeManifest(manifest, c.checkpointsRoot) : null;
    let missing = !manifest;
    if (manifest) blobs.set(toHex(c.checkpointsRoot), manifest);
    if (hashes && hashes.length === c.count) {
      const segments = sampleSegments(randomness, p.id, c.count - 1, chain.params.sampledSegments);
      for (const i of [...segments, c.count - 1]) {
        const b = await this.blob(hashes[i]!);
        if (b) blobs.set(toHex(hashes[i]!), b);
        else missing = true;
      }
    }
    if (missing) {
      this.retryAt.set(id, chain.head.header.height + RETRY_BLOCKS);
      logger.info({ proof: toHex(p.id) }, "Proof blobs not available yet; will retry");
      return;
    }
    const t0 = performance.now();
    const result = await this.d.thread.verify({ spec: job.spec, jobId: job.id, proofId: p.id, commitment: c, dataset: info, randomness, sampled: chain.params.sampledSegments, blobs });
    this.results.delete(id); // a retried proof moves to the newest end
    this.results.set(id, result);
    if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value!);
    if (result.reason === "withheld") {
      this.retryAt.set(id, chain.head.header.height + RETRY_BLOCKS);
      return;
    }
    this.done.add(id);
    const valid = result.valid;
    const signature = this.d.key.sign(attestationSigningMessage(chain.ctx.chainId, p.id, valid));
    logger.info({ proof: toHex(p.id).slice(0, 18), valid, reason: result.reason, steps: result.stepsRun, ms: Math.round(performance.now() - t0) }, valid ? "Attested a proof valid" : "Attested a proof INVALID");
    this.d.publish({ proofId: p.id, valid, validator: this.d.key.address, signature });
  }
}
