/**
 * Useful-work transactions on a real chain (memory-level, blocks built and
 * committed): CreateJob escrows, CancelJob refunds, SubmitProof escrows a
 * bond against a commitment, a proof without acceptance by its attestation
 * deadline is rejected with its bond split 50/40/10 (PoUW pool, requester,
 * burned), and an open job past its deadline expires with a refund. Every
 * failure is a receipt with its code, and supply always adds up.
 */
import { describe, expect, it } from "vitest";
import { ExecErrorCode } from "../../../node/chain/errors.ts";
import { attestationSigningMessage } from "../../../node/chain/attestations.ts";
import { blockHash, verifyBlock } from "../../../node/chain/block.ts";
import { BlockError, BlockErrorCode } from "../../../node/chain/errors.ts";
import { proofIdOf, workOf } from "../../../node/chain/jobs.ts";
import { TxErrorCode } from "../../../node/chain/errors.ts";
import { sha256 } from "../../../node/crypto/hash.ts";
import { merkleBranch, merkleRoot } from "../../../node/pouw/merkle.ts";
import { encodeManifest, prove } from "../../../node/pouw/proof.ts";
import { checkpointHash, decodeCheckpoint, encodeCheckpoint } from "../../../node/pouw/training.ts";
import { TxSelector } from "../../../node/types/transaction.ts";
import type { AccountKey } from "../../../node/crypto/keys.ts";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { checkpointCount, f32ToBits } from "../../../node/pouw/training.ts";
import { JobStatus, ProofStatus } from "../../../node/state/schemas.ts";
import { idKey, type WorldState } from "../../../node/state/world.ts";
import { ReceiptStatus, WorkAttestation, type WorkAttestationT } from "../../../node/types/block.ts";
import { AttestationPool } from "../../../node/work/attestation-pool.ts";
import type { Params } from "../../../node/types/params.ts";
import type { JobSpecT } from "../../../node/types/transaction.ts";
import { toHex } from "../../../node/util/hex.ts";
import { ChainDriver, useChainDrivers } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { body, signedTx } from "../../helpers/tx.ts";
import { smallJobSpec } from "../../helpers/job-spec.ts";

const data = syntheticDataset({ seed: "jobs-test", features: 8, classes: 3, train: 64, validation: 16 });
const PARAMS: Partial<Params> = { attestationDeadline: 4, challengeWindow: 2, blockReward: 1_000_000_000n, stakingShareBps: 8000 };
const net = makeTestNet({
  validators: 4,
  accounts: 3,
  label: "jobs",
  params: PARAMS,
  datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 64, validation: 16 }],
});
const [requester, worker, other] = net.accounts as [AccountKey, AccountKey, AccountKey];
const REWARD = 5_000_000_000n;
const BOND = 1_000_000_000n;

const spec = (over: Partial<JobSpecT> = {}): JobSpecT => smallJobSpec(data.id, over);

const commitment = (over: Partial<{ count: number; claimedMetric: number; bond: bigint }> = {}) => ({
  checkpointsRoot: new Uint8Array(32).fill(1),
  count: checkpointCount(spec()),
  finalWeightsHash: new Uint8Array(32).fill(2),
  claimedMetric: 9000,
  bond: BOND,
  ...over,
});

const open = useChainDrivers(net.genesisJson, net.validators);

const nonces = new Map<AccountKey, bigint>();
function tx(key: AccountKey, b: Parameters<typeof signedTx>[1]["body"], gasLimit = 300_000) {
  const n = nonces.get(key) ?? 0n;
  nonces.set(key, n + 1n);
  return signedTx(key, { nonce: n, body: b, gasLimit });
}

/** Runs one block with the transactions; returns each receipt's error code ("" for success). */
async function block(d: ChainDriver, txs: ReturnType<typeof tx>[]): Promise<string[]> {
  const r = await d.next(txs.map((t) => t.env));
  expect(r.txs.length).toBe(txs.length);
  checkSupply(d.chain.world);
  return r.receipts.map((x) => (x.status === ReceiptStatus.Success ? "" : Buffer.from(x.error).toString()));
}

