/**
 * Proof of learning (DESIGN §8, after Jia et al. 2021): the prover trains a
 * job and keeps every checkpoint; the commitment names the Merkle root of
 * the checkpoint hashes, their count, the final weights' hash and the
 * claimed metric. Blobs: each checkpoint under its SHA-256, and the
 * manifest (the checkpoint hashes in order) under its Merkle root.
 *
 * The verifier re-executes Q sampled segments from their start checkpoints,
 * checks checkpoint 0 is the job's initial state, and evaluates the final
 * weights on the validation split: valid only if every check passes and the
 * real metric is at least as good as the claim, which meets the job's
 * target. Its cost is Q·k steps plus one evaluation, against the prover's n.
 */
import { sha256 } from "../crypto/hash.ts";
import type { JobSpecT } from "../types/transaction.ts";
import { toHex } from "../util/hex.ts";
import type { Dataset } from "./datasets.ts";
import type { TrainingKernel } from "./kernel/mlp.ts";
import { fastKernel } from "./kernel/select.ts";
import { merkleRoot } from "./merkle.ts";
import { HashStream, u32le } from "./random.ts";
import { bitsToF32, checkpointCount, checkpointHash, checkpointStep, decodeCheckpoint, encodeCheckpoint, f32ToBits, initialState, Trainer, trainWithCheckpoints, weightsHash } from "./training.ts";

export interface Commitment {
  checkpointsRoot: Uint8Array;
  count: number;
  finalWeightsHash: Uint8Array;
  claimedMetric: number;
}

export interface ProverOutput {
  /** False when training went non-finite: there is nothing to prove. */
  finite: boolean;
  commitment: Commitment;
  /** Checkpoint blobs in order; `hashes[i]` is SHA-256 of `blobs[i]`. */
  blobs: Uint8Array[];
  hashes: Uint8Array[];
  /** The manifest blob (the hashes concatenated), addressed by `commitment.checkpointsRoot`. */
  manifest: Uint8Array;
  accuracyBps: number;
  loss: number;
}

/** The metric a commitment claims: accuracy in basis points, or the loss's float32 bits. */
export function metricOf(spec: Pick<JobSpecT, "targetMetric">, ev: { accuracyBps: number; loss: number }): number {
  return spec.targetMetric === 0 ? ev.accuracyBps : f32ToBits(ev.loss);
}

export function encodeManifest(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * hashes.length);
  hashes.forEach((h, i) => out.set(h, 32 * i));
  return out;
}

/** The checkpoint hashes of a manifest blob, or null when it is not one for `root`. */
export function decodeManifest(bytes: Uint8Array, root: Uint8Array): Uint8Array[] | null {
  if (bytes.length === 0 || bytes.length % 32 !== 0) return null;
  const hashes = Array.from({ length: bytes.length / 32 }, (_, i) => bytes.slice(32 * i, 32 * i + 32));
  return Buffer.from(merkleRoot(hashes)).equals(Buffer.from(root)) ? hashes : null;
}

/** True when `bytes` may be stored under `id`: its SHA-256, or a manifest whose Merkle root is `id`. */
export function blobMatches(id: Uint8Array, bytes: Uint8Array): boolean {
  return Buffer.from(sha256(bytes)).equals(Buffer.from(id)) || decodeManifest(bytes, id) !== null;
}

export function prove(
  spec: JobSpecT,
  jobId: Uint8Array,
  dataset: Dataset,
  opts: { kernel?: TrainingKernel; onStep?: (step: number, loss: number) => void } = {},
): ProverOutput {
  const trainer = new Trainer(spec, jobId, dataset, opts.kernel ?? fastKernel(spec.layers, spec.batchSize));
  const state = initialState(spec, jobId);
  const blobs: Uint8Array[] = [];
  const r = trainWithCheckpoints(trainer, state, (_, blob) => blobs.push(blob), opts.onStep);
  const hashes = blobs.map(checkpointHash);
  const ev = trainer.evaluate(state.params);
  return {
    finite: r.finite && ev.finite,
    commitment: { checkpointsRoot: merkleRoot(hashes), count: hashes.length, finalWeightsHash: weightsHash(state.params), claimedMetric: metricOf(spec, ev) },
    blobs,
    hashes,
    manifest: encodeManifest(hashes),
    accuracyBps: ev.accuracyBps,
    loss: ev.loss,
  };
}

/**
 * The segments a proof's verifiers re-execute: `q` distinct indices in
 * [0, segments) drawn from (randomness, proofId), ascending; all of them
 * when there are no more than `q`.
 */
export function sampleSegments(randomness: Uint8Array, proofId: Uint8Array, segments: number, q: number): number[] {
  if (segments <= q) return Array.from({ length: segments }, (_, i) => i);
  const rng = new HashStream("pouw/sample/v1", randomness, proofId, u32le(segments));
  const picked = new Set<number>();
  while (picked.size < q) picked.add(rng.below(segments));
  return [...picked].sort((a, b) => a - b);
}

