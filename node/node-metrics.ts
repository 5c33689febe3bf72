/**
 * The series the node derives from the chain state and its own home, kept
 * here so each part records only what it sees: after each commit, the active
 * validators' missed blocks, this node's validator status and power and
 * whether its signature is missing from the block's lastCommit, and the proof
 * status changes the block made; at scrape time, the head's age, jobs by
 * status (a scan of the job records, at most once per scrape and only when the
 * head moved: measured 0.6–4 ms for 100,000 jobs, so off the commit path) and the data
 * directory's disk space. A few fields of a few records per commit, never a
 * scan of the state on the commit path.
 */
import { statfsSync } from "node:fs";
import type { Blockchain, CommittedBlock } from "./chain/blockchain.ts";
import { encodeAddress } from "./crypto/address.ts";
import { JobStatus, ProofStatus } from "./state/schemas.ts";
import { addrKey, idKey } from "./state/world.ts";
import { buildInfo } from "./util/build-info.ts";
import { preset, type Metrics } from "./util/metrics.ts";

/** pouw_validator_status's values: exactly one is 1. */
export const VALIDATOR_STATUSES = ["active", "inactive", "jailed", "tombstoned", "unregistered"] as const;
export type ValidatorStatus = (typeof VALIDATOR_STATUSES)[number];

/** pouw_proofs_total's results: the proof status changes committed blocks make. */
export const PROOF_RESULTS = ["accepted", "rejected", "paid", "fraudulent"] as const;

/** pouw_jobs's statuses (a vacant slot is no job). */
const JOB_STATUSES = (Object.keys(JobStatus) as (keyof typeof JobStatus)[]).filter((k) => k !== "Vacant");

const RESULT_OF: Partial<Record<number, (typeof PROOF_RESULTS)[number]>> = {
  [ProofStatus.Accepted]: "accepted",
  [ProofStatus.Rejected]: "rejected",
  [ProofStatus.Paid]: "paid",
  [ProofStatus.Fraudulent]: "fraudulent",
};

/** An open proof as the last commit left it. */
interface Tracked {
  id: string;
  status: number;
}

export class NodeMetrics {
  private readonly chain: Blockchain;
  private readonly m: Metrics;
  /** This node's validator (addrKey), or null. */
  private readonly own: string | null;
  /** Our validator was in the set that signs the head (world.lastValidators): the next block's lastCommit should hold it. */
  private signsHead = false;
  private readonly bech32 = new Map<string, string>();
  /** Open proofs (pending or accepted) by slot. */
  private readonly proofs = new Map<number, Tracked>();
  private jobsAt = -1;

  constructor(chain: Blockchain, metrics: Metrics, opts: { validator: Uint8Array | null; dataDir: string | null }) {
    this.chain = chain;
    this.m = metrics;
    this.own = opts.validator ? addrKey(opts.validator) : null;
    metrics.buildInfo.set(buildInfo(), 1);
    preset(metrics.proofs, PROOF_RESULTS.map((result) => ({ result })));
    metrics.sample(metrics.headAgeSeconds, () => metrics.headAgeSeconds.set(Math.max(0, (Date.now() - chain.head.header.time) / 1000)));
    metrics.sample(metrics.jobs, () => this.sampleJobs());
    const dir = opts.dataDir;
    if (dir !== null) {
      const disk = () => {
        try {
          const s = statfsSync(dir);
          metrics.dataDirFreeBytes.set(Number(s.bavail) * Number(s.bsize));
          metrics.dataDirSizeBytes.set(Number(s.blocks) * Number(s.bsize));
        } catch {
          // the directory vanished or the filesystem does not answer: the gauges keep their last values
        }
      };
      metrics.sample(metrics.dataDirFreeBytes, disk);
      metrics.sample(metrics.dataDirSizeBytes, disk);
    }
    const w = chain.world;
    for (const i of w.openProofs) this.proofs.set(i, { id: idKey(w.proofs[i]!.id), status: w.proofs[i]!.status });
    this.signsHead = this.own !== null && w.lastValidators.some((v) => addrKey(v.address) === this.own);
    if (this.own !== null) metrics.selfMissedBlocks.inc(0);
    this.validators();
  }

