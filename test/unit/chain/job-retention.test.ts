/**
 * Finished jobs and their proofs leave the live state (decision 0010,
 * `jobRetentionBlocks`), through the real chain code on a real LevelDB: a
 * cancelled, a completed (paid proof), an expired and a reopened-then-
 * cancelled job (rejected proof) each leave R blocks after they ended; their
 * slots are taken by the next new jobs and proofs, lowest first, so the lists
 * stop growing; RPC still answers for them from the archive; a keep-everything
 * chain has the same roots until the first job leaves; and the state reloads
 * from disk to the same root and the same free slots.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attestationSigningMessage } from "../../../node/chain/attestations.ts";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { proofIdOf } from "../../../node/chain/jobs.ts";
import type { AccountKey } from "../../../node/crypto/keys.ts";
import { openDb } from "../../../node/db/database.ts";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { checkpointCount } from "../../../node/pouw/training.ts";
import { jobMethods } from "../../../node/rpc/jobs.ts";
import type { RpcNode } from "../../../node/rpc/methods.ts";
import { archivedProofsEndedFrom } from "../../../node/state/job-archive.ts";
import { JobStatus, isVacantJob, isVacantProof } from "../../../node/state/schemas.ts";
import { idKey, type WorldState } from "../../../node/state/world.ts";
import { ReceiptStatus, type WorkAttestationT } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import type { JobSpecT } from "../../../node/types/transaction.ts";
import { toHex } from "../../../node/util/hex.ts";
import { ChainDriver } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { smallJobSpec } from "../../helpers/job-spec.ts";
import { body } from "../../helpers/tx.ts";

const R = 5;
const AD = 4;
const CW = 2;
const data = syntheticDataset({ seed: "job-retention", features: 8, classes: 3, train: 64, validation: 16 });
const netWith = (jobRetentionBlocks: number) =>
  makeTestNet({
    validators: 4,
    accounts: 3,
    label: "job-retention",
    params: { attestationDeadline: AD, challengeWindow: CW, jobRetentionBlocks },
    datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 64, validation: 16 }],
  });
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const disk = () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-job-retention-"));
  dirs.push(dir);
  return { dbDir: join(dir, "data"), blocksDir: join(dir, "blocks") };
};
const spec = (over: Partial<JobSpecT> = {}): JobSpecT => smallJobSpec(data.id, over);
const commitment = () => ({ checkpointsRoot: new Uint8Array(32).fill(1), count: checkpointCount(spec()), finalWeightsHash: new Uint8Array(32).fill(2), claimedMetric: 9000, bond: 1000n });

/** The derived indices of a world, comparable with toEqual. */
const derived = (w: WorldState) => ({
  jobIndex: [...w.jobIndex].sort(),
  proofIndex: [...w.proofIndex].sort(),
  freeJobSlots: [...w.freeJobSlots],
  freeProofSlots: [...w.freeProofSlots],
  proofsOfJob: [...w.proofsOfJob].sort((a, b) => a[0] - b[0]),
  openProofs: [...w.openProofs].sort((a, b) => a - b),
});

