/**
 * A pruned node deletes the blobs of proofs that are final and were decided
 * below its floor, and keeps a blob another proof still counts on (live, or
 * decided at or above the floor), a staged one, and everything above the
 * floor; a second run does not redo the range. Proofs whose job left the
 * live state (decision 0010) count the same through the archive, and a
 * vacant slot counts for nothing.
 */
import { describe, expect, it } from "vitest";
import { pruneProofBlobs } from "../../../node/chain/blob-pruning.ts";
import { sha256 } from "../../../node/crypto/hash.ts";
import { BlobStore } from "../../../node/db/blobs.ts";
import { openDb } from "../../../node/db/database.ts";
import { merkleRoot } from "../../../node/pouw/merkle.ts";
import { encodeManifest } from "../../../node/pouw/proof.ts";
import { ProofStatus, vacantProof, type ProofT } from "../../../node/state/schemas.ts";
import { utf8 } from "../../../node/util/hex.ts";

const blob = (name: string) => utf8(`checkpoint ${name}`);

/** Stores the checkpoint blobs and their manifest; returns a proof record referring to them. */
async function proofWith(store: BlobStore, names: string[], status: number, decidedAt: number): Promise<ProofT> {
  const hashes = [];
  for (const n of names) hashes.push(await store.put(blob(n)));
  const root = merkleRoot(hashes);
  await store.put(encodeManifest(hashes), root);
  return {
    id: sha256(utf8(names.join())),
    job: 0,
    worker: new Uint8Array(20),
    commitment: { checkpointsRoot: root, count: names.length, finalWeightsHash: new Uint8Array(32), claimedMetric: 0, bond: 1n },
    submittedAt: 1,
    status,
    decidedAt,
    validPower: 0n,
    invalidPower: 0n,
    attesters: [],
    dissenters: [],
  };
}

describe("pruning proofs' blobs", () => {
  it("deletes what only final proofs below the floor refer to, and nothing else", async () => {
    const db = await openDb(null);
    const store = new BlobStore(db);
    const paid = await proofWith(store, ["a0", "a1", "shared"], ProofStatus.Paid, 5);
    const rejected = await proofWith(store, ["b0", "b1"], ProofStatus.Rejected, 8);
    const live = await proofWith(store, ["c0", "shared"], ProofStatus.Pending, 0);
    const recent = await proofWith(store, ["d0", "d1"], ProofStatus.Fraudulent, 30);
    const staged = blob("a1");
    await store.putStaged(staged, sha256(staged), 1e15, 0);
    const has = async (n: string) => store.has(sha256(blob(n)));

    // a0 + paid's manifest + b0 + b1 + rejected's manifest: 5 (a1 is staged, shared is live's too).
    expect(await pruneProofBlobs([paid, rejected, live, recent], store, 20)).toBe(5);
    expect(await store.prunedBelow()).toBe(20);
    expect(await has("a0")).toBe(false);
    expect(await store.has(paid.commitment.checkpointsRoot)).toBe(false);
    expect(await has("b0")).toBe(false);
    expect(await has("b1")).toBe(false);
    expect(await has("a1")).toBe(true); // staged for a coming proof
    expect(await has("shared")).toBe(true); // the live proof's too
    expect(await has("c0")).toBe(true);
    expect(await store.has(live.commitment.checkpointsRoot)).toBe(true);
    expect(await has("d0")).toBe(true); // decided above the floor
    // Same floor again: nothing to do.
    expect(await pruneProofBlobs([paid, rejected, live, recent], store, 20)).toBe(0);
    // The floor passes the fraudulent proof; the live one still holds "shared".
    expect(await pruneProofBlobs([paid, rejected, live, recent], store, 31)).toBe(3);
    expect(await has("d0")).toBe(false);
    expect(await has("shared")).toBe(true);
    await db.close();
  });

  it("counts archived proofs (their job left the live state) like live ones, asking from the last run's floor", async () => {
    const db = await openDb(null);
    const store = new BlobStore(db);
    const paid = await proofWith(store, ["a0", "shared"], ProofStatus.Paid, 5);
    const recent = await proofWith(store, ["d0", "shared"], ProofStatus.Rejected, 30);
    const asked: number[] = [];
    const start = await store.prunedBelow();
    const archived = async (h: number) => {
      asked.push(h);
      return [paid, recent];
    };
    // Only vacant slots are left in memory; the archive holds both proofs. "shared" is the recent one's too.
    expect(await pruneProofBlobs([vacantProof(), vacantProof()], store, 20, archived)).toBe(2);
    expect(await store.has(sha256(blob("a0")))).toBe(false);
    expect(await store.has(sha256(blob("shared")))).toBe(true);
    expect(await pruneProofBlobs([vacantProof()], store, 31, archived)).toBe(3);
    expect(await store.has(sha256(blob("shared")))).toBe(false);
    expect(asked).toEqual([start, 20]);
    await db.close();
  });
});