  onCommit(c: CommittedBlock): void {
    const w = this.chain.world;
    if (this.own !== null) {
      // Block h's lastCommit holds the precommits for h−1, signed by the set that signed h−1 (lastValidators after h−1).
      if (this.signsHead && c.block.header.height > 1 && !c.block.body.lastCommit.signatures.some((s) => addrKey(s.validator) === this.own)) this.m.selfMissedBlocks.inc();
      this.signsHead = w.lastValidators.some((v) => addrKey(v.address) === this.own);
    }
    this.validators();
    this.proofChanges();
  }

  /** The active set's missed blocks in the window, and our validator's status and power. */
  private validators(): void {
    const w = this.chain.world;
    const missed = this.m.validatorMissedBlocks;
    missed.reset();
    for (const v of w.validators) {
      const key = addrKey(v.address);
      const vi = w.validatorIndex.get(key);
      if (vi === undefined) continue;
      let label = this.bech32.get(key);
      if (label === undefined) this.bech32.set(key, (label = encodeAddress(v.address)));
      missed.set({ validator: label }, w.signingInfos[vi]!.missedCount);
    }
    if (this.own === null) return;
    const vi = w.validatorIndex.get(this.own);
    const record = vi === undefined ? undefined : w.staking[vi];
    const member = w.validators.find((x) => addrKey(x.address) === this.own);
    const status: ValidatorStatus = !record ? "unregistered" : record.tombstoned ? "tombstoned" : record.jailed ? "jailed" : member ? "active" : "inactive";
    for (const s of VALIDATOR_STATUSES) this.m.validatorStatus.set({ status: s }, s === status ? 1 : 0);
    this.m.validatorPower.set(member ? Number(member.power) : 0);
  }

  /**
   * Each open proof's status against the last commit's: a change counts in
   * pouw_proofs_total, and a decision on a pending one (accepted, rejected)
   * observes its blocks since submission. After a batch of synced blocks a
   * step may be skipped (pending straight to paid): it is counted, without
   * a latency.
   */
  private proofChanges(): void {
    const { proofs, openProofs } = this.chain.world;
    for (const [i, t] of this.proofs) {
      const p = proofs[i];
      if (!p || idKey(p.id) !== t.id) {
        this.proofs.delete(i); // left the state with its job meanwhile
        continue;
      }
      if (p.status !== t.status) this.decided(t.status, p);
      t.status = p.status;
      if (!openProofs.has(i)) this.proofs.delete(i);
    }
    for (const i of openProofs) {
      if (this.proofs.has(i)) continue;
      const p = proofs[i]!;
      if (p.status !== ProofStatus.Pending) this.decided(ProofStatus.Pending, p); // submitted and decided between two commits seen
      this.proofs.set(i, { id: idKey(p.id), status: p.status });
    }
  }

  private decided(from: number, p: { status: number; submittedAt: number; decidedAt: number }): void {
    const result = RESULT_OF[p.status];
    if (!result) return;
    const fromPending = from === ProofStatus.Pending;
    if (fromPending && (p.status === ProofStatus.Accepted || p.status === ProofStatus.Rejected)) {
      this.m.attestationLatencyBlocks.observe(p.decidedAt - p.submittedAt);
    } else if (fromPending) {
      this.m.proofs.inc({ result: "accepted" }); // paid or found fraudulent: it was accepted first
    }
    this.m.proofs.inc({ result });
  }

  /** Jobs by status, scanned again only when the head has moved since the last scrape. */
  private sampleJobs(): void {
    const height = this.chain.head.header.height;
    if (height === this.jobsAt) return;
    this.jobsAt = height;
    const counts = new Array<number>(JOB_STATUSES.length + 1).fill(0);
    for (const j of this.chain.world.jobs) counts[j.status]!++;
    for (const k of JOB_STATUSES) this.m.jobs.set({ status: k.toLowerCase() }, counts[JobStatus[k]]!);
  }
}
