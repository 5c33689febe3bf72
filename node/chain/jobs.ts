/**
 * Useful-work transactions and their per-block bookkeeping (DESIGN §8):
 * `CreateJob` escrows a reward, `CancelJob` refunds it while nobody has
 * submitted, `SubmitProof` escrows the worker's bond against a proof-of-
 * learning commitment. At the end of each block: a proof that gathered no
 * acceptance by its attestation deadline is rejected and its bond slashed
 * (the job opens again); an accepted proof whose challenge window passed is
 * paid its reward, its bond and a share of the PoUW pool; an open job past
 * its deadline expires and is refunded; a job that ended
 * `jobRetentionBlocks` ago leaves the live state with its proofs (decision
 * 0010).
 */
import type { ValueOf } from "@chainsafe/ssz";
import { sha256 } from "../crypto/hash.ts";
import { WorkError } from "../pouw/errors.ts";
import { bitsToF32, checkpointCount, f32ToBits, targetFields, validateJobSpec } from "../pouw/training.ts";
import { parameterCount } from "../pouw/kernel/mlp.ts";
import { JobStatus, ProofStatus, isEndedJob, type JobT, type ProofT } from "../state/schemas.ts";
import { addrKey, idKey, type StateOverlay } from "../state/world.ts";
import type { Genesis } from "../types/genesis.ts";
import type { CancelJob, CreateJob, JobSpecT, SubmitProof } from "../types/transaction.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import { concatBytes, utf8 } from "../util/hex.ts";
import type { BlockContext } from "./context.ts";
import { jobWakesOf, noteJobWakes, touchedJobs } from "./job-index.ts";
import { ExecErrorCode, type ExecErrorCode as ExecCode } from "./errors.ts";

const BPS = 10_000n;
/** How a slashed worker bond is split: to the challenger (the PoUW pool when nobody challenged), the requester, burned. */
export const BOND_SPLIT_BPS = { challenger: 5000n, requester: 4000n, burned: 1000n } as const;

/** Jobs escrowed at genesis, with ids SHA-256("pouw/genesis-job/v1" ‖ chainId ‖ u32le(index)); throws on a spec the chain would refuse. */
export function genesisJobs(genesis: Genesis): JobT[] {
  return genesis.jobs.map((j, i) => {
    const ds = genesis.datasets.find((d) => d.name === j.dataset)!;
    const spec: JobSpecT = {
      datasetId: ds.id,
      layers: j.layers,
      learningRateBits: f32ToBits(j.learningRate),
      momentumBits: f32ToBits(j.momentum),
      batchSize: j.batchSize,
      steps: j.steps,
      segmentLength: j.segmentLength,
      seed: j.seed,
      ...targetFields(j.target),
      deadline: j.deadline,
    };
    try {
      validateJobSpec(spec, ds);
    } catch (e) {
      throw new TypeError(`invalid genesis: jobs[${i}]: ${(e as Error).message}`);
    }
    const index = new Uint8Array(4);
    new DataView(index.buffer).setUint32(0, i, true);
    const id = sha256(concatBytes(utf8("pouw/genesis-job/v1"), utf8(genesis.chainId), index));
    return { id, requester: j.requester, spec, reward: j.reward, workerBond: j.workerBond, status: JobStatus.Open, createdAt: 0, proof: 0, endedAt: 0 };
  });
}

export function proofIdOf(jobId: Uint8Array, txHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8("pouw/proof/v1"), jobId, txHash));
}

export function applyCreateJob(env: TxEnvelope, body: ValueOf<typeof CreateJob>, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const { spec } = body;
  const dataset = ctx.datasets.get(idKey(spec.datasetId));
  if (!dataset) return ExecErrorCode.UNKNOWN_DATASET;
  try {
    validateJobSpec(spec, dataset);
  } catch (e) {
    if (e instanceof WorkError) return ExecErrorCode.BAD_JOB_SPEC;
    throw e;
  }
  if (spec.deadline <= ctx.height) return ExecErrorCode.DEADLINE_PASSED;
  const sender = o.mutable(env.senderHex, env.sender);
  if (sender.balance < body.reward) return ExecErrorCode.INSUFFICIENT_BALANCE;
  sender.balance -= body.reward;
  o.totals.escrowed += body.reward;
  o.addJob({
    id: env.hash,
    requester: env.sender,
    spec,
    reward: body.reward,
    workerBond: body.workerBond,
    status: JobStatus.Open,
    createdAt: ctx.height,
    proof: 0,
    endedAt: 0,
  });
  return null;
}

