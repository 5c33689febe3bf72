/** JSON-RPC methods for useful work (DESIGN §8, §11): jobs and proofs. */
import { encodeAddress } from "../crypto/address.ts";
import { sha256 } from "../crypto/hash.ts";
import { MAX_BLOB_BYTES } from "../db/blobs.ts";
import { blobMatches, decodeManifest } from "../pouw/proof.ts";
import { loadDataset } from "../pouw/registry.ts";
import { evaluateCheckpoints, type CurvePoint } from "../pouw/curve.ts";
import { bitsToF32, checkpointCount, targetJson } from "../pouw/training.ts";
import { archivedJob, archivedProof } from "../state/job-archive.ts";
import { JobStatus, ProofStatus, isVacantJob, type JobT, type ProofT } from "../state/schemas.ts";
import { addrKey, idKey, type WorldState } from "../state/world.ts";
import type { JobSpecT } from "../types/transaction.ts";
import { toHex } from "../util/hex.ts";
import { invalidParams, notFound } from "./errors.ts";
import { DIRECT_CONTEXT, RawJson } from "./heavy.ts";
import type { Method } from "./methods.ts";
import { addressParam, hexParam, jsonKind, objectParam, paramList } from "./params.ts";

const JOB_STATUS = Object.fromEntries(Object.entries(JobStatus).filter(([k]) => k !== "Vacant").map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;
const PROOF_STATUS = Object.fromEntries(Object.entries(ProofStatus).map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;

export function specJson(spec: JobSpecT) {
  return {
    datasetId: toHex(spec.datasetId),
    layers: [...spec.layers],
    learningRate: bitsToF32(spec.learningRateBits),
    momentum: bitsToF32(spec.momentumBits),
    batchSize: spec.batchSize,
    steps: spec.steps,
    segmentLength: spec.segmentLength,
    checkpoints: checkpointCount(spec),
    seed: toHex(spec.seed),
    target: targetJson(spec),
    deadline: spec.deadline,
  };
}

/**
 * A job as RPC shows it. `proof` is the proof in progress or paid; `archived`
 * says the job left the live state (decision 0010) and comes from this node's
 * archive.
 */
function jobJson(j: JobT, proof: ProofT | null, archived: boolean) {
  return {
    id: toHex(j.id),
    requester: encodeAddress(j.requester),
    status: JOB_STATUS[j.status] ?? String(j.status),
    reward: j.reward.toString(),
    workerBond: j.workerBond.toString(),
    createdAt: j.createdAt,
    spec: specJson(j.spec),
    proof: proof ? toHex(proof.id) : null,
    endedAt: j.endedAt || null,
    archived,
  };
}

const liveJobJson = (world: WorldState, j: JobT) => jobJson(j, j.proof > 0 ? world.proofs[j.proof - 1]! : null, false);

function proofJson(p: ProofT, job: JobT, attestationDeadline: number, challengeWindow: number) {
  const c = p.commitment;
  return {
    id: toHex(p.id),
    jobId: toHex(job.id),
    worker: encodeAddress(p.worker),
    status: PROOF_STATUS[p.status] ?? String(p.status),
    submittedAt: p.submittedAt,
    attestationDeadline: p.submittedAt + attestationDeadline,
    decidedAt: p.decidedAt || null,
    /** Height from which the proof is paid, once accepted. */
    payableAt: p.status === ProofStatus.Accepted ? p.decidedAt + challengeWindow : null,
    commitment: {
      checkpointsRoot: toHex(c.checkpointsRoot),
      count: c.count,
      finalWeightsHash: toHex(c.finalWeightsHash),
      claimedMetric: job.spec.targetMetric === 0 ? { accuracyBps: c.claimedMetric } : { loss: bitsToF32(c.claimedMetric) },
      bond: c.bond.toString(),
    },
    validPower: p.validPower.toString(),
    invalidPower: p.invalidPower.toString(),
    attesters: p.attesters.map(encodeAddress),
    dissenters: p.dissenters.map(encodeAddress),
  };
}

const MAX_LIST = 100;
/** Checkpoints a training curve evaluates at most (each is one pass over the validation split). */
const MAX_CURVE_POINTS = 512;
/** Curves of proofs already evaluated: their blobs never change. */
const curves = new Map<string, CurveJson>();
const MAX_CACHED_CURVES = 32;

interface CurveJson {
  jobId: string;
  proof: string | null;
  /** The job's target metric. */
  metric: "accuracy" | "loss";
  /** Checkpoints the proof commits to. */
  checkpoints: number;
  /** One per checkpoint whose blob this node holds and whose model evaluates finite, in order. */
  points: CurvePoint[];
  /** Checkpoints without a point (blob not here, not a checkpoint, or not finite). */
  missing: number;
}

/** Checkpoint bytes handed to the evaluation at once (at most a few full-size checkpoints). */
const CURVE_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * The validation loss and accuracy of each checkpoint of a proof's manifest,
 * from the blobs this node holds: evaluated in the node's work thread
 * (RpcNode.evaluateCheckpoints) a batch at a time, never on the event loop.
 */
async function evaluateCurve(node: Parameters<Method>[0], job: JobT, proof: ProofT): Promise<CurvePoint[]> {
  const manifest = await node.getBlob(proof.commitment.checkpointsRoot);
  const hashes = manifest ? decodeManifest(manifest, proof.commitment.checkpointsRoot) : null;
  const info = node.chain.genesis.datasets.find((d) => toHex(d.id) === toHex(job.spec.datasetId));
  if (!hashes || !info || !loadDataset(info)) return [];
  const evaluate: NonNullable<typeof node.evaluateCheckpoints> = node.evaluateCheckpoints
    ? (spec, jobId, d, checkpoints) => node.evaluateCheckpoints!(spec, jobId, d, checkpoints)
    : async (spec, jobId, d, checkpoints) => evaluateCheckpoints(spec, jobId, loadDataset(d)!, checkpoints);
  const points: CurvePoint[] = [];
  let batch: { index: number; blob: Uint8Array }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length > 0) points.push(...(await evaluate(job.spec, job.id, info, batch)));
    batch = [];
    bytes = 0;
  };
  for (let i = 0; i < Math.min(hashes.length, MAX_CURVE_POINTS); i++) {
    const blob = await node.getBlob(hashes[i]!);
    if (!blob) continue;
    if (bytes + blob.length > CURVE_BATCH_BYTES) await flush();
    batch.push({ index: i, blob });
    bytes += blob.length;
  }
  await flush();
  return points;
}

