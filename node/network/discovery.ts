/**
 * Keeps the node at its target number of peers (decision 0009). Peers are
 * learnt from the bootstrap list, the address book and pubsub peer discovery
 * (each node announces its addresses on the chain's discovery topic; libp2p
 * puts what it hears in its peer store). Every `redialMs`:
 * - below the target: dial known, unconnected peers — bootstrap peers first,
 *   then validators, then the most recently seen — a few at a time, each with
 *   its own back-off after a failed dial or a short-lived connection;
 * - above the target: close the worst-scored peer (gossipsub score, which
 *   includes our validator bonus, minus the invalid messages it sent) that is
 *   not a proven validator (nor a private peer), one per excess peer.
 * With peer exchange off (`pex: false`, a validator behind sentries) only the
 * bootstrap peers are dialed.
 */
import type { Libp2p, PeerId } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "../util/logger.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import type { AddressBook } from "./address-book.ts";

/** Most dials started per round (the rest wait for the next round). */
const DIALS_PER_ROUND = 4;
const BACKOFF_MAX_MS = 60_000;
/** Bootstrap peers are tried again sooner (they were dialed every round before discovery; a restarted one comes back). */
const BOOTSTRAP_BACKOFF_MAX_MS = 10_000;
/** A connection shorter than this counts as a failure for the peer's back-off (e.g. it trimmed us). */
const SHORT_CONNECTION_MS = 10_000;
const SAVE_EVERY_MS = 30_000;

export interface PeerKeeperDeps {
  libp2p: Libp2p;
  book: AddressBook;
  /** Bootstrap multiaddrs (ending in /p2p/<id>). */
  bootstrap: readonly string[];
  targetPeers: number;
  redialMs: number;
  /**
   * A connection younger than this is not trimmed: a newcomer that dialed a
   * full node stays long enough to hear the discovery announcements and find
   * other peers (libp2p's maxConnections still caps a flood).
   */
  trimGraceMs: number;
  /** False: only bootstrap peers are dialed (peer exchange off, a validator behind sentries). */
  pex: boolean;
  /** Peers never trimmed (private peers: a sentry's validator). */
  keep: ReadonlySet<string>;
  isBanned(peer: string): boolean;
  isValidatorPeer(peer: string): boolean;
  /** Higher is better: the trimmer drops the lowest. */
  score(peer: string): number;
  logger: Logger;
  metrics: Metrics | null;
}

export class PeerKeeper {
  private readonly d: PeerKeeperDeps;
  private readonly backoff = new Map<string, { until: number; failures: number }>();
  private readonly dialing = new Set<string>();
  private readonly connectedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private lastSave = 0;
  /** The book has news since it was last written. */
  private dirty = false;
  /** Dials started and peers trimmed, for tests and logs. */
  dials = 0;
  trims = 0;
  /** The peers trimmed, oldest first (the last 100). */
  readonly trimmed: string[] = [];

  private readonly bootstrapIds: Set<string>;

  constructor(deps: PeerKeeperDeps) {
    this.d = deps;
    if (deps.metrics) preset(deps.metrics.peerDials, [{ result: "connected" }, { result: "failed" }]);
    this.bootstrapIds = new Set(deps.bootstrap.map((a) => a.split("/p2p/")[1]).filter((x): x is string => x !== undefined));
  }

  private get self(): string {
    return this.d.libp2p.peerId.toString();
  }

  async start(): Promise<void> {
    const { libp2p } = this.d;
    libp2p.addEventListener("peer:connect", (e) => {
      this.connectedAt.set(e.detail.toString(), Date.now());
      this.gauges(this.connected());
    });
    libp2p.addEventListener("peer:disconnect", (e) => this.onDisconnect(e.detail));
    // Remembered peers go into the peer store, where discovered ones are too (an entry that does not parse is skipped).
    await Promise.all(
      this.d.book
        .all()
        .filter((e) => e.id !== this.self)
        .map(async (e) => {
          try {
            await libp2p.peerStore.merge(peerIdFromString(e.id), { multiaddrs: e.addrs.map((a) => multiaddr(a)) });
          } catch {
            this.d.book.forget(e.id);
          }
        }),
    );
    this.tick();
    this.timer = setInterval(() => this.tick(), this.d.redialMs);
  }

  /** Stops the rounds and writes the address book one last time. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.remember();
    this.saveBook();
  }

  private onDisconnect(peer: PeerId): void {
    const id = peer.toString();
    const since = this.connectedAt.get(id);
    this.connectedAt.delete(id);
    if (since !== undefined && Date.now() - since < SHORT_CONNECTION_MS) this.fail(id);
    // The gauges follow a lost peer at once, not at the next round.
    const connected = this.connected();
    connected.delete(id);
    this.gauges(connected);
  }

  private gauges(connected: Set<string>): void {
    this.d.metrics?.peers.set(connected.size);
    this.d.metrics?.validatorPeers.set([...connected].filter((p) => this.d.isValidatorPeer(p)).length);
  }

  private fail(id: string): void {
    const b = this.backoff.get(id) ?? { until: 0, failures: 0 };
    b.failures++;
    const max = this.bootstrapIds.has(id) ? BOOTSTRAP_BACKOFF_MAX_MS : BACKOFF_MAX_MS;
    b.until = Date.now() + Math.min(max, this.d.redialMs * 2 ** Math.min(b.failures - 1, 16));
    this.backoff.set(id, b);
  }

  /** One round: record, top up or trim, save now and then. */
  tick(): void {
    const connected = this.connected();
    this.gauges(connected);
    void this.remember();
    if (connected.size < this.d.targetPeers) void this.topUp(connected);
    else if (connected.size > this.d.targetPeers) this.trim(connected.size - this.d.targetPeers);
    // News (a new peer, a validator proven) is written at once; the rest (last-seen times) every 30 s.
    if (this.dirty || Date.now() - this.lastSave >= SAVE_EVERY_MS) this.saveBook();
  }

