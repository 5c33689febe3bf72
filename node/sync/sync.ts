/**
 * Block sync (DESIGN §10): a node behind its peers fetches blocks by range,
 * checks each one's commit against the validator set and the block itself,
 * commits them in order, then rejoins consensus at the new head. It also
 * serves `status` and `blocks_by_range` to others. Progress goes to the log
 * (INFO: start, every ~5 s or 1,000 blocks, caught up; WARN: a peer that
 * failed or served an invalid block) and to metrics. A block the disk refused
 * to store is not the peer's fault: it goes to `onStorageFault` (the node
 * stops) and sync ends. Nor is a block that needs a blob (a challenge's start
 * checkpoint) no peer could serve yet: no penalty, and the next round retries.
 */
import type { Blockchain } from "../chain/blockchain.ts";
import { isBlobUnavailable } from "../chain/errors.ts";
import type { ConsensusEngine } from "../consensus/engine.ts";
import type { PouwNetwork } from "../network/network.ts";
import { protocolId, request, serve } from "../network/reqresp.ts";
import { bytesEqual } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { isStorageFault } from "../util/storage-fault.ts";
import { BlocksByRangeRequest, HistoryMessage, historyProtocolId, MAX_BLOCKS_PER_REQUEST, MAX_RANGE_RESPONSE_BYTES, StatusMessage, type StatusMessageT } from "./messages.ts";
import { fetchBlockRange, type SyncItem } from "./range.ts";

export interface SyncOptions {
  intervalMs: number;
  timeoutMs: number;
}

export interface SyncModules {
  chain: Blockchain;
  network: PouwNetwork;
  engine: ConsensusEngine;
  genesisHash: Uint8Array;
  logger: Logger;
  metrics: Metrics | null;
  /** The disk refused to store imported blocks (the node's fail-stop handler). */
  onStorageFault?: (err: unknown) => void;
}

/** Progress lines while syncing: at most one per this many ms, or per this many blocks. */
const PROGRESS_MS = 5000;
const PROGRESS_BLOCKS = 1000;

export class BlockSync {
  private readonly opts: SyncOptions;
  private readonly m: SyncModules;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private behindBefore = 0;
  /** Highest height a peer reported (for status output). */
  bestPeerHeight = 0;
  syncing = false;

  constructor(opts: Partial<SyncOptions>, modules: SyncModules) {
    this.opts = { intervalMs: 1000, timeoutMs: 15_000, ...opts };
    this.m = modules;
  }

  private get chainId(): string {
    return this.m.chain.genesis.chainId;
  }

  async start(): Promise<void> {
    const { network, chain } = this.m;
    const maxResponseBytes = network.opts.maxProposalBytes;
    await serve(network.libp2p, protocolId(this.chainId, "status"), { maxResponseBytes, timeoutMs: this.opts.timeoutMs }, async () => [
      StatusMessage.serialize({ height: chain.head.header.height, headHash: chain.head.hash, genesisHash: this.m.genesisHash }),
    ]);
    // What this node still holds: a pruned node serves blocks_by_range from here up, and answers empty below.
    await serve(network.libp2p, historyProtocolId(this.chainId), { maxResponseBytes, timeoutMs: this.opts.timeoutMs }, async () => [
      HistoryMessage.serialize({ lowestHeight: chain.store.floor > 1 ? chain.store.floor : 0 }),
    ]);
    await serve(network.libp2p, protocolId(this.chainId, "blocks_by_range"), { maxResponseBytes, timeoutMs: this.opts.timeoutMs }, async (req, peer) => {
      let r;
      try {
        r = BlocksByRangeRequest.deserialize(req);
      } catch {
        network.penalise(peer, "malformed blocks_by_range request");
        return [];
      }
      const out: Uint8Array[] = [];
      const end = Math.min(r.startHeight + Math.min(r.count, MAX_BLOCKS_PER_REQUEST), chain.head.header.height + 1);
      let last = 0;
      let bytes = 0;
      for (let h = Math.max(1, r.startHeight); h < end; h++) {
        const block = await chain.store.getBlockBytes(h);
        if (!block) break;
        // A short range is fine: the requester asks again from the next height.
        if (out.length > 0 && bytes + block.length > MAX_RANGE_RESPONSE_BYTES) break;
        out.push(block);
        bytes += block.length;
        last = h;
      }
      const commit = last > 0 ? await chain.store.getCommitBytes(last) : undefined;
      if (!commit) return [];
      out.push(commit);
      return out;
    });
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    // A peer that just connected (as after our own restart) may be ahead: ask it now, not at the next tick.
    network.libp2p.addEventListener("peer:connect", this.onConnect);
  }

