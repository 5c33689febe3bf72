/**
 * Property: the indexed end-of-block job bookkeeping (only the jobs due at
 * the height plus those the block touched) leaves byte-identical state roots
 * to the old walk over every job, over random histories of job creation,
 * cancellation, proof submission, acceptance, rejection and challenges, with
 * random attestation deadlines, challenge windows and job retentions (0
 * included: kept forever) and the index dropped and rebuilt (a restart) at
 * random blocks. Ended jobs leave the live state and their slots are reused;
 * the derived indices (id maps, free slots, proofs per job, open proofs) kept
 * current block by block equal those rebuilt from the records (a restart).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { datasetMap } from "../../../node/chain/block.ts";
import type { BlockContext } from "../../../node/chain/context.ts";
import { applyCancelJob, applyCreateJob, applySubmitProof, endBlockJobs, payProofs, refund, slashProof } from "../../../node/chain/jobs.ts";
import { genesisStaking } from "../../../node/chain/staking.ts";
import { sha256 } from "../../../node/crypto/hash.ts";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { checkpointCount } from "../../../node/pouw/training.ts";
import { JobStatus, ProofStatus, isEndedJob, isVacantJob, type AccountT } from "../../../node/state/schemas.ts";
import { StateOverlay, WorldState, addrKey, adoptSealed } from "../../../node/state/world.ts";
import { AccountTree } from "../../../node/state/account-tree.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import type { Params } from "../../../node/types/params.ts";
import type { JobSpecT } from "../../../node/types/transaction.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { toHex, utf8 } from "../../../node/util/hex.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { smallJobSpec } from "../../helpers/job-spec.ts";

const SEED = 0x10b5;
const data = syntheticDataset({ seed: "job-index", features: 8, classes: 3, train: 64, validation: 16 });
const net = makeTestNet({
  accounts: 4,
  label: "job-index",
  datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 64, validation: 16 }],
});
const genesis = parseGenesis(JSON.parse(net.genesisJson));
const addresses = net.accounts.map((k) => k.address);

/** The bookkeeping as it was before the index: every job, every block (the reference model). */
function endBlockJobsFullWalk(o: StateOverlay, ctx: BlockContext): void {
  const { params, height } = ctx;
  const toPay: number[] = [];
  for (let ji = 0; ji < o.jobs.length; ji++) {
    const job = o.jobs.get(ji)!;
    if (isEndedJob(job)) {
      if (params.jobRetentionBlocks > 0 && height >= job.endedAt + params.jobRetentionBlocks) o.vacateJob(ji);
      continue;
    }
    if (job.status === JobStatus.Open) {
      if (height > job.spec.deadline) refund(o, ji, JobStatus.Expired, height);
      continue;
    }
    if (job.status !== JobStatus.Proving) continue;
    const pi = job.proof - 1;
    const p = o.proofs.get(pi)!;
    if (p.status === ProofStatus.Pending && height >= p.submittedAt + params.attestationDeadline) slashProof(o, pi, ProofStatus.Rejected, height, null);
    else if (p.status === ProofStatus.Accepted && height >= p.decidedAt + params.challengeWindow) toPay.push(pi);
  }
  payProofs(o, toPay, height);
}

const spec = (deadline: number): JobSpecT => smallJobSpec(data.id, { deadline });

type Op =
  | { kind: "create"; who: number; deadlineIn: number; reward: bigint }
  | { kind: "cancel"; who: number; job: number }
  | { kind: "submit"; who: number; job: number }
  | { kind: "accept"; proof: number }
  | { kind: "reject"; proof: number }
  | { kind: "challenge"; who: number; proof: number };