describe("jobs leaving the live state", () => {
  it("archives ended jobs with their proofs R blocks after they ended, reuses their slots, answers RPC from the archive and reloads to the same state", async () => {
    const net = netWith(R);
    const [requester, worker] = net.accounts as [AccountKey, AccountKey];
    const where = disk();
    let d = await ChainDriver.open(net.genesisJson, net.validators, where);
    const ok = async (txs: ReturnType<ChainDriver["sign"]>[], attestations: WorkAttestationT[] = []) => {
      const r = await d.next(txs, { attestations });
      expect(r.receipts.map((x) => (x.status === ReceiptStatus.Success ? "" : Buffer.from(x.error).toString()))).toEqual(txs.map(() => ""));
    };
    const attest = (proofId: Uint8Array): WorkAttestationT[] =>
      (net.validators as AccountKey[]).slice(0, 3).map((k) => ({ proofId, valid: true, validator: k.address, signature: k.sign(attestationSigningMessage(d.chain.ctx.chainId, proofId, true)) }));
    const node = () => ({ chain: d.chain }) as unknown as RpcNode;
    const getJob = async (id: Uint8Array) => (await jobMethods.pouw_getJob!(node(), [toHex(id)])) as { status: string; archived: boolean; endedAt: number | null; proof: string | null };
    const getProof = async (id: Uint8Array) => (await jobMethods.pouw_getProof!(node(), [toHex(id)])) as { status: string; archived: boolean; jobId: string };
    try {
      // Block 1: four jobs. A is cancelled, B completed, C expires, D's proof is rejected and D then cancelled.
      const [A, B, C, D] = [spec(), spec(), spec({ deadline: 4 }), spec()].map((s) => d.sign(requester, body.createJob(s, 10_000n, 1000n)));
      await ok([A!, B!, C!, D!]);
      const slotOf = (id: Uint8Array) => d.chain.world.jobIndex.get(idKey(id))!;
      const slots = [A!, B!, C!, D!].map((t) => slotOf(t.hash));
      expect(slots).toEqual([0, 1, 2, 3]);
      // Block 2: cancel A; proofs for B and D.
      const pB = d.sign(worker, body.submitProof(B!.hash, commitment()));
      const pD = d.sign(worker, body.submitProof(D!.hash, commitment()));
      await ok([d.sign(requester, body.cancelJob(A!.hash)), pB, pD]);
      const proofB = proofIdOf(B!.hash, pB.hash);
      const proofD = proofIdOf(D!.hash, pD.hash);
      // Block 3: B's proof accepted (paid at 3 + CW = 5). C expires at 5. D's proof is rejected at 2 + AD = 6.
      await ok([], attest(proofB));
      while (d.height < 6) await ok([]);
      expect(d.chain.world.jobs[slots[1]!]!.status).toBe(JobStatus.Completed);
      expect(d.chain.world.jobs[slots[1]!]!.endedAt).toBe(5);
      expect(d.chain.world.jobs[slots[2]!]!.status).toBe(JobStatus.Expired);
      expect(d.chain.world.jobs[slots[3]!]!.status).toBe(JobStatus.Open); // reopened after the rejection
      // Block 7: D cancelled (ended 7). A (ended 2) leaves at the end of block 2 + R = 7.
      await ok([d.sign(requester, body.cancelJob(D!.hash))]);
      let w = d.chain.world;
      expect(isVacantJob(w.jobs[slots[0]!]!)).toBe(true);
      expect(w.jobIndex.has(idKey(A!.hash))).toBe(false);
      expect(w.freeJobSlots).toEqual([slots[0]]);
      expect(await getJob(A!.hash)).toMatchObject({ status: "cancelled", archived: true, endedAt: 2, proof: null });
      // Block 8: a new job takes A's slot; the list does not grow.
      const E = d.sign(requester, body.createJob(spec(), 10_000n, 1000n));
      await ok([E]);
      expect(slotOf(E.hash)).toBe(slots[0]);
      expect(d.chain.world.jobs).toHaveLength(4);
      expect(d.chain.world.freeJobSlots).toEqual([]);
      // B and C (ended 5) leave at 10, with B's paid proof; D (ended 7) at 12, with its rejected proof.
      while (d.height < 10) await ok([]);
      w = d.chain.world;
      expect(w.freeJobSlots).toEqual([slots[1], slots[2]]);
      expect(w.proofIndex.has(idKey(proofB))).toBe(false);
      expect(w.proofIndex.has(idKey(proofD))).toBe(true);
      expect(await getJob(B!.hash)).toMatchObject({ status: "completed", archived: true, endedAt: 5, proof: toHex(proofB) });
      expect(await getProof(proofB)).toMatchObject({ status: "paid", archived: true, jobId: toHex(B!.hash) });
      expect(await getJob(C!.hash)).toMatchObject({ status: "expired", archived: true, endedAt: 5 });
      // A proof of E takes B's proof slot (the lowest free one).
      const pE = d.sign(worker, body.submitProof(E.hash, commitment()));
      const bSlot = w.freeProofSlots[0]!;
      await ok([pE]);
      expect(d.chain.world.proofIndex.get(idKey(proofIdOf(E.hash, pE.hash)))).toBe(bSlot);
      while (d.height < 12) await ok([]);
      w = d.chain.world;
      expect(w.jobIndex.has(idKey(D!.hash))).toBe(false);
      expect(await getProof(proofD)).toMatchObject({ status: "rejected", archived: true, jobId: toHex(D!.hash) });
      expect(w.jobs).toHaveLength(4);
      expect(w.proofs).toHaveLength(2);
      expect(w.proofs.filter(isVacantProof)).toHaveLength(1);
      // The live list shows only what is still in the state, newest first.
      const list = (await jobMethods.pouw_listJobs!(node(), [{}])) as { total: number; jobs: { id: string }[] };
      expect(list.jobs.map((j) => j.id)).toEqual([toHex(E.hash)]);
      // Blob pruning finds the archived proofs by the height their job ended.
      expect((await archivedProofsEndedFrom(d.db, 6)).map((p) => toHex(p.id))).toEqual([toHex(proofD)]);
      expect((await archivedProofsEndedFrom(d.db, 0)).map((p) => toHex(p.id)).sort()).toEqual([toHex(proofB), toHex(proofD)].sort());
      // A restart reads the same records back: same root, same free slots and indices.
      const root = toHex(d.chain.world.root);
      const before = derived(d.chain.world);
      await d.close();
      d = await ChainDriver.open(net.genesisJson, net.validators, where);
      expect(toHex(d.chain.world.root)).toBe(root);
      expect(derived(d.chain.world)).toEqual(before);
      expect((await getJob(D!.hash)).archived).toBe(true);
      // E's proof is paid after the restart (the job index is rebuilt from the records), and E leaves R blocks later.
      await ok([], attest(proofIdOf(E.hash, pE.hash)));
      while (d.height < 16 + CW + R) await ok([]);
      expect(d.chain.world.jobIndex.size).toBe(0);
      expect(await getJob(E.hash)).toMatchObject({ status: "completed", archived: true });
    } finally {
      await d.close();
    }
  });

  it("has the same roots as a keep-everything chain until the first job leaves, and refuses that block", async () => {
    const net = netWith(R);
    const [requester] = net.accounts as [AccountKey];
    const d = await ChainDriver.open(net.genesisJson, net.validators, disk());
    try {
      const A = d.sign(requester, body.createJob(spec(), 10_000n, 1000n));
      await d.next([A]);
      await d.next([d.sign(requester, body.cancelJob(A.hash))]);
      while (d.height < 2 + R) await d.next([]);
      expect(d.chain.world.freeJobSlots).toEqual([0]);
      const keepAll = netWith(0);
      const where = disk();
      const db = await openDb(where.dbDir);
      const chain = await Blockchain.open(db, parseGenesis(JSON.parse(keepAll.genesisJson)), genesisFileHash(keepAll.genesisJson), where.blocksDir);
      const items = [];
      for (let h = 1; h <= d.height; h++) items.push({ block: (await d.chain.store.getBlock(h))!, commit: (await d.chain.store.getCommit(h))! });
      const r = await chain.importBatch(items, { now: Date.now() + 10 ** 12 });
      expect(r.imported).toBe(1 + R);
      expect(String((r.error as Error).message)).toMatch(/state ?root/i);
      expect(chain.world.jobs[0]!.status).toBe(JobStatus.Cancelled);
      await chain.close();
      await db.close();
    } finally {
      await d.close();
    }
  });
});