export function applyCancelJob(env: TxEnvelope, body: ValueOf<typeof CancelJob>, o: StateOverlay, ctx: Pick<BlockContext, "height">): ExecCode | null {
  const ji = o.jobIndexOf(idKey(body.jobId));
  if (ji === undefined) return ExecErrorCode.JOB_NOT_FOUND;
  const job = o.jobs.get(ji)!;
  if (addrKey(job.requester) !== env.senderHex) return ExecErrorCode.NOT_REQUESTER;
  if (job.status !== JobStatus.Open) return ExecErrorCode.JOB_NOT_OPEN;
  refund(o, ji, JobStatus.Cancelled, ctx.height);
  return null;
}

export function applySubmitProof(env: TxEnvelope, body: ValueOf<typeof SubmitProof>, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const ji = o.jobIndexOf(idKey(body.jobId));
  if (ji === undefined) return ExecErrorCode.JOB_NOT_FOUND;
  const job = o.jobs.get(ji)!;
  const c = body.commitment;
  if (job.status !== JobStatus.Open) return ExecErrorCode.JOB_NOT_OPEN;
  if (ctx.height > job.spec.deadline) return ExecErrorCode.DEADLINE_PASSED;
  if (c.count !== checkpointCount(job.spec)) return ExecErrorCode.WRONG_CHECKPOINT_COUNT;
  if (c.bond < job.workerBond) return ExecErrorCode.BOND_TOO_LOW;
  if (!meetsTarget(job, c.claimedMetric)) return ExecErrorCode.METRIC_BELOW_TARGET;
  const sender = o.mutable(env.senderHex, env.sender);
  if (sender.balance < c.bond) return ExecErrorCode.INSUFFICIENT_BALANCE;
  sender.balance -= c.bond;
  o.totals.escrowed += c.bond;
  const pi = o.addProof({
    id: proofIdOf(job.id, env.hash),
    job: ji,
    worker: env.sender,
    commitment: c,
    submittedAt: ctx.height,
    status: ProofStatus.Pending,
    decidedAt: 0,
    validPower: 0n,
    invalidPower: 0n,
    attesters: [],
    dissenters: [],
  });
  const mj = o.jobs.mutable(ji);
  mj.status = JobStatus.Proving;
  mj.proof = pi + 1;
  return null;
}

/** Accuracy targets are basis points, at least the threshold; loss targets float32 bits, at most the threshold. */
export function meetsTarget(job: Pick<JobT, "spec">, metric: number): boolean {
  const { targetMetric, targetThreshold } = job.spec;
  if (targetMetric === 0) return metric >= targetThreshold && metric <= 10_000;
  const loss = bitsToF32(metric);
  return Number.isFinite(loss) && loss >= 0 && loss <= bitsToF32(targetThreshold);
}

/** The job's reward back to its requester; the job ends (cancelled or expired) at `height`. */
export function refund(o: StateOverlay, ji: number, status: number, height: number): void {
  const job = o.jobs.mutable(ji);
  o.mutable(addrKey(job.requester), job.requester).balance += job.reward;
  o.totals.escrowed -= job.reward;
  job.status = status;
  job.endedAt = height;
}

/**
 * Slashes a proof's bond: `challenger` of it to `to` (or to the PoUW pool),
 * `requester` to the job's requester, the rest burned. Reopens the job, or
 * expires and refunds it when its deadline has passed.
 */