  private readonly onConnect = () => this.poke();
  private poked: NodeJS.Timeout | null = null;

  /**
   * Checks peers' heads soon (within 50 ms, once however often it is called)
   * instead of at the next tick: consensus calls it when it sees messages for
   * a height it cannot reach without blocks it lacks.
   */
  poke(): void {
    if (this.poked || !this.timer) return;
    this.poked = setTimeout(() => {
      this.poked = null;
      void this.tick();
    }, 50);
  }

  stop(): void {
    this.m.network.libp2p.removeEventListener("peer:connect", this.onConnect);
    if (this.poked) clearTimeout(this.poked);
    this.poked = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async status(peer: string): Promise<StatusMessageT | null> {
    try {
      const [bytes] = await request(this.m.network.libp2p, peer, protocolId(this.chainId, "status"), new Uint8Array(0), { maxResponseBytes: 256, timeoutMs: 5000 });
      const s = StatusMessage.deserialize(bytes!);
      return bytesEqual(s.genesisHash, this.m.genesisHash) ? s : null;
    } catch {
      return null;
    }
  }

  /** The lowest height `peer` still serves (0: everything), or null when it does not say (an older node, or it failed). */
  async history(peer: string): Promise<number | null> {
    try {
      const [bytes] = await request(this.m.network.libp2p, peer, historyProtocolId(this.chainId), new Uint8Array(0), { maxResponseBytes: 64, timeoutMs: 5000 });
      return HistoryMessage.deserialize(bytes!).lowestHeight;
    } catch {
      return null;
    }
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const peers = this.m.network.libp2p.getPeers().map((p) => p.toString());
      const statuses = await Promise.all(peers.map(async (p) => ({ peer: p, s: await this.status(p) })));
      const ahead = statuses.filter((x) => x.s !== null) as { peer: string; s: StatusMessageT }[];
      const best = Math.max(0, ...ahead.map((x) => x.s.height));
      this.bestPeerHeight = best;
      this.m.metrics?.syncTargetHeight.set(best);
      const behind = best - this.m.chain.head.header.height;
      // One height behind is normal for a moment (a peer committed first); two, or one that lasts, is not.
      if (behind >= 2 || (behind >= 1 && this.behindBefore >= 1)) {
        await this.syncTo(best, ahead.filter((x) => x.s.height > this.m.chain.head.header.height).map((x) => x.peer));
      }
      this.behindBefore = best - this.m.chain.head.header.height;
    } catch (e) {
      if (isStorageFault(e)) this.storageFault(e);
      else this.m.logger.warn({ err: e }, "Sync round failed");
    } finally {
      this.busy = false;
    }
  }

  private storageFault(e: unknown): void {
    this.stop();
    this.m.onStorageFault?.(e);
  }

  private fetch(peer: string, start: number, count: number): Promise<SyncItem[]> {
    const { network } = this.m;
    return fetchBlockRange(network.libp2p, this.chainId, peer, start, count, { maxResponseBytes: network.opts.maxProposalBytes, timeoutMs: this.opts.timeoutMs });
  }

