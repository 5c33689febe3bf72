/**
 * Proof of learning, prover against verifier, on a small synthetic job: an
 * honest proof verifies; forged checkpoints (skipped steps, interpolation,
 * one forged segment), an inflated metric, withheld blobs, a proof replayed
 * for another job and a manifest that does not match are each caught with a
 * specific reason. Merkle branches verify exactly for their leaf.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256 } from "../../../node/crypto/hash.ts";
import { syntheticDataset } from "../../../node/pouw/datasets.ts";
import { merkleBranch, merkleRoot, verifyBranch } from "../../../node/pouw/merkle.ts";
import { blobMatches, encodeManifest, prove, sampleSegments, verifyProof, type ProverOutput } from "../../../node/pouw/proof.ts";
import { checkpointHash, decodeCheckpoint, encodeCheckpoint, f32ToBits, weightsHash } from "../../../node/pouw/training.ts";
import type { JobSpecT } from "../../../node/types/transaction.ts";
import { toHex } from "../../../node/util/hex.ts";

const data = syntheticDataset({ seed: "proof-test", features: 8, classes: 3, train: 256, validation: 96 });
const spec: JobSpecT = {
  datasetId: data.id,
  layers: [8, 16, 3],
  learningRateBits: f32ToBits(0.1),
  momentumBits: f32ToBits(0.9),
  batchSize: 16,
  steps: 80,
  segmentLength: 10,
  seed: new Uint8Array(32).fill(4),
  targetMetric: 0,
  targetThreshold: 5000,
  deadline: 100,
};
const jobId = new Uint8Array(32).fill(0x11);
const proofId = new Uint8Array(32).fill(0x22);
const randomness = new Uint8Array(32).fill(0x33);
const honest = prove(spec, jobId, data);
const N = 8 * 16 + 16 + 16 * 3 + 3;

/** A blob server over a proof's blobs, with a hook to drop or replace some. */
function server(p: ProverOutput, blobs: Uint8Array[] = p.blobs, manifest = p.manifest) {
  const byId = new Map<string, Uint8Array>([[toHex(p.commitment.checkpointsRoot), manifest]]);
  for (const b of blobs) byId.set(toHex(sha256(b)), b);
  return async (id: Uint8Array) => byId.get(toHex(id));
}

/** A forged proof: the given checkpoints instead of trained ones, with a consistent manifest and commitment. */
function forged(blobs: Uint8Array[], claimedMetric = honest.commitment.claimedMetric): ProverOutput {
  const hashes = blobs.map(checkpointHash);
  const last = decodeCheckpoint(blobs[blobs.length - 1]!, N);
  return {
    ...honest,
    blobs,
    hashes,
    manifest: encodeManifest(hashes),
    commitment: { ...honest.commitment, checkpointsRoot: merkleRoot(hashes), finalWeightsHash: weightsHash(last.params), claimedMetric },
  };
}

const verify = (p: ProverOutput, over: Partial<Parameters<typeof verifyProof>[0]> = {}) =>
  verifyProof({ spec, jobId, proofId, commitment: p.commitment, dataset: data, randomness, sampled: 3, getBlob: server(p), ...over });