const who = fc.nat({ max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("create" as const), who, deadlineIn: fc.nat({ max: 8 }), reward: fc.bigInt({ min: 0n, max: 10n ** 10n }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), who, job: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("submit" as const), who, job: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("accept" as const), proof: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reject" as const), proof: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("challenge" as const), who, proof: fc.nat() }) },
);
const blockArb = fc.record({ ops: fc.array(opArb, { maxLength: 5 }), restart: fc.boolean() });

let txCounter = 0;
function env(who: number): TxEnvelope {
  const sender = addresses[who]!;
  return { hash: sha256(utf8(`job-index/tx/${txCounter++}`)), sender, senderHex: addrKey(sender) } as unknown as TxEnvelope;
}

/** One block's transactions and attestation outcomes, written through the chain's own functions. */
function applyOps(o: StateOverlay, ops: Op[], ctx: BlockContext, envs: TxEnvelope[]): void {
  let e = 0;
  for (const op of ops) {
    const tx = envs[e++]!;
    const jobs = o.jobs.length;
    const proofs = o.proofs.length;
    if (op.kind === "create") applyCreateJob(tx, { spec: spec(ctx.height + op.deadlineIn), reward: op.reward, workerBond: 1000n }, o, ctx);
    else if (op.kind === "cancel" && jobs > 0) applyCancelJob(tx, { jobId: o.jobs.get(op.job % jobs)!.id }, o, ctx);
    else if (op.kind === "submit" && jobs > 0) {
      const job = o.jobs.get(op.job % jobs)!;
      const commitment = { checkpointsRoot: new Uint8Array(32).fill(1), count: checkpointCount(job.spec), finalWeightsHash: new Uint8Array(32).fill(2), claimedMetric: 9000, bond: 5000n };
      applySubmitProof(tx, { jobId: job.id, commitment }, o, ctx);
    } else if (proofs > 0 && (op.kind === "accept" || op.kind === "reject" || op.kind === "challenge")) {
      const pi = op.proof % proofs;
      const p = o.proofs.get(pi)!;
      const inWindow = p.status === ProofStatus.Pending || (p.status === ProofStatus.Accepted && ctx.height < p.decidedAt + ctx.params.challengeWindow);
      if (op.kind === "accept" && p.status === ProofStatus.Pending) {
        const m = o.proofs.mutable(pi);
        m.status = ProofStatus.Accepted;
        m.decidedAt = ctx.height;
      } else if (op.kind === "reject" && p.status === ProofStatus.Pending) slashProof(o, pi, ProofStatus.Rejected, ctx.height, null);
      else if (op.kind === "challenge" && inWindow) slashProof(o, pi, ProofStatus.Fraudulent, ctx.height, addresses[op.who]!);
    }
  }
}

const freshWorld = () => WorldState.fromGenesis(genesis.accounts(), genesisStaking(genesis.validators, genesis.params), []);

/** The same records loaded afresh (as a restart does): every derived index rebuilt from them. */
function reloaded(w: WorldState, height: number): WorldState {
  const accounts: AccountT[] = [];
  for (let i = 0; i < w.accounts.count; i++) accounts.push(w.accounts.get(i)!);
  const { staking, signingInfos, delegations, unbonding, validators, lastValidators, priorities, totals, jobs, proofs, withdrawals, checkpoints } = w;
  const rest = { accounts: [], staking, signingInfos, delegations, unbonding, validators, lastValidators, totals, jobs, proofs, withdrawals, checkpoints, priorities: priorities.map((p) => BigInt.asUintN(64, p)) };
  return WorldState.fromParts(rest, AccountTree.fromAccounts(accounts), height);
}

/** The derived indices of a world, comparable with toEqual. */
const derived = (w: WorldState) => ({
  jobIndex: [...w.jobIndex].sort(),
  proofIndex: [...w.proofIndex].sort(),
  freeJobSlots: [...w.freeJobSlots],
  freeProofSlots: [...w.freeProofSlots],
  proofsOfJob: [...w.proofsOfJob].map(([j, l]) => [j, [...l].sort((a, b) => a - b)]).sort((a, b) => (a[0] as number) - (b[0] as number)),
  openProofs: [...w.openProofs].sort((a, b) => a - b),
});

describe("endBlockJobs with the job index (property)", () => {
  it("gives byte-identical state roots to the walk over every job", () => {
    const outcomes = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.nat({ max: 4 }),
        fc.nat({ max: 3 }),
        fc.nat({ max: 6 }),
        fc.array(blockArb, { minLength: 5, maxLength: 40 }),
        (attestationDeadline, challengeWindow, jobRetentionBlocks, blocks) => {
          const params: Params = { ...genesis.params, attestationDeadline, challengeWindow, jobRetentionBlocks };
          let indexed = freshWorld();
          const walked = freshWorld();
          blocks.forEach((b, i) => {
            const ctx: BlockContext = { chainId: utf8(genesis.chainId), height: i + 1, baseFeePerGas: 0n, proposer: addresses[0]!, params, datasets: datasetMap(genesis.datasets) };
            if (b.restart) {
              const again = reloaded(indexed, i);
              expect(derived(again), `indices after block ${i}`).toEqual(derived(indexed));
              expect(toHex(again.root)).toBe(toHex(indexed.root));
              indexed = again;
            }
            const envs = b.ops.map((op) => env("who" in op ? op.who : 0));
            const freeBefore = [...walked.freeJobSlots];
            const oi = new StateOverlay(indexed);
            const ow = new StateOverlay(walked);
            applyOps(oi, b.ops, ctx, envs);
            applyOps(ow, b.ops, ctx, envs);
            endBlockJobs(oi, ctx);
            endBlockJobsFullWalk(ow, ctx);
            const si = oi.seal();
            const sw = ow.seal();
            expect(toHex(si.root), `block ${i + 1}`).toBe(toHex(sw.root));
            adoptSealed(indexed, si);
            adoptSealed(walked, sw);
            if (freeBefore.some((k) => !isVacantJob(walked.jobs[k]!))) outcomes.set("slot reused", (outcomes.get("slot reused") ?? 0) + 1);
          });
          expect(derived(reloaded(indexed, blocks.length))).toEqual(derived(indexed));
          for (const j of walked.jobs) outcomes.set(`job ${j.status}`, (outcomes.get(`job ${j.status}`) ?? 0) + 1);
          for (const p of walked.proofs) outcomes.set(`proof ${p.status}`, (outcomes.get(`proof ${p.status}`) ?? 0) + 1);
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
    // The histories reach every outcome the bookkeeping decides: expired and completed jobs, rejected and paid proofs.
    expect(outcomes.get(`job ${JobStatus.Expired}`)).toBeGreaterThan(0);
    expect(outcomes.get(`job ${JobStatus.Completed}`)).toBeGreaterThan(0);
    expect(outcomes.get(`proof ${ProofStatus.Rejected}`)).toBeGreaterThan(0);
    expect(outcomes.get(`proof ${ProofStatus.Paid}`)).toBeGreaterThan(0);
    // And jobs left the live state (vacant slots), some of them taken again by newer jobs.
    expect(outcomes.get(`job ${JobStatus.Vacant}`)).toBeGreaterThan(0);
    expect(outcomes.get(`proof ${ProofStatus.Vacant}`)).toBeGreaterThan(0);
    expect(outcomes.get("slot reused")).toBeGreaterThan(0);
  });

  it("keeps the index small: a job that settled leaves it once its height passes", () => {
    const w = freshWorld();
    const params: Params = { ...genesis.params, attestationDeadline: 2, challengeWindow: 1, jobRetentionBlocks: 0 };
    for (let h = 1; h <= 30; h++) {
      const ctx: BlockContext = { chainId: utf8(genesis.chainId), height: h, baseFeePerGas: 0n, proposer: addresses[0]!, params, datasets: datasetMap(genesis.datasets) };
      const o = new StateOverlay(w);
      if (h <= 10) applyCreateJob(env(1), { spec: spec(h + 3), reward: 10n, workerBond: 1n }, o, ctx);
      endBlockJobs(o, ctx);
      adoptSealed(w, o.seal());
    }
    expect(w.jobs.every((j) => j.status === JobStatus.Expired)).toBe(true);
    expect(w.jobWakes?.size).toBe(0);
  });
});