export const jobMethods: Record<string, Method> = {
  /** A job by id (the hash of its CreateJob transaction), from the live state or, once it left, this node's archive. */
  async pouw_getJob(node, params) {
    const [id] = paramList(params, 1, 1);
    const jobId = hexParam(id, "jobId", { length: 32 });
    const { world } = node.chain;
    const i = world.jobIndex.get(idKey(jobId));
    if (i !== undefined) return liveJobJson(world, world.jobs[i]!);
    const a = await archivedJob(node.chain.store.db, jobId);
    if (!a) throw notFound("job");
    return jobJson(a.job, a.job.status === JobStatus.Completed ? (a.proofs.find((p) => p.status === ProofStatus.Paid) ?? null) : null, true);
  },

  /**
   * Jobs in the live state, newest first: `{status?, requester?, offset?,
   * limit? (≤ 100)}`. A job that ended more than `jobRetentionBlocks` ago has
   * left it (decision 0010): `pouw_getJob` still finds it by id.
   */
  pouw_listJobs(node, params) {
    const [raw] = paramList(params, 0, 1);
    const o = objectParam(raw, "filter");
    const status = o.status;
    if (status !== undefined && (typeof status !== "string" || !Object.values(JOB_STATUS).includes(status))) {
      throw invalidParams(`status must be one of ${Object.values(JOB_STATUS).join(", ")}`);
    }
    const requester = o.requester === undefined ? null : addrKey(addressParam(o.requester, "requester"));
    const num = (k: string, dflt: number, max: number) => {
      const v = o[k] ?? dflt;
      if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max) throw invalidParams(`${k} must be an integer 0..${max}`);
      return v as number;
    };
    const offset = num("offset", 0, Number.MAX_SAFE_INTEGER);
    const limit = num("limit", 20, MAX_LIST);
    const { world, head } = node.chain;
    const out = [];
    let skipped = 0;
    let total = 0;
    // Slots are reused, so the order is by creation height (then slot), not by index.
    const order = [...world.jobIndex.values()].sort((a, b) => world.jobs[b]!.createdAt - world.jobs[a]!.createdAt || b - a);
    for (const i of order) {
      const j = world.jobs[i]!;
      if (isVacantJob(j)) continue;
      if (status !== undefined && JOB_STATUS[j.status] !== status) continue;
      if (requester !== null && addrKey(j.requester) !== requester) continue;
      total++;
      if (skipped < offset) {
        skipped++;
        continue;
      }
      if (out.length < limit) out.push(liveJobJson(world, j));
    }
    return { height: head.header.height, total, jobs: out };
  },

  /**
   * Stores a blob: `[base64]` under its SHA-256, or `[base64, id]` under an id
   * it matches (a checkpoint manifest under its Merkle root). Only blobs the
   * chain references or expects are taken (a checkpoint or manifest for an
   * open job, or one a pending proof lists), within quotas; refusals are
   * BLOB_NOT_EXPECTED and BLOB_QUOTA_EXCEEDED (node/work/blob-intake.ts).
   * A heavy request (decoding and hashing megabytes).
   */
  pouw_putBlob(node, params, ctx = DIRECT_CONTEXT) {
    const [data, rawId] = paramList(params, 1, 2);
    if (typeof data !== "string") throw invalidParams(`data must be the blob's bytes as a base64 string, got ${jsonKind(data)}`, { field: "data" });
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw invalidParams("data must be standard base64 (A-Z a-z 0-9 + /, = padding)", { field: "data" });
    if (data.length === 0) throw invalidParams("data is empty", { field: "data" });
    if (Math.floor((data.length * 3) / 4) > MAX_BLOB_BYTES + 2) throw invalidParams(`blob is over the limit of ${MAX_BLOB_BYTES} bytes`, { field: "data", limit: MAX_BLOB_BYTES });
    const givenId = rawId === undefined ? undefined : hexParam(rawId, "id", { length: 32 });
    return ctx.heavy.run(async () => {
      const bytes = new Uint8Array(Buffer.from(data, "base64"));
      if (bytes.length === 0) throw invalidParams("data is empty", { field: "data" });
      if (bytes.length > MAX_BLOB_BYTES) throw invalidParams(`blob is ${bytes.length} bytes, limit ${MAX_BLOB_BYTES}`, { field: "data", size: bytes.length, limit: MAX_BLOB_BYTES });
      const id = givenId ?? sha256(bytes);
      if (!blobMatches(id, bytes)) throw invalidParams("the bytes do not match the id (neither their SHA-256 nor a manifest with that Merkle root)");
      await node.putBlob(bytes, id);
      return { id: toHex(id), size: bytes.length };
    });
  },

  /** A blob by id, base64. A heavy request (up to 8 MB of base64). */
  pouw_getBlob(node, params, ctx = DIRECT_CONTEXT) {
    const [rawId] = paramList(params, 1, 1);
    const id = hexParam(rawId, "id", { length: 32 });
    return ctx.heavy.run(async () => {
      const bytes = await node.getBlob(id);
      if (!bytes) throw notFound("blob");
      const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
      return new RawJson(Buffer.from(`{"id":"${toHex(id)}","size":${bytes.length},"data":"${b64}"}`));
    });
  },

  /**
   * A job's training curve for the explorer: the validation loss and
   * accuracy of each checkpoint of its proof (the one in progress or paid),
   * evaluated here from the checkpoint blobs this node holds. A heavy read;
   * a proof's curve is computed once. `points` is empty for a job without a
   * proof, or whose blobs or dataset this node lacks.
   */
  async pouw_getJobCurve(node, params, ctx = DIRECT_CONTEXT) {
    const [id] = paramList(params, 1, 1);
    const jobId = hexParam(id, "jobId", { length: 32 });
    const { world } = node.chain;
    let job: JobT;
    let proof: ProofT | null;
    const i = world.jobIndex.get(idKey(jobId));
    if (i !== undefined) {
      job = world.jobs[i]!;
      proof = job.proof > 0 ? world.proofs[job.proof - 1]! : null;
    } else {
      const a = await archivedJob(node.chain.store.db, jobId);
      if (!a) throw notFound("job");
      job = a.job;
      proof = a.proofs.find((p) => p.status === ProofStatus.Paid) ?? a.proofs[a.proofs.length - 1] ?? null;
    }
    const base = { jobId: toHex(job.id), proof: proof ? toHex(proof.id) : null, metric: job.spec.targetMetric === 0 ? ("accuracy" as const) : ("loss" as const) };
    if (!proof) return { ...base, checkpoints: 0, points: [], missing: 0 };
    const key = `${toHex(proof.id)}:${toHex(proof.commitment.checkpointsRoot)}`;
    const hit = curves.get(key);
    if (hit) return hit;
    const p = proof;
    return ctx.heavy.run(async () => {
      const points = await evaluateCurve(node, job, p);
      const out: CurveJson = { ...base, checkpoints: p.commitment.count, points, missing: p.commitment.count - points.length };
      // Only complete curves are kept: blobs still on their way would be missing for good.
      if (out.missing === 0) {
        if (curves.size >= MAX_CACHED_CURVES) curves.delete(curves.keys().next().value!);
        curves.set(key, out);
      }
      return out;
    });
  },

  /** A proof by id, with its commitment and the attestations it gathered (from the archive once its job left the live state). */
  async pouw_getProof(node, params) {
    const [id] = paramList(params, 1, 1);
    const proofId = hexParam(id, "proofId", { length: 32 });
    const { world, params: p } = node.chain;
    const i = world.proofIndex.get(idKey(proofId));
    if (i !== undefined) {
      const proof = world.proofs[i]!;
      return { ...proofJson(proof, world.jobs[proof.job]!, p.attestationDeadline, p.challengeWindow), archived: false };
    }
    const a = await archivedProof(node.chain.store.db, proofId);
    if (!a) throw notFound("proof");
    return { ...proofJson(a.proof, a.archived.job, p.attestationDeadline, p.challengeWindow), archived: true };
  },
};

export type JobJson = ReturnType<typeof jobJson>;
export type ProofJson = ReturnType<typeof proofJson> & { archived: boolean };