describe("proof of learning", () => {
  it("an honest proof verifies: three sampled segments re-executed, checkpoint 0 and the final metric checked", async () => {
    expect(honest.finite).toBe(true);
    expect(honest.commitment.count).toBe(9);
    expect(honest.accuracyBps).toBeGreaterThan(5000);
    const r = await verify(honest);
    expect(r.reason).toMatch(/^segments/);
    expect(r.valid).toBe(true);
    expect(r.segments).toHaveLength(3);
    expect(r.stepsRun).toBe(30);
  });

  it("skipped steps (each checkpoint a copy of the previous one, relabelled) are caught by any sampled segment", async () => {
    const blobs = honest.blobs.map((_, i) => {
      const s = decodeCheckpoint(honest.blobs[0]!, N);
      s.step = Math.min(i * 10, 80);
      return encodeCheckpoint(s);
    });
    const r = await verify(forged(blobs));
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/segment \d re-executed to/);
  });

  it("interpolated checkpoints between the true start and end are caught", async () => {
    const w0 = decodeCheckpoint(honest.blobs[0]!, N);
    const wn = decodeCheckpoint(honest.blobs[8]!, N);
    const blobs = honest.blobs.map((_, i) => {
      if (i === 0 || i === 8) return honest.blobs[i]!;
      const t = i / 8;
      const s = { step: i * 10, params: w0.params.map((a, k) => a + (wn.params[k]! - a) * t), velocity: w0.velocity.map((a, k) => a + (wn.velocity[k]! - a) * t) };
      return encodeCheckpoint(s);
    });
    const r = await verify(forged(blobs));
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/segment \d re-executed to/);
  });

  it("one forged segment is caught exactly when it is sampled (the challenge covers the rest)", async () => {
    const blobs = [...honest.blobs];
    const s = decodeCheckpoint(blobs[5]!, N);
    s.params[0] = s.params[0]! + 0.001;
    blobs[5] = encodeCheckpoint(s);
    const p = forged(blobs);
    // Segments 4 (ends at the forged checkpoint) and 5 (starts there) are affected.
    const outcomes = new Set<boolean>();
    for (let seed = 0; seed < 12; seed++) {
      const rnd = new Uint8Array(32).fill(seed);
      const picked = sampleSegments(rnd, proofId, 8, 3);
      const r = await verify(p, { randomness: rnd });
      const hit = picked.includes(4) || picked.includes(5);
      expect(r.valid, `segments ${picked}`).toBe(!hit);
      outcomes.add(hit);
    }
    expect([...outcomes].sort()).toEqual([false, true]); // both cases were exercised
  });

  it("a claimed metric above the real one is rejected; an equal or lower claim is valid", async () => {
    const over = { ...honest, commitment: { ...honest.commitment, claimedMetric: honest.accuracyBps + 1 } };
    const r = await verify(over, { getBlob: server(honest) });
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(/claimed accuracy .* the final model has accuracy/);
    const under = { ...honest, commitment: { ...honest.commitment, claimedMetric: honest.accuracyBps - 100 } };
    expect((await verify(under, { getBlob: server(honest) })).valid).toBe(true);
  });

  it("withheld blobs make the proof unverifiable (reason 'withheld'), whichever blob is missing", async () => {
    expect((await verify(honest, { getBlob: async () => undefined })).reason).toBe("withheld");
    const picked = sampleSegments(randomness, proofId, 8, 3);
    const missing = honest.blobs.filter((_, i) => i !== picked[1]);
    expect((await verify(honest, { getBlob: server(honest, missing) })).reason).toBe("withheld");
    const noFinal = honest.blobs.slice(0, 8);
    expect((await verify(honest, { getBlob: server(honest, noFinal) })).reason).toBe("withheld");
  });

  it("a proof replayed for another job fails at checkpoint 0 (the initial weights depend on the job id)", async () => {
    const r = await verify(honest, { jobId: new Uint8Array(32).fill(0x12) });
    expect(r.valid).toBe(false);
    expect(r.reason).toBe("checkpoint 0 is not the job's initial state");
  });

  it("a manifest that does not hash to the root, or has the wrong count, is refused", async () => {
    const wrong = encodeManifest([...honest.hashes.slice(0, 8), new Uint8Array(32)]);
    expect((await verify(honest, { getBlob: server(honest, honest.blobs, wrong) })).reason).toBe("manifest does not match the checkpoints root");
    expect(blobMatches(honest.commitment.checkpointsRoot, honest.manifest)).toBe(true);
    expect(blobMatches(honest.commitment.checkpointsRoot, wrong)).toBe(false);
    expect(blobMatches(honest.hashes[3]!, honest.blobs[3]!)).toBe(true);
    expect(blobMatches(honest.hashes[3]!, honest.blobs[4]!)).toBe(false);
    const short = { ...honest, commitment: { ...honest.commitment, count: 8 } };
    expect((await verify(short)).reason).toBe("commitment has 8 checkpoints, the job 9");
  });

  it("sampling is a pure function of (randomness, proof id) and picks distinct in-range segments", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 5 }), (rnd, segments, q) => {
        const a = sampleSegments(rnd, proofId, segments, q);
        expect(sampleSegments(rnd, proofId, segments, q)).toEqual(a);
        expect(a.length).toBe(Math.min(q, segments));
        expect(new Set(a).size).toBe(a.length);
        expect(a.every((s) => s >= 0 && s < segments)).toBe(true);
      }),
      { seed: 0x5a3, numRuns: 300 },
    );
  });
});

describe("checkpoint Merkle tree", () => {
  it("each leaf's branch verifies for its index only", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (n, pick) => {
        const leaves = Array.from({ length: n }, (_, i) => sha256(Uint8Array.of(i, n)));
        const root = merkleRoot(leaves);
        const i = pick % n;
        const branch = merkleBranch(leaves, i);
        expect(verifyBranch(root, leaves[i]!, i, n, branch)).toBe(true);
        if (n > 1) expect(verifyBranch(root, leaves[i]!, (i + 1) % n, n, branch)).toBe(false);
        expect(verifyBranch(root, sha256(Uint8Array.of(99)), i, n, branch)).toBe(false);
      }),
      { seed: 0x3e7, numRuns: 200 },
    );
  });
});
