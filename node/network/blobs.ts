/**
 * The `blob` req/resp protocol (DESIGN §10): a request is a 32-byte blob id,
 * the response that blob (or nothing). Whoever fetches checks the bytes
 * against the id (`matches`) before using or storing them, and penalises a
 * peer that served something else.
 */
import { MAX_BLOB_BYTES, type BlobStore } from "../db/blobs.ts";
import type { PouwNetwork } from "./network.ts";
import { protocolId, request, serve } from "./reqresp.ts";

export async function serveBlobs(network: PouwNetwork, chainId: string, store: BlobStore): Promise<void> {
  await serve(network.libp2p, protocolId(chainId, "blob"), { maxResponseBytes: MAX_BLOB_BYTES, timeoutMs: 30_000 }, async (req, peer) => {
    if (req.length !== 32) {
      network.penalise(peer, "malformed blob request");
      return [];
    }
    const blob = await store.get(req);
    return blob ? [blob] : [];
  });
}

/** Asks connected peers in turn for blob `id`; returns the first answer that `matches`, or undefined. */
export async function fetchBlob(network: PouwNetwork, chainId: string, id: Uint8Array, matches: (id: Uint8Array, bytes: Uint8Array) => boolean): Promise<Uint8Array | undefined> {
  for (const peer of network.libp2p.getPeers().map((p) => p.toString())) {
    let res: Uint8Array[];
    try {
      res = await request(network.libp2p, peer, protocolId(chainId, "blob"), id, { maxResponseBytes: MAX_BLOB_BYTES, timeoutMs: 30_000 });
    } catch {
      continue;
    }
    const bytes = res[0];
    if (!bytes || bytes.length === 0) continue;
    if (!matches(id, bytes)) {
      network.penalise(peer, "served a blob that does not match its id");
      continue;
    }
    return new Uint8Array(bytes);
  }
  return undefined;
}