  private connected(): Set<string> {
    return new Set(this.d.libp2p.getPeers().map((p) => p.toString()));
  }

  /** Records every connected peer in the address book with the listen addresses identify reported. */
  private async remember(): Promise<void> {
    const now = Date.now();
    const peers = this.d.libp2p.getPeers();
    await Promise.all(
      peers.map((peer) =>
        this.d.libp2p.peerStore
          .get(peer)
          // Not the connection's remote address: for an inbound one that is the peer's outgoing port.
          .then((p) => {
            if (this.d.book.seen(peer.toString(), p.addresses.map((a) => a.multiaddr.toString()), this.d.isValidatorPeer(peer.toString()), now)) this.dirty = true;
          })
          .catch(() => undefined),
      ),
    );
  }

  private saveBook(): void {
    this.lastSave = Date.now();
    this.dirty = false;
    try {
      this.d.book.save();
    } catch (e) {
      this.d.logger.warn({ err: e, path: this.d.book.path }, "Could not write the address book");
    }
  }

  /** Known peers worth dialing now, best first. */
  private async candidates(connected: Set<string>): Promise<{ id: string; addr?: string }[]> {
    const now = Date.now();
    const usable = (id: string) => id !== this.self && !connected.has(id) && !this.dialing.has(id) && !this.d.isBanned(id) && (this.backoff.get(id)?.until ?? 0) <= now;
    const out: { id: string; addr?: string }[] = [];
    const seen = new Set<string>();
    const add = (id: string, addr?: string) => {
      if (seen.has(id) || !usable(id)) return;
      seen.add(id);
      out.push(addr ? { id, addr } : { id });
    };
    for (const addr of this.d.bootstrap) {
      const id = addr.split("/p2p/")[1];
      if (id) add(id, addr);
    }
    if (!this.d.pex) return out;
    for (const e of this.d.book.all()) if (e.validator) add(e.id);
    const known = await this.d.libp2p.peerStore.all().catch(() => []);
    const recency = new Map(this.d.book.all().map((e, i) => [e.id, i]));
    known.sort((a, b) => (recency.get(a.id.toString()) ?? Infinity) - (recency.get(b.id.toString()) ?? Infinity));
    for (const p of known) if (p.addresses.length > 0) add(p.id.toString());
    return out;
  }

  private async topUp(connected: Set<string>): Promise<void> {
    const want = Math.min(DIALS_PER_ROUND, this.d.targetPeers - connected.size - this.dialing.size);
    if (want <= 0) return;
    for (const c of (await this.candidates(connected)).slice(0, want)) {
      this.dialing.add(c.id);
      this.dials++;
      const started = this.d.libp2p.dial(c.addr ? multiaddr(c.addr) : peerIdFromString(c.id));
      void started
        .then(
          () => {
            this.backoff.delete(c.id);
            this.d.metrics?.peerDials.inc({ result: "connected" });
          },
          (e: unknown) => {
            this.fail(c.id);
            this.d.metrics?.peerDials.inc({ result: "failed" });
            this.d.logger.debug({ err: e, peer: c.id }, "Dial failed");
          },
        )
        .finally(() => this.dialing.delete(c.id));
    }
  }

  /** Closes the `excess` worst-scored peers that are not validators or private peers. */
  private trim(excess: number): void {
    const now = Date.now();
    const opened = new Map<string, number>();
    for (const c of this.d.libp2p.getConnections()) {
      const id = c.remotePeer.toString();
      opened.set(id, Math.min(opened.get(id) ?? Infinity, c.timeline.open));
    }
    const victims = [...opened.keys()]
      .filter((id) => !this.d.isValidatorPeer(id) && !this.d.keep.has(id))
      // Lowest score first; among equals the newest connection (the settled mesh stays).
      .sort((a, b) => this.d.score(a) - this.d.score(b) || opened.get(b)! - opened.get(a)!)
      .slice(0, excess)
      // One still in its grace waits for a later round (an older, better peer is not dropped in its place).
      .filter((id) => now - opened.get(id)! >= this.d.trimGraceMs);
    for (const id of victims) {
      this.trims++;
      this.trimmed.push(id);
      if (this.trimmed.length > 100) this.trimmed.shift();
      this.d.metrics?.peerTrims.inc();
      this.d.logger.debug({ peer: id, score: this.d.score(id) }, "Trimming a peer above the target");
      for (const c of this.d.libp2p.getConnections().filter((x) => x.remotePeer.toString() === id)) void c.close().catch(() => undefined);
    }
  }
}
