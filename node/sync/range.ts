/**
 * One blocks_by_range exchange, decoded: the blocks in order, each with the
 * commit that proves it (block h's is block h+1's lastCommit, the last one's
 * came separately) and the bytes they came in. Used by block sync and by
 * state sync (which checks the hash chain from a snapshot to a trusted block).
 */
import type { Libp2p } from "@libp2p/interface";
import { protocolId, request } from "../network/reqresp.ts";
import { Block, blockLastCommitBytes, blockTxBytes, Commit, type BlockT, type CommitT } from "../types/block.ts";
import { BlocksByRangeRequest } from "./messages.ts";

/** A fetched block and its commit, decoded, with the bytes they came in. */
export interface SyncItem {
  block: BlockT;
  commit: CommitT;
  txBytes: Uint8Array[];
  encoded: { block: Uint8Array; commit: Uint8Array };
}

/** Blocks `start` … `start+count-1` (or fewer: the server's byte budget, or what it holds) from `peer`. Throws on a failed exchange or bytes that do not decode. */
export async function fetchBlockRange(
  libp2p: Libp2p,
  chainId: string,
  peer: string,
  start: number,
  count: number,
  opts: { maxResponseBytes: number; timeoutMs: number },
): Promise<SyncItem[]> {
  const res = await request(libp2p, peer, protocolId(chainId, "blocks_by_range"), BlocksByRangeRequest.serialize({ startHeight: start, count }), opts);
  const items: SyncItem[] = [];
  if (res.length < 2) return items;
  // Decoded values are views into the received bytes (no copy; blocks are never mutated). Plain Uint8Array views:
  // views of a Buffer would be Buffers, slower to make by the thousand.
  const plain = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const blocks = res.slice(0, -1).map(plain);
  const decoded = blocks.map((b) => Block.deserialize(b, { reuseBytes: true }));
  const lastCommit = plain(res[res.length - 1]!);
  for (let i = 0; i < blocks.length; i++) {
    // Block h's commit is block h+1's lastCommit; the last block's came separately.
    const next = decoded[i + 1];
    const encoded = { block: blocks[i]!, commit: next ? blockLastCommitBytes(blocks[i + 1]!) : lastCommit };
    items.push({
      block: decoded[i]!,
      commit: next ? next.body.lastCommit : Commit.deserialize(lastCommit, { reuseBytes: true }),
      txBytes: blockTxBytes(blocks[i]!),
      encoded,
    });
  }
  return items;
}
