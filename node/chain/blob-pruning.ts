/**
 * Deleting proofs' blobs on a pruned node (decision 0010): the manifest and
 * checkpoint blobs of a proof that is final (paid, rejected, fraudulent: no
 * challenge can come any more) and was decided below the pruning floor (so
 * this node no longer serves the blocks a syncing node would need them for;
 * an archive node keeps every blob). A blob another proof still counts on
 * (live, or final at or above the floor: the same checkpoint under two
 * proofs) or one staged for a coming proof stays.
 */
import type { BlobStore } from "../db/blobs.ts";
import { decodeManifest } from "../pouw/proof.ts";
import { ProofStatus, isVacantProof, type ProofT } from "../state/schemas.ts";

const isFinal = (p: ProofT) => p.status === ProofStatus.Paid || p.status === ProofStatus.Rejected || p.status === ProofStatus.Fraudulent;

/** The blob ids a proof refers to: its manifest and, when this node holds the manifest, every checkpoint in it. */
async function blobsOf(p: ProofT, blobs: BlobStore): Promise<Uint8Array[]> {
  const root = p.commitment.checkpointsRoot;
  const manifest = await blobs.get(root);
  return [root, ...((manifest && decodeManifest(manifest, root)) ?? [])];
}

/**
 * Deletes the blobs of proofs decided in [the last run's floor, `floor`) and
 * records `floor`. Returns how many blobs went. Looks at the live proofs in
 * memory and, through `archivedFrom`, at the proofs of jobs that left the
 * live state having ended at or after the last run's floor (decision 0010:
 * every proof decided since is among those two), and reads the manifests of
 * the proofs involved.
 */
export async function pruneProofBlobs(
  proofs: readonly ProofT[],
  blobs: BlobStore,
  floor: number,
  archivedFrom: (height: number) => Promise<ProofT[]> = async () => [],
): Promise<number> {
  const from = await blobs.prunedBelow();
  if (floor <= from) return 0;
  const keep = new Set<string>();
  const drop = new Map<string, Uint8Array>();
  for (const p of [...proofs.filter((x) => !isVacantProof(x)), ...(await archivedFrom(from))]) {
    const gone = isFinal(p) && p.decidedAt < floor;
    if (gone && p.decidedAt < from) continue; // done by an earlier run
    for (const id of await blobsOf(p, blobs)) {
      const k = Buffer.from(id).toString("hex");
      if (gone) drop.set(k, id);
      else keep.add(k);
    }
  }
  const ids: Uint8Array[] = [];
  for (const [k, id] of drop) if (!keep.has(k) && !(await blobs.isStaged(id))) ids.push(id);
  await blobs.prune(ids, floor);
  return ids.length;
}