export function slashProof(o: StateOverlay, pi: number, status: number, height: number, to: Uint8Array | null): void {
  const p = o.proofs.mutable(pi);
  p.status = status;
  p.decidedAt = height;
  const bond = p.commitment.bond;
  const job = o.jobs.get(p.job)!;
  const toChallenger = (bond * BOND_SPLIT_BPS.challenger) / BPS;
  const toRequester = (bond * BOND_SPLIT_BPS.requester) / BPS;
  const burned = bond - toChallenger - toRequester;
  o.totals.escrowed -= bond;
  if (to) o.mutable(addrKey(to), to).balance += toChallenger;
  else o.totals.pouwPool += toChallenger;
  o.mutable(addrKey(job.requester), job.requester).balance += toRequester;
  o.totals.burned += burned;
  o.totals.supply -= burned;
  const mj = o.jobs.mutable(p.job);
  mj.proof = 0;
  if (height > job.spec.deadline) refund(o, p.job, JobStatus.Expired, height);
  else mj.status = JobStatus.Open;
}

/** Verified work of a proof: steps × parameters (DESIGN §8). */
export function workOf(job: Pick<JobT, "spec">): bigint {
  return BigInt(job.spec.steps) * BigInt(parameterCount(job.spec.layers));
}

/**
 * End-of-block bookkeeping of jobs and proofs (see the file comment). Looks
 * only at the jobs due at this height (job-index.ts) and those the block
 * touched, in job order: the same changes as walking every job, in O(what
 * changes).
 */
export function endBlockJobs(o: StateOverlay, ctx: BlockContext): void {
  const { params, height } = ctx;
  const due = touchedJobs(o);
  for (const ji of jobWakesOf(o, params, height).at(height)) due.add(ji);
  const toPay: number[] = [];
  for (const ji of [...due].sort((a, b) => a - b)) settleJob(o, ji, ctx, toPay);
  payProofs(o, toPay, height);
  noteJobWakes(o, params, height);
}

/**
 * One job's bookkeeping: expire it, reject its overdue proof, queue its
 * accepted proof for payment, or, `jobRetentionBlocks` after it ended, take
 * it and its proofs out of the live state.
 */
export function settleJob(o: StateOverlay, ji: number, ctx: BlockContext, toPay: number[]): void {
  const { params, height } = ctx;
  const job = o.jobs.get(ji)!;
  if (isEndedJob(job)) {
    if (params.jobRetentionBlocks > 0 && height >= job.endedAt + params.jobRetentionBlocks) o.vacateJob(ji);
    return;
  }
  if (job.status === JobStatus.Open) {
    if (height > job.spec.deadline) refund(o, ji, JobStatus.Expired, height);
    return;
  }
  if (job.status !== JobStatus.Proving) return;
  const pi = job.proof - 1;
  const p = o.proofs.get(pi)!;
  if (p.status === ProofStatus.Pending && height >= p.submittedAt + params.attestationDeadline) slashProof(o, pi, ProofStatus.Rejected, height, null);
  else if (p.status === ProofStatus.Accepted && height >= p.decidedAt + params.challengeWindow) toPay.push(pi);
}

/**
 * Pays proofs whose window passed: the reward and the bond to the worker, and
 * the whole PoUW pool split among them by verified work (integer division;
 * the remainder stays in the pool).
 */
export function payProofs(o: StateOverlay, pis: number[], height: number): void {
  if (pis.length === 0) return;
  const work = pis.map((pi) => workOf(o.jobs.get(o.proofs.get(pi)!.job)!));
  const total = work.reduce((s, w) => s + w, 0n);
  const pool = o.totals.pouwPool;
  pis.forEach((pi, k) => {
    const p = o.proofs.mutable(pi);
    const job = o.jobs.mutable(p.job);
    const share = total > 0n ? (pool * work[k]!) / total : 0n;
    o.totals.pouwPool -= share;
    o.totals.escrowed -= job.reward + p.commitment.bond;
    o.mutable(addrKey(p.worker), p.worker).balance += job.reward + p.commitment.bond + share;
    p.status = ProofStatus.Paid;
    p.decidedAt = height;
    job.status = JobStatus.Completed;
    job.endedAt = height;
  });
}

export type { JobT, ProofT };
