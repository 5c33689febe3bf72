/**
 * The `anchor_signatures` req/resp protocol (DESIGN §9, §10): a request is
 * an epoch (SSZ uint64), the response the anchor signatures the peer holds
 * for that epoch's checkpoint, each as a gossip message. A node that was
 * away when they were gossiped (a relayer that restarted, a follower that
 * synced past the epoch) fetches them this way; it verifies every one
 * before storing it.
 */
import type { PouwNetwork } from "./network.ts";
import { protocolId, request, serve } from "./reqresp.ts";

/** uint64 epoch ‖ 65-byte signature. */
const MESSAGE_BYTES = 8 + 65;
/** As many signatures as req/resp carries in one answer (more than any set of `maxValidators` ≤ 256 needs). */
const MAX_SIGNATURES = 256;

export async function serveAnchorSignatures(network: PouwNetwork, chainId: string, list: (epoch: number) => Promise<Uint8Array[]>): Promise<void> {
  await serve(network.libp2p, protocolId(chainId, "anchor_signatures"), { maxResponseBytes: MESSAGE_BYTES, timeoutMs: 10_000 }, async (req, peer) => {
    if (req.length !== 8) {
      network.penalise(peer, "malformed anchor_signatures request");
      return [];
    }
    const epoch = Number(new DataView(req.buffer, req.byteOffset, 8).getBigUint64(0, true));
    return (await list(epoch)).slice(0, MAX_SIGNATURES);
  });
}

/**
 * Asks connected peers in turn for epoch `epoch`'s signatures; `accept`
 * checks and stores each message and says whether it was valid, and
 * whether the checkpoint now has what it needs (stop asking). A peer that
 * serves an invalid signature is penalised.
 */
export async function fetchAnchorSignatures(
  network: PouwNetwork,
  chainId: string,
  epoch: number,
  accept: (message: Uint8Array) => Promise<"valid" | "invalid">,
  enough: () => Promise<boolean>,
): Promise<void> {
  const body = new Uint8Array(8);
  new DataView(body.buffer).setBigUint64(0, BigInt(epoch), true);
  for (const peer of network.libp2p.getPeers().map((p) => p.toString())) {
    let res: Uint8Array[];
    try {
      res = await request(network.libp2p, peer, protocolId(chainId, "anchor_signatures"), body, { maxResponseBytes: MESSAGE_BYTES, timeoutMs: 10_000 });
    } catch {
      continue;
    }
    for (const m of res) {
      if ((await accept(m)) === "invalid") {
        network.penalise(peer, "served an invalid anchor signature");
        break;
      }
    }
    if (await enough()) return;
  }
}
