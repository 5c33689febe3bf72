/**
 * State sync (issue 14, decision 0012): a node with an empty home gets the
 * state of a recent snapshot from its peers instead of replaying every block
 * from genesis.
 *
 * Trust comes from one block the operator trusts: its height T and hash
 * (flags or config, as CometBFT's trust_height/trust_hash), or the latest
 * checkpoint anchored on a settlement chain. The node picks the newest
 * snapshot height S ≤ T that peers offer, fetches blocks S … T and checks
 * that T's hash is the trusted one and that each block names the one before
 * (so block S, its state root and its commit are as trusted as T). It takes
 * the manifest from a peer offering S (checked against S's state root), then
 * fetches the account chunks from every such peer in parallel, checking each
 * against its root in the manifest: a peer that serves a bad chunk, a bad
 * manifest or a broken chain is penalised and dropped, and the work goes to
 * the others. The restored state's root is checked again and S's commit
 * against the state's last validator set. Block sync takes it from there.
 */
import type { Libp2p } from "@libp2p/interface";
import { blockHash, bodyMismatch } from "../chain/block.ts";
import { verifyCommit } from "../chain/commit.ts";
import { protocolId, request } from "../network/reqresp.ts";
import { restoreState, verifyAccountChunk, verifyStateManifest, type StateManifest } from "../state/state-chunks.ts";
import type { WorldState } from "../state/world.ts";
import type { BlockT, CommitT } from "../types/block.ts";
import { PouwError } from "../util/errors.ts";
import { bytesEqual, toHex, utf8 } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import { MAX_BLOCKS_PER_REQUEST, StatusMessage } from "./messages.ts";
import { fetchBlockRange, type SyncItem } from "./range.ts";
import { ManifestHead, MAX_REST_BYTES, SnapshotList, StateRequest, stateProtocolId, type SnapshotInfoT } from "./state-messages.ts";

export type StateSyncErrorCode = "TRUST_TOO_OLD" | "TRUST_AHEAD" | "NO_SNAPSHOT" | "NO_HONEST_PEER" | "TRUST_MISMATCH";
export class StateSyncError extends PouwError<StateSyncErrorCode> {}

/** The block the operator trusts. */
export interface TrustRoot {
  height: number;
  hash: Uint8Array;
  /** Where it came from, for the log ("--trust-height/--trust-hash", "the EVM anchor at 0x…"). */
  source: string;
}

export interface StateSyncProgress {
  phase: "peers" | "blocks" | "chunks" | "restore";
  done: number;
  total: number;
  bytes: number;
}

export interface StateSyncOptions {
  /** Give up after this long without the state (ms). */
  timeoutMs: number;
  /** Once a usable snapshot is seen, wait this long for more peers offering it (ms). */
  settleMs: number;
  /** Chunk requests in flight per peer. */
  perPeer: number;
  requestTimeoutMs: number;
}

export const DEFAULT_STATE_SYNC_OPTIONS: StateSyncOptions = { timeoutMs: 10 * 60_000, settleMs: 1500, perPeer: 4, requestTimeoutMs: 15_000 };

export interface StateSyncContext {
  libp2p: Libp2p;
  chainId: string;
  genesisHash: Uint8Array;
  trust: TrustRoot;
  logger: Logger;
  metrics: Metrics | null;
  penalise: (peer: string, why: string) => void;
  onProgress?: (p: StateSyncProgress) => void;
  maxBlockResponseBytes: number;
  opts?: Partial<StateSyncOptions>;
}