function checkSupply(w: WorldState): void {
  const t = w.totals;
  const balances = [...w.accounts].reduce((s, a) => s + a.balance, 0n);
  expect(balances + t.staked + t.rewardsOutstanding + t.pouwPool + t.escrowed).toBe(t.supply);
  const escrow = w.jobs.reduce((s, j) => s + (j.status === JobStatus.Open || j.status === JobStatus.Proving ? j.reward : 0n), 0n);
  const bonds = w.proofs.reduce((s, p) => s + (p.status === ProofStatus.Pending || p.status === ProofStatus.Accepted ? p.commitment.bond : 0n), 0n);
  expect(t.escrowed).toBe(escrow + bonds);
}

const balance = (d: ChainDriver, k: AccountKey) => d.chain.world.getAccount(k.address)!.balance;
const job = (d: ChainDriver, id: Uint8Array) => d.chain.world.jobs[d.chain.world.jobIndex.get(idKey(id))!]!;

describe("jobs", () => {
  it("CreateJob escrows the reward under the transaction's hash; CancelJob refunds it to the requester only", async () => {
    nonces.clear();
    const d = await open();
    const before = balance(d, requester);
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    expect(await block(d, [create])).toEqual([""]);
    const j = job(d, create.env.hash);
    expect(j.status).toBe(JobStatus.Open);
    expect(j.reward).toBe(REWARD);
    expect(toHex(j.requester)).toBe(toHex(requester.address));
    expect(d.chain.world.totals.escrowed).toBe(REWARD);
    const fee1 = before - balance(d, requester) - REWARD;
    expect(fee1 > 0n).toBe(true);

    expect(await block(d, [tx(other, body.cancelJob(create.env.hash))])).toEqual([ExecErrorCode.NOT_REQUESTER]);
    expect(await block(d, [tx(requester, body.cancelJob(new Uint8Array(32).fill(7)))])).toEqual([ExecErrorCode.JOB_NOT_FOUND]);
    const mid = balance(d, requester);
    const cancel = tx(requester, body.cancelJob(create.env.hash));
    expect(await block(d, [cancel])).toEqual([""]);
    expect(job(d, create.env.hash).status).toBe(JobStatus.Cancelled);
    expect(d.chain.world.totals.escrowed).toBe(0n);
    expect(balance(d, requester) > mid).toBe(true); // reward back, minus the cancel's fee
    expect(await block(d, [tx(requester, body.cancelJob(create.env.hash))])).toEqual([ExecErrorCode.JOB_NOT_OPEN]);
  });

  it("CreateJob refuses unknown datasets, specs that do not fit the dataset, past deadlines and unaffordable rewards", async () => {
    nonces.clear();
    const d = await open();
    const codes = await block(d, [
      tx(requester, body.createJob(spec({ datasetId: new Uint8Array(32).fill(3) }), REWARD, BOND)),
      tx(requester, body.createJob(spec({ layers: [9, 16, 3] }), REWARD, BOND)),
      tx(requester, body.createJob(spec({ learningRateBits: f32ToBits(NaN) }), REWARD, BOND)),
      tx(requester, body.createJob(spec({ deadline: 1 }), REWARD, BOND)),
      tx(requester, body.createJob(spec(), 10n ** 18n, BOND)),
    ]);
    expect(codes).toEqual([ExecErrorCode.UNKNOWN_DATASET, ExecErrorCode.BAD_JOB_SPEC, ExecErrorCode.BAD_JOB_SPEC, ExecErrorCode.DEADLINE_PASSED, ExecErrorCode.INSUFFICIENT_BALANCE]);
    expect(d.chain.world.jobs.length).toBe(0);
    expect(d.chain.world.totals.escrowed).toBe(0n);
  });

  it("SubmitProof checks the commitment against the job, escrows the bond and locks the job", async () => {
    nonces.clear();
    const d = await open();
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    const lossJob = tx(requester, body.createJob(spec({ targetMetric: 1, targetThreshold: f32ToBits(0.5) }), REWARD, BOND));
    await block(d, [create, lossJob]);
    const id = create.env.hash;
    const codes = await block(d, [
      tx(worker, body.submitProof(new Uint8Array(32).fill(8), commitment())),
      tx(worker, body.submitProof(id, commitment({ count: 4 }))),
      tx(worker, body.submitProof(id, commitment({ bond: BOND - 1n }))),
      tx(worker, body.submitProof(id, commitment({ claimedMetric: 7999 }))),
      tx(worker, body.submitProof(id, commitment({ claimedMetric: 10_001 }))),
      tx(worker, body.submitProof(lossJob.env.hash, commitment({ claimedMetric: f32ToBits(0.6) }))),
      tx(worker, body.submitProof(lossJob.env.hash, commitment({ claimedMetric: f32ToBits(NaN) }))),
    ]);
    expect(codes).toEqual([
      ExecErrorCode.JOB_NOT_FOUND,
      ExecErrorCode.WRONG_CHECKPOINT_COUNT,
      ExecErrorCode.BOND_TOO_LOW,
      ExecErrorCode.METRIC_BELOW_TARGET,
      ExecErrorCode.METRIC_BELOW_TARGET,
      ExecErrorCode.METRIC_BELOW_TARGET,
      ExecErrorCode.METRIC_BELOW_TARGET,
    ]);
    const submit = tx(worker, body.submitProof(id, commitment()));
    const second = tx(other, body.submitProof(id, commitment()));
    expect(await block(d, [submit, second, tx(requester, body.cancelJob(id)), tx(worker, body.submitProof(lossJob.env.hash, commitment({ claimedMetric: f32ToBits(0.25) })))])).toEqual([
      "",
      ExecErrorCode.JOB_NOT_OPEN,
      ExecErrorCode.JOB_NOT_OPEN,
      "",
    ]);
    const j = job(d, id);
    expect(j.status).toBe(JobStatus.Proving);
    const p = d.chain.world.proofs[j.proof - 1]!;
    expect(toHex(p.id)).toBe(toHex(proofIdOf(id, submit.env.hash)));
    expect(p.status).toBe(ProofStatus.Pending);
    expect(toHex(p.worker)).toBe(toHex(worker.address));
    expect(d.chain.world.totals.escrowed).toBe(2n * REWARD + 2n * BOND);
  });

  it("a proof not accepted by its attestation deadline is rejected: bond 50 % to the PoUW pool, 40 % to the requester, 10 % burned; the job opens again", async () => {
    nonces.clear();
    const d = await open();
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    await block(d, [create]);
    const submit = tx(worker, body.submitProof(create.env.hash, commitment({ bond: 2n * BOND })));
    await block(d, [submit]);
    const submittedAt = d.height;
    const p0 = d.chain.world.proofs[0]!;
    expect(p0.submittedAt).toBe(submittedAt);
    while (d.height < submittedAt + PARAMS.attestationDeadline! - 1) await block(d, []);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Pending);
    const req = balance(d, requester);
    const wrk = balance(d, worker);
    const pool = d.chain.world.totals.pouwPool;
    const burned = d.chain.world.totals.burned;
    await block(d, []); // the deadline block
    const p = d.chain.world.proofs[0]!;
    expect(p.status).toBe(ProofStatus.Rejected);
    expect(p.decidedAt).toBe(submittedAt + PARAMS.attestationDeadline!);
    expect(balance(d, requester) - req).toBe((2n * BOND * 40n) / 100n);
    expect(balance(d, worker)).toBe(wrk);
    const issued = (1_000_000_000n * 2000n) / 10_000n; // this block's PoUW share of the reward
    expect(d.chain.world.totals.pouwPool - pool).toBe((2n * BOND * 50n) / 100n + issued);
    expect(d.chain.world.totals.burned - burned).toBe((2n * BOND * 10n) / 100n);
    const j = job(d, create.env.hash);
    expect(j.status).toBe(JobStatus.Open);
    expect(j.proof).toBe(0);
    expect(d.chain.world.totals.escrowed).toBe(REWARD);
    // Another worker may now submit.
    expect(await block(d, [tx(other, body.submitProof(create.env.hash, commitment()))])).toEqual([""]);
  });

  it("an open job past its deadline expires and its reward goes back", async () => {
    nonces.clear();
    const d = await open();
    const create = tx(requester, body.createJob(spec({ deadline: 4 }), REWARD, BOND));
    await block(d, [create]);
    while (d.height < 4) await block(d, []);
    expect(job(d, create.env.hash).status).toBe(JobStatus.Open);
    const before = balance(d, requester);
    await block(d, []);
    expect(job(d, create.env.hash).status).toBe(JobStatus.Expired);
    expect(balance(d, requester) - before).toBe(REWARD);
    expect(await block(d, [tx(worker, body.submitProof(create.env.hash, commitment()))])).toEqual([ExecErrorCode.JOB_NOT_OPEN]);
  });

  it("a node reopened from disk-like reload sees the same jobs and proofs (state loads and roots agree)", async () => {
    nonces.clear();
    const d = await open();
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    await block(d, [create]);
    await block(d, [tx(worker, body.submitProof(create.env.hash, commitment()))]);
    const { WorldState: WS } = await import("../../../node/state/world.ts");
    const reloaded = await WS.load(d.db, d.height);
    expect(toHex(reloaded!.root)).toBe(toHex(d.chain.world.root));
    expect(reloaded!.jobs.length).toBe(1);
    expect(reloaded!.proofs[0]!.status).toBe(ProofStatus.Pending);
    expect(reloaded!.jobIndex.get(idKey(create.env.hash))).toBe(0);
  });
});

