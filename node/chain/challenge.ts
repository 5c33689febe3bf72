/**
 * `ChallengeProof` (DESIGN §8, step 5): during a proof's attestation or
 * challenge window anyone may name one segment with its start and end
 * checkpoint hashes and their branches in the proof's checkpoint tree. The
 * chain checks both against the commitment, takes the start checkpoint's
 * bytes from the blob (its hash must match), re-executes the segment and
 * compares. A mismatch (or a committed start checkpoint that is not a
 * checkpoint of that step) is fraud: the worker's bond goes 50 % to the
 * challenger, 40 % to the requester, 10 % burned; every validator that
 * attested the proof valid is slashed `slashFractionBadAttestationBps`; the
 * job opens again. A challenge whose inputs do not match the commitment, or
 * whose segment re-executes to the committed hash, fails and harms nobody
 * (the challenger pays its fee).
 */
import type { ValueOf } from "@chainsafe/ssz";
import { WorkError } from "../pouw/errors.ts";
import { parameterCount } from "../pouw/kernel/mlp.ts";
import { fastKernel } from "../pouw/kernel/select.ts";
import { verifyBranch } from "../pouw/merkle.ts";
import { loadDataset } from "../pouw/registry.ts";
import { checkpointHash, checkpointStep, decodeCheckpoint, encodeCheckpoint, Trainer } from "../pouw/training.ts";
import { ProofStatus } from "../state/schemas.ts";
import { addrKey, idKey, type StateOverlay } from "../state/world.ts";
import type { ChallengeProof } from "../types/transaction.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import type { BlockContext } from "./context.ts";
import { ExecErrorCode, type ExecErrorCode as ExecCode } from "./errors.ts";
import { slashProof } from "./jobs.ts";
import { slash } from "./staking-block.ts";

export type ChallengeBody = ValueOf<typeof ChallengeProof>;

export function applyChallengeProof(env: TxEnvelope, body: ChallengeBody, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const pi = o.proofIndexOf(idKey(body.proofId));
  if (pi === undefined) return ExecErrorCode.PROOF_NOT_FOUND;
  const p = o.proofs.get(pi)!;
  const job = o.jobs.get(p.job)!;
  const open = p.status === ProofStatus.Pending || (p.status === ProofStatus.Accepted && ctx.height < p.decidedAt + ctx.params.challengeWindow);
  if (!open) return ExecErrorCode.CHALLENGE_WINDOW_CLOSED;
  const c = p.commitment;
  const s = body.segment;
  if (s + 1 >= c.count) return ExecErrorCode.CHALLENGE_INVALID;
  const from = checkpointStep(job.spec, s);
  const to = checkpointStep(job.spec, s + 1);
  if (body.steps !== to - from) return ExecErrorCode.CHALLENGE_INVALID;
  if (!verifyBranch(c.checkpointsRoot, body.startHash, s, c.count, body.startBranch)) return ExecErrorCode.CHALLENGE_INVALID;
  if (!verifyBranch(c.checkpointsRoot, body.endHash, s + 1, c.count, body.endBranch)) return ExecErrorCode.CHALLENGE_INVALID;
  const blob = ctx.blob?.(body.startHash);
  // checkTx refuses a challenge whose blob this node lacks, so here it is present and matches its hash.
  if (!blob || !Buffer.from(checkpointHash(blob)).equals(Buffer.from(body.startHash))) return ExecErrorCode.CHALLENGE_INVALID;
  const info = ctx.datasets.get(idKey(job.spec.datasetId));
  const dataset = info ? loadDataset(info) : null;
  if (!dataset) return ExecErrorCode.UNKNOWN_DATASET;
  // The start checkpoint is in the worker's commitment: if it does not decode, or is not at the segment's first step,
  // the worker committed to something training never produces, and that is fraud as much as a wrong end is.
  let honest = false;
  try {
    const state = decodeCheckpoint(blob, parameterCount(job.spec.layers));
    if (state.step === from) {
      const r = new Trainer(job.spec, job.id, dataset, fastKernel(job.spec.layers, job.spec.batchSize)).run(state, to);
      honest = r.finite && Buffer.from(checkpointHash(encodeCheckpoint(state))).equals(Buffer.from(body.endHash));
    }
  } catch (e) {
    if (!(e instanceof WorkError)) throw e;
  }
  if (honest) return ExecErrorCode.CHALLENGE_FAILED;
  // Fraud: the committed checkpoints are not what training gives.
  const attesters = [...p.attesters];
  slashProof(o, pi, ProofStatus.Fraudulent, ctx.height, env.sender);
  for (const a of attesters) {
    const vi = o.validatorIndexOf(addrKey(a));
    if (vi !== undefined) slash(o, vi, ctx.params.slashFractionBadAttestationBps, p.submittedAt);
  }
  return null;
}
