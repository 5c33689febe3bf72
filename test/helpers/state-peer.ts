/**
 * A libp2p peer on 127.0.0.1 that serves a chain a ChainDriver built: status,
 * blocks_by_range (as the node does) and its state snapshots through the
 * node's own serveStateSnapshots. Hooks let a test make it lie.
 */
import { multiaddr } from "@multiformats/multiaddr";
import type { Blockchain } from "../../node/chain/blockchain.ts";
import { protocolId, serve } from "../../node/network/reqresp.ts";
import { BlocksByRangeRequest, StatusMessage } from "../../node/sync/messages.ts";
import type { StateSnapshots } from "../../node/sync/snapshot-store.ts";
import { serveStateSnapshots } from "../../node/sync/state-serve.ts";
import { createGossipPeer } from "./gossip-peer.ts";

export interface StatePeerHooks {
  /** Rewrites a chunk before it is sent. */
  chunk?: (height: number, index: number, bytes: Uint8Array) => Uint8Array | null;
  /** Rewrites a manifest (head, rest) before it is sent; null answers "not held". */
  manifest?: (m: { head: Uint8Array; rest: Uint8Array }) => { head: Uint8Array; rest: Uint8Array } | null;
  /** Rewrites a blocks_by_range response (the blocks then the last one's commit). */
  range?: (start: number, out: Uint8Array[]) => Uint8Array[];
}

export async function createStatePeer(chain: Blockchain, genesisHash: Uint8Array, snapshots: StateSnapshots, hooks: StatePeerHooks = {}) {
  const peer = await createGossipPeer();
  const chainId = chain.genesis.chainId;
  const penalties: string[] = [];
  await serve(peer, protocolId(chainId, "status"), { maxResponseBytes: 1024, timeoutMs: 5000 }, async () => [
    StatusMessage.serialize({ height: chain.head.header.height, headHash: chain.head.hash, genesisHash }),
  ]);
  await serve(peer, protocolId(chainId, "blocks_by_range"), { maxResponseBytes: 16 << 20, timeoutMs: 5000 }, async (req) => {
    const r = BlocksByRangeRequest.deserialize(req);
    const last = Math.min(chain.head.header.height, r.startHeight + r.count - 1);
    const out: Uint8Array[] = [];
    for (let h = r.startHeight; h <= last; h++) out.push((await chain.store.getBlockBytes(h))!);
    if (out.length === 0) return [];
    out.push((await chain.store.getCommitBytes(last))!);
    return hooks.range ? hooks.range(r.startHeight, out) : out;
  });
  // The node's own serving code, over a view of the store the hooks can bend.
  const view = Object.create(snapshots) as StateSnapshots;
  view.manifest = (height) => {
    const m = snapshots.manifest(height);
    return m && hooks.manifest ? hooks.manifest(m) : m;
  };
  view.chunk = async (height, index) => {
    const c = await snapshots.chunk(height, index);
    return c && hooks.chunk ? hooks.chunk(height, index, c) : c;
  };
  await serveStateSnapshots(peer, chainId, view, (p, why) => penalties.push(`${p}: ${why}`));
  await peer.start();
  const address = multiaddr(peer.getMultiaddrs().find((a) => a.toString().includes("127.0.0.1"))!.toString()).toString();
  return { peer, address, id: peer.peerId.toString(), penalties, stop: () => peer.stop() };
}