describe("work attestations", () => {
  const attest = (d: ChainDriver, key: AccountKey, proofId: Uint8Array, valid: boolean): WorkAttestationT => ({
    proofId,
    valid,
    validator: key.address,
    signature: key.sign(attestationSigningMessage(d.chain.ctx.chainId, proofId, valid)),
  });

  async function proving(d: ChainDriver) {
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    await block(d, [create]);
    const submit = tx(worker, body.submitProof(create.env.hash, commitment()));
    await block(d, [submit]);
    return { jobId: create.env.hash, proofId: proofIdOf(create.env.hash, submit.env.hash) };
  }

  it("more than 2/3 of the power attesting valid accepts the proof; after the challenge window the worker gets reward, bond and the PoUW pool", async () => {
    nonces.clear();
    const d = await open();
    const { jobId, proofId } = await proving(d);
    const [v0, v1, v2] = net.validators as [AccountKey, AccountKey, AccountKey];
    // Two of four (exactly 1/2): still pending.
    let r = await d.next([], { attestations: [attest(d, v0, proofId, true), attest(d, v1, proofId, true)] });
    expect(r.attestations).toHaveLength(2);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Pending);
    expect(d.chain.world.proofs[0]!.validPower).toBe(200n);
    // The same validator again is left out; the third valid one accepts.
    r = await d.next([], { attestations: [attest(d, v0, proofId, true), attest(d, v2, proofId, true)] });
    expect(r.attestations.map((a) => toHex(a.validator))).toEqual([toHex(v2.address)]);
    const acceptedAt = d.height;
    const p = d.chain.world.proofs[0]!;
    expect(p.status).toBe(ProofStatus.Accepted);
    expect(p.decidedAt).toBe(acceptedAt);
    expect(p.attesters.map(toHex)).toEqual([v0, v1, v2].map((k) => toHex(k.address)));
    checkSupply(d.chain.world);
    while (d.height < acceptedAt + PARAMS.challengeWindow! - 1) await block(d, []);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Accepted);
    const before = balance(d, worker);
    const poolBefore = d.chain.world.totals.pouwPool;
    await block(d, []); // window over: paid at the end of this block
    const issued = (1_000_000_000n * 2000n) / 10_000n;
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Paid);
    expect(job(d, jobId).status).toBe(JobStatus.Completed);
    expect(balance(d, worker) - before).toBe(REWARD + BOND + poolBefore + issued); // the only proof paid: the whole pool
    expect(d.chain.world.totals.pouwPool).toBe(0n);
    expect(d.chain.world.totals.escrowed).toBe(0n);
    expect(workOf(job(d, jobId))).toBe(40n * BigInt(8 * 16 + 16 + 16 * 3 + 3));
  });

  it("proofs paid in the same block share the PoUW pool by verified work (steps × parameters)", async () => {
    nonces.clear();
    const d = await open();
    const small = tx(requester, body.createJob(spec(), REWARD, BOND));
    const big = tx(requester, body.createJob(spec({ layers: [8, 32, 3], steps: 60 }), REWARD, BOND));
    await block(d, [small, big]);
    const s1 = tx(worker, body.submitProof(small.env.hash, commitment()));
    const s2 = tx(other, body.submitProof(big.env.hash, commitment({ count: 7 })));
    await block(d, [s1, s2]);
    const ids = [proofIdOf(small.env.hash, s1.env.hash), proofIdOf(big.env.hash, s2.env.hash)];
    const [v0, v1, v2] = net.validators as [AccountKey, AccountKey, AccountKey];
    await d.next([], { attestations: ids.flatMap((id) => [v0, v1, v2].map((v) => attest(d, v, id, true))) });
    const acceptedAt = d.height;
    while (d.height < acceptedAt + PARAMS.challengeWindow! - 1) await block(d, []);
    const before = [balance(d, worker), balance(d, other)];
    const pool = d.chain.world.totals.pouwPool + (1_000_000_000n * 2000n) / 10_000n; // the pool once this block's issuance is in
    await block(d, []);
    expect(d.chain.world.proofs.map((p) => p.status)).toEqual([ProofStatus.Paid, ProofStatus.Paid]);
    const works = [workOf(job(d, small.env.hash)), workOf(job(d, big.env.hash))];
    expect(works).toEqual([40n * 195n, 60n * (8n * 32n + 32n + 32n * 3n + 3n)]);
    const total = works[0]! + works[1]!;
    expect(balance(d, worker) - before[0]!).toBe(REWARD + BOND + (pool * works[0]!) / total);
    expect(balance(d, other) - before[1]!).toBe(REWARD + BOND + (pool * works[1]!) / total);
    expect(d.chain.world.totals.pouwPool).toBe(pool - (pool * works[0]!) / total - (pool * works[1]!) / total); // the rounding remainder stays
  });

  it("the attestation pool relays only attestations that can count, and drops them once included", async () => {
    nonces.clear();
    const d = await open();
    const { proofId } = await proving(d);
    const [v0, v1] = net.validators as [AccountKey, AccountKey];
    const pool = new AttestationPool(d.chain);
    const good = attest(d, v0, proofId, true);
    expect(pool.onGossip(new Uint8Array([1, 2, 3]))).toBe("reject"); // malformed SSZ
    expect(pool.onGossip(WorkAttestation.serialize({ ...attest(d, v1, proofId, true), valid: false }))).toBe("reject"); // bad signature
    expect(pool.onGossip(WorkAttestation.serialize(attest(d, other, proofId, true)))).toBe("ignore"); // not a validator
    expect(pool.onGossip(WorkAttestation.serialize(attest(d, v1, new Uint8Array(32).fill(1), true)))).toBe("ignore"); // unknown proof
    expect(pool.onGossip(WorkAttestation.serialize(good))).toBe("accept");
    expect(pool.onGossip(WorkAttestation.serialize(good))).toBe("ignore"); // already held
    expect(pool.size).toBe(1);
    await d.next([], { attestations: [...pool.values()] });
    pool.prune();
    expect(pool.size).toBe(0);
    expect(pool.onGossip(WorkAttestation.serialize(good))).toBe("ignore"); // already counted on chain
  });

  it("more than 2/3 attesting invalid rejects the proof and slashes the bond", async () => {
    nonces.clear();
    const d = await open();
    const { jobId, proofId } = await proving(d);
    const [v0, v1, v2] = net.validators as [AccountKey, AccountKey, AccountKey];
    await d.next([], { attestations: [attest(d, v0, proofId, false), attest(d, v1, proofId, false), attest(d, v2, proofId, false)] });
    const p = d.chain.world.proofs[0]!;
    expect(p.status).toBe(ProofStatus.Rejected);
    expect(p.dissenters).toHaveLength(3);
    expect(job(d, jobId).status).toBe(JobStatus.Open);
    checkSupply(d.chain.world);
  });

  it("a proposer leaves out attestations that cannot count; a block that carries one is invalid", async () => {
    nonces.clear();
    const d = await open();
    const { proofId } = await proving(d);
    const [v0, v1] = net.validators as [AccountKey, AccountKey];
    const good = attest(d, v0, proofId, true);
    const bad: [string, WorkAttestationT][] = [
      ["the signer is not in the active set", attest(d, other, proofId, true)],
      ["bad signature", { ...attest(d, v1, proofId, true), valid: false }],
      ["unknown proof", attest(d, v1, new Uint8Array(32).fill(5), true)],
    ];
    const built = d.chain.build({ time: d.chain.head.header.time + 1000, proposer: d.proposer(), candidates: [], attestations: [good, ...bad.map((b) => b[1]), good] });
    expect(built.block.body.attestations).toEqual([good]);
    for (const [why, a] of [...bad, ["the validator already attested this proof", good] as [string, WorkAttestationT]]) {
      const block2 = { ...built.block, body: { ...built.block.body, attestations: [good, a] } };
      const { AttestationRootList } = await import("../../../node/types/block.ts");
      block2.header = { ...block2.header, attestationRoot: AttestationRootList.hashTreeRoot(block2.body.attestations) };
      let err: unknown;
      try {
        verifyBlock(d.chain.world, d.chain.head, block2, d.chain.ctx, { now: Date.now(), txs: [] });
      } catch (e) {
        err = e;
      }
      expect(err, why).toBeInstanceOf(BlockError);
      expect((err as BlockError).code).toBe(BlockErrorCode.INVALID_ATTESTATION);
      expect((err as BlockError).message).toContain(why);
    }
    // The built block itself verifies.
    expect(() => verifyBlock(d.chain.world, d.chain.head, built.block, d.chain.ctx, { now: Date.now(), txs: [] })).not.toThrow();
    expect(toHex(blockHash(built.block.header))).toBe(toHex(built.hash));
  });
});

