/**
 * The heights at which a job's end-of-block bookkeeping falls due (see
 * state/job-wakes.ts): built from the committed state, and which jobs a block
 * must look at — those due at its height and those it touched.
 */
import { JobStatus, ProofStatus, isEndedJob, isVacantProof, type JobT, type ProofT } from "../state/schemas.ts";
import { JobWakes } from "../state/job-wakes.ts";
import type { StateOverlay, WorldState } from "../state/world.ts";
import type { Params } from "../types/params.ts";

type Lookup = { proof(pi: number): ProofT | undefined };
type WakeParams = Pick<Params, "attestationDeadline" | "challengeWindow" | "jobRetentionBlocks">;

/** The first height at which the bookkeeping might act on `job`; null when it never will (a vacant slot; an ended job kept forever). */
export function wakeOf(job: JobT, look: Lookup, params: WakeParams): number | null {
  if (isEndedJob(job)) return params.jobRetentionBlocks > 0 ? job.endedAt + params.jobRetentionBlocks : null;
  if (job.status === JobStatus.Open) return job.spec.deadline + 1;
  if (job.status !== JobStatus.Proving) return null;
  const p = look.proof(job.proof - 1);
  if (!p) return null;
  if (p.status === ProofStatus.Pending) return p.submittedAt + params.attestationDeadline;
  if (p.status === ProofStatus.Accepted) return p.decidedAt + params.challengeWindow;
  return null;
}

/** The index of the committed state at `height` (every job due is due after it). O(jobs): once per load. */
export function buildJobWakes(world: WorldState, params: Params, height: number): JobWakes {
  const w = new JobWakes(params);
  const look = { proof: (pi: number) => world.proofs[pi] };
  world.jobs.forEach((job, ji) => {
    const at = wakeOf(job, look, params);
    if (at !== null) w.add(Math.max(at, height + 1), ji);
  });
  return w;
}

/** The base's index, built on first use (or again if it was computed with other params). */
export function jobWakesOf(o: StateOverlay, params: Params, height: number): JobWakes {
  const cur = o.base.jobWakes;
  if (cur && cur.builtWith(params)) return cur;
  return (o.base.jobWakes = buildJobWakes(o.base, params, height - 1));
}

/** Jobs this block changed, directly or through one of their proofs. */
export function touchedJobs(o: StateOverlay): Set<number> {
  const out = new Set<number>();
  for (const [ji] of o.jobs.changes()) out.add(ji);
  for (const [, p] of o.proofs.changes()) if (!isVacantProof(p)) out.add(p.job);
  return out;
}

/** Records when each job this block touched is next due (after `height`). */
export function noteJobWakes(o: StateOverlay, params: Params, height: number): void {
  const look = { proof: (pi: number) => o.proofs.get(pi) };
  const add: [number, number][] = [];
  for (const ji of touchedJobs(o)) {
    const at = wakeOf(o.jobs.get(ji)!, look, params);
    if (at !== null) add.push([Math.max(at, height + 1), ji]);
  }
  o.jobWakes = { height, add };
}