export interface VerifyInput {
  spec: JobSpecT;
  jobId: Uint8Array;
  proofId: Uint8Array;
  commitment: Commitment;
  dataset: Dataset;
  /** The hash of the block after the one that included the proof. */
  randomness: Uint8Array;
  sampled: number;
  /** A blob by id (SHA-256, or Merkle root for the manifest); undefined when nobody serves it. */
  getBlob: (id: Uint8Array) => Promise<Uint8Array | undefined>;
  kernel?: TrainingKernel;
}

export interface VerifyResult {
  valid: boolean;
  /** Why not, for logs; "withheld" when blobs could not be fetched (no attestation then: the deadline decides). */
  reason: string;
  segments: number[];
  stepsRun: number;
}

export async function verifyProof(v: VerifyInput): Promise<VerifyResult> {
  const { spec, commitment: c } = v;
  const count = checkpointCount(spec);
  const fail = (reason: string, segments: number[] = [], stepsRun = 0): VerifyResult => ({ valid: false, reason, segments, stepsRun });
  if (c.count !== count) return fail(`commitment has ${c.count} checkpoints, the job ${count}`);
  const manifestBytes = await v.getBlob(c.checkpointsRoot);
  if (!manifestBytes) return fail("withheld");
  const hashes = decodeManifest(manifestBytes, c.checkpointsRoot);
  if (!hashes || hashes.length !== count) return fail("manifest does not match the checkpoints root");
  const start = initialState(spec, v.jobId);
  if (!Buffer.from(checkpointHash(encodeCheckpoint(start))).equals(Buffer.from(hashes[0]!))) return fail("checkpoint 0 is not the job's initial state");
  const trainer = new Trainer(spec, v.jobId, v.dataset, v.kernel ?? fastKernel(spec.layers, spec.batchSize));
  const segments = sampleSegments(v.randomness, v.proofId, count - 1, v.sampled);
  let stepsRun = 0;
  for (const s of segments) {
    const blob = await v.getBlob(hashes[s]!);
    if (!blob) return fail("withheld", segments, stepsRun);
    let state;
    try {
      state = decodeCheckpoint(blob, start.params.length);
    } catch (e) {
      return fail(`checkpoint ${s}: ${(e as Error).message}`, segments, stepsRun);
    }
    if (state.step !== checkpointStep(spec, s)) return fail(`checkpoint ${s} is at step ${state.step}, expected ${checkpointStep(spec, s)}`, segments, stepsRun);
    const target = checkpointStep(spec, s + 1);
    stepsRun += target - state.step;
    const r = trainer.run(state, target);
    if (!r.finite) return fail(`segment ${s} does not stay finite`, segments, stepsRun);
    if (!Buffer.from(checkpointHash(encodeCheckpoint(state))).equals(Buffer.from(hashes[s + 1]!))) {
      return fail(`segment ${s} re-executed to ${toHex(checkpointHash(encodeCheckpoint(state))).slice(0, 18)}…, the proof says ${toHex(hashes[s + 1]!).slice(0, 18)}…`, segments, stepsRun);
    }
  }
  const finalBlob = await v.getBlob(hashes[count - 1]!);
  if (!finalBlob) return fail("withheld", segments, stepsRun);
  let final;
  try {
    final = decodeCheckpoint(finalBlob, start.params.length);
  } catch (e) {
    return fail(`final checkpoint: ${(e as Error).message}`, segments, stepsRun);
  }
  if (final.step !== spec.steps) return fail(`final checkpoint is at step ${final.step}, expected ${spec.steps}`, segments, stepsRun);
  if (!Buffer.from(weightsHash(final.params)).equals(Buffer.from(c.finalWeightsHash))) return fail("final weights do not match the commitment", segments, stepsRun);
  const ev = trainer.evaluate(final.params);
  if (!ev.finite) return fail("the final model's loss is not finite", segments, stepsRun);
  const real = metricOf(spec, ev);
  const atLeastClaim = spec.targetMetric === 0 ? real >= c.claimedMetric : ev.loss <= bitsToF32(c.claimedMetric);
  if (!atLeastClaim) return fail(`claimed ${describe(spec, c.claimedMetric)}, the final model has ${describe(spec, real)}`, segments, stepsRun);
  return { valid: true, reason: `segments ${segments.join(", ")} re-executed; final ${describe(spec, real)}`, segments, stepsRun };
}

function describe(spec: Pick<JobSpecT, "targetMetric">, metric: number): string {
  return spec.targetMetric === 0 ? `accuracy ${(metric / 100).toFixed(2)} %` : `loss ${bitsToF32(metric)}`;
}