describe("challenges", () => {
  const N = 8 * 16 + 16 + 16 * 3 + 3;
  // The job id is a transaction hash, and ML-DSA signatures are hedged: each run trains from other initial
  // weights. These tests are about challenges, not the metric, so any honest run must meet the target.
  const spec = (): JobSpecT => smallJobSpec(data.id, { targetThreshold: 0 });
  const attest = (d: ChainDriver, key: AccountKey, proofId: Uint8Array): WorkAttestationT => ({
    proofId,
    valid: true,
    validator: key.address,
    signature: key.sign(attestationSigningMessage(d.chain.ctx.chainId, proofId, true)),
  });

  /** A job and a proof whose checkpoint 3 is forged (perturbed), attested valid by three of four validators. */
  async function fooled(d: ChainDriver) {
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    await block(d, [create]);
    const jobId = create.env.hash;
    const honest = prove(spec(), jobId, data);
    const blobs = [...honest.blobs];
    const s3 = decodeCheckpoint(blobs[3]!, N);
    s3.params[5] = s3.params[5]! * 1.5 + 0.01;
    blobs[3] = encodeCheckpoint(s3);
    const hashes = blobs.map(checkpointHash);
    const commitment = { ...honest.commitment, checkpointsRoot: merkleRoot(hashes), bond: BOND };
    const submit = tx(worker, body.submitProof(jobId, commitment));
    expect(await block(d, [submit])).toEqual([""]);
    const proofId = proofIdOf(jobId, submit.env.hash);
    const [v0, v1, v2] = net.validators as [AccountKey, AccountKey, AccountKey];
    await d.next([], { attestations: [v0, v1, v2].map((v) => attest(d, v, proofId)) });
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Accepted);
    const store = new Map(blobs.map((b) => [toHex(sha256(b)), b]));
    d.chain.ctx.blob = (id) => store.get(toHex(id));
    return { jobId, proofId, blobs, hashes, manifest: encodeManifest(hashes) };
  }

  const challenge = (proofId: Uint8Array, hashes: Uint8Array[], segment: number, over: Partial<{ startHash: Uint8Array; steps: number; endHash: Uint8Array }> = {}) => ({
    selector: TxSelector.ChallengeProof,
    value: {
      proofId,
      segment,
      steps: over.steps ?? 10,
      startHash: over.startHash ?? hashes[segment]!,
      startBranch: merkleBranch(hashes, segment),
      endHash: over.endHash ?? hashes[segment + 1] ?? new Uint8Array(32),
      endBranch: segment + 1 < hashes.length ? merkleBranch(hashes, segment + 1) : [],
    },
  });
  const ctx = (key: AccountKey, b: ReturnType<typeof challenge>) => tx(key, b as Parameters<typeof signedTx>[1]["body"], 2_000_000);

  it("a forged segment is proven by re-execution: bond 50 % to the challenger, 40 % to the requester, 10 % burned, attesters slashed, job open again", async () => {
    nonces.clear();
    const d = await open();
    const { jobId, proofId, hashes } = await fooled(d);
    const tokens = net.validators.slice(0, 4).map((v) => d.chain.world.getValidator(v.address)!.tokens);
    const ch = balance(d, other);
    const req = balance(d, requester);
    const burned = d.chain.world.totals.burned;
    const c = ctx(other, challenge(proofId, hashes, 2)); // segment 2 ends at the forged checkpoint 3
    const r = await d.next([c.env]);
    expect(r.receipts[0]!.status, Buffer.from(r.receipts[0]!.error).toString()).toBe(ReceiptStatus.Success);
    const fee = r.receipts[0]!.feeBurned + r.receipts[0]!.tip;
    const p = d.chain.world.proofs[0]!;
    expect(p.status).toBe(ProofStatus.Fraudulent);
    expect(balance(d, other) - ch).toBe((BOND * 50n) / 100n - fee);
    expect(balance(d, requester) - req).toBe((BOND * 40n) / 100n);
    const after = net.validators.slice(0, 4).map((v) => d.chain.world.getValidator(v.address)!.tokens);
    const slashed = tokens.reduce((s2, t, i) => s2 + t - after[i]!, 0n);
    expect(d.chain.world.totals.burned - burned).toBe((BOND * 10n) / 100n + r.receipts[0]!.feeBurned + slashed);
    for (let i = 0; i < 3; i++) expect(after[i]).toBe(tokens[i]! - (tokens[i]! * 100n) / 10_000n); // the three attesters lose 1 %
    expect(after[3]).toBe(tokens[3]); // the fourth did not attest
    expect(job(d, jobId).status).toBe(JobStatus.Open);
    // The gas paid covers the re-executed steps.
    expect(r.receipts[0]!.gasUsed).toBeGreaterThanOrEqual(10 * d.chain.params.gas.perVerifiedStep);
    checkSupply(d.chain.world);
  });

  it("a committed checkpoint that is not a checkpoint at all (garbage bytes) is fraud when challenged", async () => {
    nonces.clear();
    const d = await open();
    const create = tx(requester, body.createJob(spec(), REWARD, BOND));
    await block(d, [create]);
    const honest = prove(spec(), create.env.hash, data);
    const blobs = [...honest.blobs];
    blobs[2] = new Uint8Array(1000).fill(9);
    const hashes = blobs.map(checkpointHash);
    const submit = tx(worker, body.submitProof(create.env.hash, { ...honest.commitment, checkpointsRoot: merkleRoot(hashes), bond: BOND }));
    await block(d, [submit]);
    const proofId = proofIdOf(create.env.hash, submit.env.hash);
    const store = new Map(blobs.map((b) => [toHex(sha256(b)), b]));
    d.chain.ctx.blob = (id) => store.get(toHex(id));
    expect(await block(d, [ctx(other, challenge(proofId, hashes, 2))])).toEqual([""]);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Fraudulent);
  });

  it("a challenge of an honest segment fails and harms nobody; one whose start does not match the commitment is refused the same way", async () => {
    nonces.clear();
    const d = await open();
    const { proofId, hashes, blobs } = await fooled(d);
    const wrongBlob = encodeCheckpoint({ ...decodeCheckpoint(blobs[1]!, N), step: 10 });
    wrongBlob[wrongBlob.length - 1] ^= 1;
    const store = new Map([...blobs, wrongBlob].map((b) => [toHex(sha256(b)), b]));
    d.chain.ctx.blob = (id) => store.get(toHex(id));
    const wb = balance(d, worker);
    const codes = await block(d, [
      ctx(other, challenge(proofId, hashes, 0)), // honest segment 0 → 1
      ctx(other, challenge(proofId, hashes, 1, { startHash: checkpointHash(wrongBlob) })), // start weights not in the commitment
      ctx(other, challenge(proofId, hashes, 1, { steps: 9 })),
      ctx(other, challenge(proofId, hashes, 4)), // no segment after the last checkpoint
      ctx(other, challenge(new Uint8Array(32).fill(3), hashes, 0)),
    ]);
    expect(codes).toEqual([ExecErrorCode.CHALLENGE_FAILED, ExecErrorCode.CHALLENGE_INVALID, ExecErrorCode.CHALLENGE_INVALID, ExecErrorCode.CHALLENGE_INVALID, ExecErrorCode.PROOF_NOT_FOUND]);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Accepted);
    expect(balance(d, worker)).toBe(wb);
    expect(d.chain.world.totals.escrowed).toBe(REWARD + BOND);
  });

  it("a challenge waits while its start checkpoint is unavailable, and is too late after the window", async () => {
    nonces.clear();
    const d = await open();
    const { proofId, hashes, blobs } = await fooled(d);
    d.chain.ctx.blob = () => undefined;
    const c = ctx(other, challenge(proofId, hashes, 2));
    const built = d.chain.build({ time: d.chain.head.header.time + 1000, proposer: d.proposer(), candidates: [c.env] });
    expect(built.result.dropped.map((x) => x.error.code)).toEqual([TxErrorCode.BLOB_UNAVAILABLE]);
    const store = new Map(blobs.map((b) => [toHex(sha256(b)), b]));
    d.chain.ctx.blob = (id) => store.get(toHex(id));
    const acceptedAt = d.chain.world.proofs[0]!.decidedAt;
    while (d.height < acceptedAt + PARAMS.challengeWindow! - 1) await block(d, []);
    // Window over at the end of this block's predecessor: the proof gets paid; the challenge is too late.
    await block(d, []);
    expect(d.chain.world.proofs[0]!.status).toBe(ProofStatus.Paid);
    expect(await block(d, [c])).toEqual([ExecErrorCode.CHALLENGE_WINDOW_CLOSED]);
  });
});
