/**
 * Serves this node's state snapshots (snapshot-store.ts) to peers that state
 * sync: the list, a manifest, and chunks (state-messages.ts). A request that
 * does not decode costs the peer; a height or chunk not held answers empty.
 */
import type { Libp2p } from "@libp2p/interface";
import { serve } from "../network/reqresp.ts";
import type { StateSnapshots } from "./snapshot-store.ts";
import { MAX_REST_BYTES, StateRequest, stateProtocolId } from "./state-messages.ts";

const TIMEOUT_MS = 30_000;

export async function serveStateSnapshots(libp2p: Libp2p, chainId: string, snapshots: StateSnapshots, penalise: (peer: string, why: string) => void): Promise<void> {
  const decode = (req: Uint8Array, peer: string) => {
    try {
      return StateRequest.deserialize(req);
    } catch {
      penalise(peer, "malformed state-sync request");
      return null;
    }
  };
  await serve(libp2p, stateProtocolId(chainId, "state_snapshots"), { maxResponseBytes: 64 * 1024, timeoutMs: TIMEOUT_MS }, async () => [snapshots.listing()]);
  await serve(libp2p, stateProtocolId(chainId, "state_manifest"), { maxResponseBytes: MAX_REST_BYTES, timeoutMs: TIMEOUT_MS }, async (req, peer) => {
    const r = decode(req, peer);
    const m = r && snapshots.manifest(r.height);
    return m ? [m.head, m.rest] : [];
  });
  await serve(libp2p, stateProtocolId(chainId, "state_chunk"), { maxResponseBytes: 1 << 20, timeoutMs: TIMEOUT_MS }, async (req, peer) => {
    const r = decode(req, peer);
    const chunk = r && (await snapshots.chunk(r.height, r.index));
    return chunk ? [chunk] : [];
  });
}