/** What state sync hands the chain: the state after block S, block S itself and the commit that finalized it. */
export interface RestoredState {
  world: WorldState;
  block: BlockT;
  hash: Uint8Array;
  commit: CommitT;
  snapshot: SnapshotInfoT;
  /** Peers that served chunks, and those dropped for serving bad data. */
  sources: number;
  dropped: string[];
  bytes: number;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export async function stateSync(ctx: StateSyncContext): Promise<RestoredState> {
  const o = { ...DEFAULT_STATE_SYNC_OPTIONS, ...ctx.opts };
  const { logger, trust } = ctx;
  if (ctx.metrics) preset(ctx.metrics.stateSyncChunks, [{ result: "ok" }, { result: "bad" }, { result: "failed" }]);
  const t0 = performance.now();
  const deadline = Date.now() + o.timeoutMs;
  const dropped = new Set<string>();
  const drop = (peer: string, why: string) => {
    if (dropped.has(peer)) return;
    dropped.add(peer);
    ctx.penalise(peer, why);
    logger.warn({ peer, why }, "State sync: dropped a peer that served bad data");
  };
  logger.info({ trustHeight: trust.height, trustHash: toHex(trust.hash), from: trust.source }, "State sync: looking for a snapshot at or below the trusted block");

  let lastWait = Date.now();
  /** peer@height of snapshots a peer offered but did not serve. */
  const unhelpful = new Set<string>();
  for (;;) {
    if (Date.now() > deadline) throw new StateSyncError("NO_SNAPSHOT", `no peer offered a usable state snapshot within ${Math.round(o.timeoutMs / 1000)} s`);
    const offers = await findOffers(ctx, o, dropped, deadline);
    // Offers a peer could not serve before (no manifest, chunks gone) are not taken again from it.
    for (const s of offers.snapshots) s.peers = s.peers.filter((p) => !unhelpful.has(`${p}@${s.info.height}`));
    offers.snapshots = offers.snapshots.filter((s) => s.peers.length > 0);
    const usable = offers.snapshots.filter((s) => s.info.height <= trust.height);
    if (usable.length === 0) {
      const lowest = Math.min(...offers.snapshots.map((s) => s.info.height));
      if (offers.snapshots.length > 0 && Number.isFinite(lowest)) {
        throw new StateSyncError(
          "TRUST_TOO_OLD",
          `the trusted height ${trust.height} is below every snapshot peers serve (the oldest is ${lowest}): trust a more recent block, at height ${lowest} or above`,
        );
      }
      if (offers.bestHeight > 0 && offers.bestHeight < trust.height) {
        throw new StateSyncError("TRUST_AHEAD", `the trusted height ${trust.height} is above every peer's head (the highest is ${offers.bestHeight})`);
      }
      if (Date.now() - lastWait >= 10_000) {
        lastWait = Date.now();
        logger.info({ peers: offers.heads.size, bestHeight: offers.bestHeight }, "State sync: no peer serves a snapshot yet; waiting");
      }
      await sleep(500);
      continue;
    }
    const S = Math.max(...usable.map((s) => s.info.height));
    // Blocks S … T from a peer that has T: the hash chain makes S as trusted as T.
    const chain = await trustedRange(ctx, o, S, offers.heads, drop);
    if (!chain) {
      logger.warn({ snapshotHeight: S }, "State sync: no peer served a chain from the snapshot to the trusted block; asking again");
      await sleep(1000);
      continue;
    }
    const sHash = blockHash(chain[0]!.block.header);
    const atS = usable.filter((s) => s.info.height === S);
    for (const s of atS) if (!bytesEqual(s.info.blockHash, sHash)) for (const p of s.peers) drop(p, `offered a snapshot of height ${S} for another block`);
    const offer = atS.find((s) => bytesEqual(s.info.blockHash, sHash));
    if (!offer) continue;
    ctx.metrics?.stateSyncSnapshotHeight.set(S);
    logger.info({ snapshotHeight: S, accounts: offer.info.accountCount, chunks: offer.info.chunks, peers: offer.peers.length, trustedBlocks: chain.length }, "State sync: chose a snapshot");
    const root = chain[0]!.block.header.stateRoot;
    const sources = offer.peers.filter((p) => !dropped.has(p));
    const manifest = await fetchManifest(ctx, o, S, sources, root, drop);
    if (!manifest) {
      for (const p of sources) unhelpful.add(`${p}@${S}`);
      continue;
    }
    const got = await fetchChunks(ctx, o, manifest, sources, drop, dropped);
    if (!got.chunks) {
      for (const p of got.gone) unhelpful.add(`${p}@${S}`);
      continue;
    }
    ctx.onProgress?.({ phase: "restore", done: 0, total: 1, bytes: got.bytes });
    const world = restoreState(manifest, got.chunks, root);
    const commit = await trustedCommit(ctx, o, world, chain[0]!, sHash, offers.heads, drop);
    ctx.metrics?.stateSyncProgress.set(1);
    const ms = Math.round(performance.now() - t0);
    return { world, block: chain[0]!.block, hash: sHash, commit, snapshot: offer.info, sources: got.sources, dropped: [...dropped], bytes: got.bytes, ms };
  }
}

interface Offers {
  snapshots: { info: SnapshotInfoT; peers: string[] }[];
  /** Peers on this chain and their heads. */
  heads: Map<string, number>;
  bestHeight: number;
}

/**
 * Asks every connected peer for its head and its snapshots. Once one offers a
 * usable snapshot, waits `settleMs` for more peers to offer it; when peers
 * answer but none can help, returns after 5 s (the caller says why).
 */
async function findOffers(ctx: StateSyncContext, o: StateSyncOptions, dropped: Set<string>, deadline: number): Promise<Offers> {
  let firstUsable = 0;
  let firstAnswer = 0;
  for (;;) {
    const peers = ctx.libp2p.getPeers().map((p) => p.toString()).filter((p) => !dropped.has(p));
    const answers = await Promise.all(peers.map(async (peer) => ({ peer, ...(await askPeer(ctx, peer)) })));
    const heads = new Map<string, number>();
    const byKey = new Map<string, { info: SnapshotInfoT; peers: string[] }>();
    for (const a of answers) {
      if (a.head === null) continue;
      heads.set(a.peer, a.head);
      for (const info of a.snapshots) {
        const key = `${info.height}:${toHex(info.blockHash)}:${info.accountCount}:${info.chunks}`;
        const e = byKey.get(key) ?? { info, peers: [] };
        e.peers.push(a.peer);
        byKey.set(key, e);
      }
    }
    const result: Offers = { snapshots: [...byKey.values()], heads, bestHeight: Math.max(0, ...heads.values()) };
    ctx.onProgress?.({ phase: "peers", done: heads.size, total: peers.length, bytes: 0 });
    const now = Date.now();
    if (heads.size > 0 && firstAnswer === 0) firstAnswer = now;
    const usable = result.snapshots.filter((s) => s.info.height <= ctx.trust.height);
    if (usable.length > 0 && firstUsable === 0) firstUsable = now;
    if (usable.length > 0 && (now - firstUsable >= o.settleMs || usable.every((s) => s.peers.length >= 3))) return result;
    if (usable.length === 0 && firstAnswer > 0 && now - firstAnswer >= Math.max(o.settleMs, 5000)) return result;
    if (now > deadline) return result;
    await sleep(500);
  }
}

async function askPeer(ctx: StateSyncContext, peer: string): Promise<{ head: number | null; snapshots: SnapshotInfoT[] }> {
  const timeoutMs = 5000;
  try {
    const [st] = await request(ctx.libp2p, peer, protocolId(ctx.chainId, "status"), new Uint8Array(0), { maxResponseBytes: 256, timeoutMs });
    const s = StatusMessage.deserialize(st!);
    if (!bytesEqual(s.genesisHash, ctx.genesisHash)) return { head: null, snapshots: [] };
    let snapshots: SnapshotInfoT[] = [];
    try {
      const [list] = await request(ctx.libp2p, peer, stateProtocolId(ctx.chainId, "state_snapshots"), new Uint8Array(0), { maxResponseBytes: 64 * 1024, timeoutMs });
      snapshots = list ? SnapshotList.deserialize(list) : [];
    } catch {
      // a node that serves no snapshots (older, or state sync off): it can still serve blocks
    }
    return { head: s.height, snapshots };
  } catch {
    return { head: null, snapshots: [] };
  }
}

/**
 * Blocks S … T from one peer whose head is at T or above, checked: every
 * block names the one before (a peer whose chain breaks is dropped) and T's
 * hash is the trusted one. A block T with another hash is not proof of a lie
 * (the trusted hash may be the typo), so that peer is only passed over; when
 * every peer that answered has another block T, the trust is what is wrong:
 * TRUST_MISMATCH. Null when no peer could serve the range.
 */
async function trustedRange(ctx: StateSyncContext, o: StateSyncOptions, S: number, heads: Map<string, number>, drop: (peer: string, why: string) => void): Promise<SyncItem[] | null> {
  const T = ctx.trust.height;
  const peers = [...heads].filter(([, h]) => h >= T).map(([p]) => p);
  const otherT = new Map<string, number>();
  for (const peer of peers) {
    const items: SyncItem[] = [];
    try {
      while (items.length < T - S + 1) {
        const start = S + items.length;
        const got = await fetchBlockRange(ctx.libp2p, ctx.chainId, peer, start, Math.min(MAX_BLOCKS_PER_REQUEST, T - start + 1), {
          maxResponseBytes: ctx.maxBlockResponseBytes,
          timeoutMs: o.requestTimeoutMs,
        });
        if (got.length === 0 || got[0]!.block.header.height !== start) throw new Error(`no blocks from ${start}`);
        items.push(...got);
        ctx.onProgress?.({ phase: "blocks", done: items.length, total: T - S + 1, bytes: 0 });
      }
    } catch (e) {
      ctx.logger.warn({ peer, err: (e as Error).message }, "State sync: a peer did not serve the blocks from the snapshot to the trusted block");
      continue;
    }
    const chain = items.slice(0, T - S + 1);
    const why = checkChain(chain, ctx.chainId);
    if (why) {
      drop(peer, why);
      continue;
    }
    const tHash = blockHash(chain[chain.length - 1]!.block.header);
    if (!bytesEqual(tHash, ctx.trust.hash)) {
      otherT.set(toHex(tHash), (otherT.get(toHex(tHash)) ?? 0) + 1);
      ctx.logger.warn({ peer, height: T, hash: toHex(tHash) }, "State sync: a peer's block at the trusted height is not the trusted block");
      continue;
    }
    return chain;
  }
  if (otherT.size > 0) {
    const seen = [...otherT].map(([h, n]) => `${h} (${n} peer${n > 1 ? "s" : ""})`).join(", ");
    throw new StateSyncError("TRUST_MISMATCH", `no peer has the trusted block ${toHex(ctx.trust.hash)} at height ${T}; they have ${seen}: check --trust-hash and --trust-height`);
  }
  return null;
}

/** Why `chain` (blocks S … T, as served) is not one chain of this network whose first block's body is its header's, or null. */
export function checkChain(chain: readonly SyncItem[], chainId: string): string | null {
  const id = utf8(chainId);
  for (let i = chain.length - 1; i >= 0; i--) {
    const h = chain[i]!.block.header;
    if (!bytesEqual(h.chainId, id)) return `block ${h.height} is for another chain`;
    if (i > 0) {
      const prev = chain[i - 1]!.block.header;
      if (prev.height !== h.height - 1 || !bytesEqual(h.lastBlockHash, blockHash(prev))) return `block ${h.height} does not follow block ${prev.height} served with it`;
    }
  }
  // The snapshot block is kept (it becomes the head): its body must be the one its header commits to.
  const body = bodyMismatch(chain[0]!.block);
  return body ? `block ${chain[0]!.block.header.height}: ${body}` : null;
}

async function fetchManifest(ctx: StateSyncContext, o: StateSyncOptions, S: number, peers: string[], root: Uint8Array, drop: (peer: string, why: string) => void): Promise<StateManifest | null> {
  for (const peer of peers) {
    let res: Uint8Array[];
    try {
      res = await request(ctx.libp2p, peer, stateProtocolId(ctx.chainId, "state_manifest"), StateRequest.serialize({ height: S, index: 0 }), { maxResponseBytes: MAX_REST_BYTES, timeoutMs: o.requestTimeoutMs });
    } catch {
      continue;
    }
    if (res.length !== 2) continue; // not held (any more)
    try {
      const head = ManifestHead.deserialize(res[0]!);
      if (head.height !== S) throw new Error(`a manifest of height ${head.height}`);
      const m: StateManifest = { height: S, accountCount: head.accountCount, accountChunkRoots: head.accountChunkRoots, rest: new Uint8Array(res[1]!) };
      verifyStateManifest(m, root);
      return m;
    } catch (e) {
      drop(peer, `bad state manifest: ${(e as Error).message}`);
    }
  }
  return null;
}

/**
 * Every chunk of `m`, fetched from `peers` in parallel (o.perPeer requests in
 * flight each). A chunk that does not match its root drops its peer and goes
 * back in the queue; so does one a peer failed to send (three failures drop
 * it too). Null when every peer is gone before the last chunk.
 */
async function fetchChunks(
  ctx: StateSyncContext,
  o: StateSyncOptions,
  m: StateManifest,
  peers: string[],
  drop: (peer: string, why: string) => void,
  dropped: Set<string>,
): Promise<{ chunks: Uint8Array[]; sources: number; bytes: number; gone: string[] } | { chunks: null; gone: string[] }> {
  const total = m.accountChunkRoots.length;
  const chunks: (Uint8Array | undefined)[] = new Array(total);
  const queue = Array.from({ length: total }, (_, k) => k);
  let done = 0;
  let bytes = 0;
  const failures = new Map<string, number>();
  const served = new Set<string>();
  const gone = new Set<string>();
  let lastLog = performance.now();
  const t0 = performance.now();
  const worker = async (peer: string) => {
    while (queue.length > 0 && !dropped.has(peer) && !gone.has(peer)) {
      const k = queue.shift()!;
      let res: Uint8Array[] | null = null;
      try {
        res = await request(ctx.libp2p, peer, stateProtocolId(ctx.chainId, "state_chunk"), StateRequest.serialize({ height: m.height, index: k }), { maxResponseBytes: 1 << 20, timeoutMs: o.requestTimeoutMs });
      } catch {
        res = null;
      }
      if (!res || res.length !== 1) {
        queue.push(k);
        ctx.metrics?.stateSyncChunks.inc({ result: "failed" });
        const f = (failures.get(peer) ?? 0) + 1;
        failures.set(peer, f);
        // Not held (the snapshot was replaced) or not answering: stop asking it.
        if (res?.length === 0 || f >= 3) gone.add(peer);
        continue;
      }
      const bytesK = new Uint8Array(res[0]!);
      if (!verifyAccountChunk(m, k, bytesK)) {
        queue.push(k);
        ctx.metrics?.stateSyncChunks.inc({ result: "bad" });
        drop(peer, `state chunk ${k} of height ${m.height} does not match its root`);
        return;
      }
      chunks[k] = bytesK;
      served.add(peer);
      done++;
      bytes += bytesK.length;
      ctx.metrics?.stateSyncChunks.inc({ result: "ok" });
      ctx.metrics?.stateSyncProgress.set(done / total);
      ctx.onProgress?.({ phase: "chunks", done, total, bytes });
      if (performance.now() - lastLog >= 5000) {
        lastLog = performance.now();
        ctx.logger.info({ chunks: done, of: total, mb: Math.round(bytes / 2 ** 20), mbPerSecond: Math.round((bytes / 2 ** 20 / ((performance.now() - t0) / 1000)) * 10) / 10 }, "State sync progress");
      }
    }
  };
  // Workers taking turns across peers (the first chunks go to different peers), o.perPeer each.
  await Promise.all(Array.from({ length: o.perPeer }, () => peers.map((p) => worker(p))).flat());
  if (done < total) {
    ctx.logger.warn({ chunks: done, of: total, peers: peers.length }, "State sync: the peers offering the snapshot are gone before its last chunk; looking again");
    return { chunks: null, gone: [...gone] };
  }
  return { chunks: chunks as Uint8Array[], sources: served.size, bytes, gone: [...gone] };
}

/**
 * Block S's commit, checked against the restored state's last validator set
 * (the set that signed S). From S's successor it is covered by the hash chain;
 * when S is the trusted block itself it came on its own, so a peer that sent
 * one without a quorum is dropped and another asked.
 */
async function trustedCommit(
  ctx: StateSyncContext,
  o: StateSyncOptions,
  world: WorldState,
  first: SyncItem,
  hash: Uint8Array,
  heads: Map<string, number>,
  drop: (peer: string, why: string) => void,
): Promise<CommitT> {
  const S = first.block.header.height;
  const check = (c: CommitT) => verifyCommit(c, world.lastValidators, utf8(ctx.chainId), S, hash);
  try {
    check(first.commit);
    return first.commit;
  } catch (e) {
    ctx.logger.warn({ height: S, err: (e as Error).message }, "State sync: the snapshot block's commit does not verify; asking other peers");
  }
  for (const [peer, head] of heads) {
    if (head < S) continue;
    try {
      const [item] = await fetchBlockRange(ctx.libp2p, ctx.chainId, peer, S, 1, { maxResponseBytes: ctx.maxBlockResponseBytes, timeoutMs: o.requestTimeoutMs });
      if (!item || !bytesEqual(blockHash(item.block.header), hash)) continue;
      try {
        check(item.commit);
        return item.commit;
      } catch (e) {
        drop(peer, `a commit for block ${S} without a quorum: ${(e as Error).message}`);
      }
    } catch {
      // no answer: the next peer
    }
  }
  throw new StateSyncError("NO_HONEST_PEER", `no peer served a commit for block ${S} that its validators signed`);
}
