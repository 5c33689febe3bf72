/**
 * Jobs that left the live state (decision 0010): a job and every proof it
 * had go, in the block's batch, from their state slots to archive buckets
 * outside the state root, keyed by id, so RPC still answers for them on
 * every node that executed the block (state-synced nodes have the archive
 * from their snapshot on).
 */
import { Bucket, bucketKey, getBytes, heightKey, type BatchOp, type Level } from "../db/database.ts";
import { bytesEqual, concatBytes } from "../util/hex.ts";
import { ArchivedJob, type ArchivedJobT, type JobT, type ProofT } from "./schemas.ts";

/** A job leaving the live state with its proofs (as the committed state held them). */
export interface LeftJob {
  job: JobT;
  proofs: ProofT[];
}

const EMPTY = new Uint8Array(0);

/** The puts that archive `left`: the record by job id, each proof id → job id, and the job in the order jobs ended. */
export function jobArchiveOps(left: readonly LeftJob[]): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const { job, proofs } of left) {
    ops.push({ type: "put", key: bucketKey(Bucket.jobArchive, job.id), value: ArchivedJob.serialize({ job, proofs }) });
    for (const p of proofs) ops.push({ type: "put", key: bucketKey(Bucket.proofArchive, p.id), value: job.id });
    ops.push({ type: "put", key: bucketKey(Bucket.jobArchiveByEnd, concatBytes(heightKey(job.endedAt), job.id)), value: EMPTY });
  }
  return ops;
}

/** An archived job by id, or undefined. */
export async function archivedJob(db: Level, jobId: Uint8Array): Promise<ArchivedJobT | undefined> {
  const bytes = await getBytes(db, Bucket.jobArchive, jobId);
  return bytes ? ArchivedJob.deserialize(bytes) : undefined;
}

/** An archived proof by id, with its job's record, or undefined. */
export async function archivedProof(db: Level, proofId: Uint8Array): Promise<{ proof: ProofT; archived: ArchivedJobT } | undefined> {
  const jobId = await getBytes(db, Bucket.proofArchive, proofId);
  if (!jobId) return undefined;
  const archived = await archivedJob(db, jobId);
  const proof = archived?.proofs.find((p) => bytesEqual(p.id, proofId));
  return archived && proof ? { proof, archived } : undefined;
}

/** The proofs of archived jobs that ended at `height` or later (every proof decided at or after it is among them). */
export async function archivedProofsEndedFrom(db: Level, height: number): Promise<ProofT[]> {
  const out: ProofT[] = [];
  const gte = bucketKey(Bucket.jobArchiveByEnd, heightKey(height));
  const lt = Uint8Array.of(Bucket.jobArchiveByEnd + 1);
  for await (const key of db.keys({ gte, lt })) {
    const a = await archivedJob(db, key.subarray(1 + 8));
    if (a) out.push(...a.proofs);
  }
  return out;
}