  /**
   * Fetches ranges until `target` or until no peer can help. Stages overlap:
   * two ranges are being fetched while earlier ones have their signatures
   * checked in the worker pool and are committed in order on the consensus
   * queue. A failure anywhere drops what is in flight and resumes from the head.
   */
  private async syncTo(target: number, peers: string[]): Promise<void> {
    const { chain, network, engine, logger, metrics } = this.m;
    this.syncing = true;
    metrics?.syncing.set(1);
    const from = chain.head.header.height;
    const t0 = performance.now();
    let turn = 0;
    let lastLog = t0;
    let lastLogHeight = from;
    let faulted = false;
    logger.info({ from, to: target, peer: peers[0], peers: peers.length }, "Syncing");
    let nextStart = chain.head.header.height + 1;
    let fetches: { peer: string; start: number; count: number; items: Promise<SyncItem[]> }[] = [];
    let imports: { peer: string; done: Promise<number> }[] = [];
    const drop = (peer: string) => {
      if (peers.includes(peer)) peers.splice(peers.indexOf(peer), 1);
    };
    const refill = () => {
      while (fetches.length < 2 && nextStart <= target && peers.length > 0) {
        const peer = peers[turn++ % peers.length]!;
        const count = Math.min(MAX_BLOCKS_PER_REQUEST, target - nextStart + 1);
        const items = this.fetch(peer, nextStart, count);
        items.catch(() => undefined);
        fetches.push({ peer, start: nextStart, count, items });
        nextStart += count;
      }
    };
    const restart = async () => {
      fetches = [];
      await Promise.allSettled(imports.map((i) => i.done));
      imports = [];
      nextStart = chain.head.header.height + 1;
    };
    try {
      refill();
      while (fetches.length > 0 || imports.length > 0) {
        if (imports.length > 2 || (fetches.length === 0 && imports.length > 0)) {
          const { peer, done } = imports.shift()!;
          try {
            await done;
          } catch (e) {
            if (isStorageFault(e)) {
              // Our disk, not the peer: stop (the node's handler ends the process).
              faulted = true;
              fetches = [];
              await Promise.allSettled(imports.map((i) => i.done));
              imports = [];
              this.storageFault(e);
              break;
            }
            if (isBlobUnavailable(e)) {
              // Our missing blob, not the peer's bad block: no penalty; the next round fetches it again and retries.
              logger.warn({ err: (e as Error).message, peer, height: chain.head.header.height + 1 }, "A synced block needs a blob no peer could serve yet: retrying at the next round");
              fetches = [];
              await Promise.allSettled(imports.map((i) => i.done));
              imports = [];
              break;
            }
            logger.warn({ err: e, peer, height: chain.head.header.height + 1 }, "Peer served an invalid block");
            network.penalise(peer, "invalid block in blocks_by_range");
            drop(peer);
            await restart();
          }
          refill();
          continue;
        }
        const f = fetches.shift()!;
        let items: SyncItem[] = [];
        try {
          items = await f.items;
        } catch (e) {
          logger.warn({ err: e, peer: f.peer, start: f.start }, "Sync request to a peer failed");
        }
        if (items.length === 0 || items[0]!.block.header.height !== f.start) {
          if (items.length > 0) logger.warn({ peer: f.peer, start: f.start, got: items[0]!.block.header.height }, "Peer answered with the wrong range");
          else {
            const lowest = await this.history(f.peer);
            if (lowest !== null && lowest > f.start) logger.info({ peer: f.peer, start: f.start, lowestRetained: lowest }, "Peer has pruned the blocks this node needs: asking the others (an archive node serves them)");
          }
          drop(f.peer);
          await restart();
          refill();
          continue;
        }
        imports.push({ peer: f.peer, done: engine.importBlocks(items) });
        imports[imports.length - 1]!.done.catch(() => undefined);
        if (items.length < f.count) {
          // A short range (the server's byte budget, large blocks): ask for the rest before the ranges already in flight.
          const start = f.start + items.length;
          const count = f.count - items.length;
          const peer = peers.length > 0 ? peers[turn++ % peers.length]! : f.peer;
          const rest = this.fetch(peer, start, count);
          rest.catch(() => undefined);
          fetches.unshift({ peer, start, count, items: rest });
        }
        refill();
        const height = chain.head.header.height;
        metrics?.headHeight.set(height);
        if (performance.now() - lastLog >= PROGRESS_MS || height - lastLogHeight >= PROGRESS_BLOCKS) {
          lastLog = performance.now();
          lastLogHeight = height;
          logger.info({ height, target, blocksPerSecond: Math.round(((height - from) * 1000) / (performance.now() - t0)) }, "Sync progress");
        }
      }
    } finally {
      this.syncing = false;
      metrics?.syncing.set(0);
    }
    if (faulted) return;
    const to = chain.head.header.height;
    const ms = Math.round(performance.now() - t0);
    if (to >= target) logger.info({ from, to, ms, blocksPerSecond: Math.round(((to - from) * 1000) / Math.max(1, ms)) }, "Caught up");
    else logger.warn({ from, to, target, ms }, "Sync stopped short of the target: no peer could serve the rest");
  }
}
