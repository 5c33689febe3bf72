/**
 * The peer-to-peer network (DESIGN §10): libp2p over TCP with Noise and
 * yamux, identify and ping, and gossipsub topics per chain id. Gossip is
 * validated before it is relayed (`asyncValidation`): each topic's handler
 * decodes with the SSZ schema and checks signatures, and its verdict goes back
 * to gossipsub (accept / reject / ignore), whose peer score then prunes peers
 * that send invalid data. On top of that a peer that sends `maxInvalid`
 * invalid messages is disconnected and refused for `banMs`.
 *
 * Peers (decision 0009): pubsub peer discovery announces each node's
 * addresses on the chain's discovery topic, the address book remembers peers
 * across restarts, and a PeerKeeper dials up to `targetPeers` and trims the
 * worst-scored non-validator above it. Validators prove their identity per
 * connection (validator_identity protocol); a proven validator earns a
 * gossipsub application score bonus (the mesh of every topic, consensus ones
 * included, keeps it first) and is never trimmed.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair, privateKeyFromRaw, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import { gossipsub, TopicValidatorResult, type GossipsubMessage } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { pubsubPeerDiscovery } from "@libp2p/pubsub-peer-discovery";
import { tcp } from "@libp2p/tcp";
import { createLibp2p, type Libp2p } from "libp2p";
import type { ConsensusTransport } from "../consensus/transport.ts";
import type { Logger } from "../util/logger.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import { networkOptions, type NetworkOptions } from "./options.ts";
import { topicNames, type TopicKind } from "./topics.ts";
import { TX_BUNDLE_MAX_BYTES } from "../types/tx-bundle.ts";
import { ListenError } from "../util/listen-error.ts";
import { AddressBook } from "./address-book.ts";
import { PeerKeeper } from "./discovery.ts";
import { protocolId } from "./reqresp.ts";
import { requestIdentity, serveIdentity, signIdentity } from "./validator-identity.ts";

/** Largest peer announcement relayed on the discovery topic (a public key and a few multiaddrs). */
const MAX_ANNOUNCE_BYTES = 2048;
/** The gossipsub application score of a proven validator (weighted ×10 by gossipsub's default). */
const VALIDATOR_APP_SCORE = 10;

export function discoveryTopic(chainId: string): string {
  return `/pouw/${chainId}/peers/1`;
}

/** A topic handler's verdict: valid (relay), invalid (reject, penalise), or neither (e.g. already known: do not relay). */
export type Verdict = "accept" | "reject" | "ignore";

type Services = { pubsub: ReturnType<ReturnType<typeof gossipsub>>; identify: unknown; ping: unknown };

/**
 * The largest gossip message this transport can send: gossipsub frames each
 * RPC with it-length-prefixed's default limit of 4 MiB (not configurable),
 * and a larger message is dropped at the sender without a word (it reaches
 * no peer). Less a margin for the RPC's own fields (signature, key, topic).
 */
export const GOSSIP_MAX_MESSAGE_BYTES = 4 * 1024 * 1024 - 16 * 1024;

export class PouwNetwork {
  readonly opts: NetworkOptions;
  readonly libp2p: Libp2p<Services>;
  private readonly topics: Record<TopicKind, string>;
  private readonly byTopic = new Map<string, { kind: TopicKind; maxBytes: number; handler: ((data: Uint8Array, from: string) => Promise<Verdict>) | null }>();
  private readonly invalid = new Map<string, number>();
  /** Gossip verdicts by topic kind, for metrics and tests. */
  readonly verdicts = new Map<string, { accept: number; reject: number; ignore: number }>();
  private readonly banned = new Map<string, number>();
  private readonly logger: Logger;
  private readonly chainId: string;
  /** Peers whose announcements are not relayed (p2p.privatePeers). */
  private readonly privatePeers: ReadonlySet<string>;
  readonly book: AddressBook;
  readonly keeper: PeerKeeper;
  /** Public keys proven by connected peers (validator_identity), by peer id. */
  private readonly provenKeys = new Map<string, Uint8Array>();
  private identity: { proof: Uint8Array | null; isValidatorKey: (publicKey: Uint8Array) => boolean } = { proof: null, isValidatorKey: () => false };

  private readonly metrics: Metrics | null;

  private started = false;

  private constructor(opts: NetworkOptions, libp2p: Libp2p<Services>, chainId: string, logger: Logger, metrics: Metrics | null) {
    this.opts = opts;
    this.metrics = metrics;
    this.libp2p = libp2p;
    this.logger = logger;
    this.topics = topicNames(chainId);
    this.chainId = chainId;
    this.privatePeers = new Set(opts.privatePeers);
    this.book = new AddressBook(opts.addressBook);
    this.keeper = new PeerKeeper({
      libp2p,
      book: this.book,
      bootstrap: opts.bootstrap,
      targetPeers: opts.targetPeers,
      redialMs: opts.redialMs,
      trimGraceMs: opts.trimGraceMs,
      pex: opts.pex,
      keep: this.privatePeers,
      isBanned: (p) => this.isBanned(p),
      isValidatorPeer: (p) => this.isValidatorPeer(p),
      score: (p) => this.score(p),
      logger,
      metrics,
    });
    const caps: Record<TopicKind, number> = { tx: opts.maxTxBytes, txs: TX_BUNDLE_MAX_BYTES, proposal: opts.maxProposalBytes, vote: opts.maxVoteBytes, attestation: opts.maxVoteBytes, evidence: opts.maxVoteBytes, anchor: 128 };
    for (const [kind, topic] of Object.entries(this.topics) as [TopicKind, string][]) this.byTopic.set(topic, { kind, maxBytes: caps[kind], handler: null });
    // Every topic's verdicts are series from the start (0 until a message comes).
    if (metrics) preset(metrics.gossipVerdicts, Object.keys(this.topics).flatMap((topic) => (["accept", "reject", "ignore"] as const).map((verdict) => ({ topic, verdict }))));
  }

  static async create(partial: Partial<NetworkOptions>, chainId: string, logger: Logger, metrics: Metrics | null = null): Promise<PouwNetwork> {
    const opts = networkOptions(partial);
    const privateKey: PrivateKey = opts.peerKey ? privateKeyFromRaw(opts.peerKey) : await generateKeyPair("Ed25519");
    let net: PouwNetwork | null = null;
    const libp2p = await createLibp2p({
      privateKey,
      addresses: { listen: opts.listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      // A stream's unread data may reach several large gossip messages (proposals near the gossip limit) while the
      // event loop is busy: past yamux's default 4 MiB the stream is aborted, and with it all gossip with that peer.
      streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: 4 * GOSSIP_MAX_MESSAGE_BYTES } })],
      connectionManager: {
        // libp2p's own hard cap (it prunes by tag value beyond it); the keeper holds the target below it.
        maxConnections: 2 * opts.targetPeers + 8,
        // Connections per second from one host: nodes sharing a host (a devnet on 127.0.0.1) may all dial at once.
        inboundConnectionThreshold: Math.max(5, opts.targetPeers),
      },
      // Without peer exchange the node makes no announcements of its own. (pubsub-peer-discovery's listenOnly also
      // stops it taking in others' announcements, since it counts as started only with its timer; the node still
      // relays them as gossip. The keeper would not dial what it heard anyway.)
      peerDiscovery: [pubsubPeerDiscovery({ interval: opts.announceMs, topics: [discoveryTopic(chainId)], listenOnly: !opts.pex })],
      connectionGater: {
        denyDialPeer: async (peer) => net?.isBanned(peer.toString()) ?? false,
        denyInboundEncryptedConnection: async (peer) => net?.isBanned(peer.toString()) ?? false,
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          asyncValidation: true,
          emitSelf: false,
          maxInboundDataLength: opts.maxProposalBytes,
          maxOutboundBufferSize: 4 * opts.maxProposalBytes,
          ignoreDuplicatePublishError: true,
          scoreParams: {
            appSpecificScore: (peer: string) => (net?.isValidatorPeer(peer) ? VALIDATOR_APP_SCORE : 0),
            // Many peers on one IP costs score (a sybil hint), but on loopback they are a devnet on one machine:
            // past 10 of them every peer would fall below the gossip threshold and get no gossip at all.
            IPColocationFactorWhitelist: new Set(["127.0.0.1", "::1"]),
          },
        }),
      },
    }).catch((e: unknown) => Promise.reject(p2pListenFailure(e, opts.listen)));
    net = new PouwNetwork(opts, libp2p as unknown as Libp2p<Services>, chainId, logger, metrics);
    net.wire();
    return net;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get addresses(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString());
  }

  get peerCount(): number {
    return this.libp2p.getPeers().length;
  }

  private wire(): void {
    const pubsub = this.libp2p.services.pubsub;
    for (const topic of this.byTopic.keys()) pubsub.subscribe(topic);
    pubsub.addEventListener("gossipsub:message", (evt) => void this.onMessage(evt.detail));
    const peers = () => this.metrics?.peers.set(this.libp2p.getPeers().length);
    this.libp2p.addEventListener("peer:connect", peers);
    this.libp2p.addEventListener("peer:disconnect", peers);
  }

  /** Whether `peer` proved the identity of a validator in the current active set. */
  isValidatorPeer(peer: string): boolean {
    const key = this.provenKeys.get(peer);
    return key !== undefined && this.identity.isValidatorKey(key);
  }

  /** Connected peers that are proven validators. */
  validatorPeers(): string[] {
    return this.libp2p.getPeers().map((p) => p.toString()).filter((p) => this.isValidatorPeer(p));
  }

  /** The trimmer's order (higher is kept longer): gossipsub's score less the invalid messages counted here. */
  score(peer: string): number {
    const pubsub = this.libp2p.services.pubsub as unknown as { getScore(peer: string): number };
    return pubsub.getScore(peer) - (this.invalid.get(peer) ?? 0);
  }

  /**
   * Sets what this node proves to its peers (a validator's key signs its peer
   * id; null for a full node) and how it tells a validator's key (the active
   * set). Called before start.
   */
  useValidatorIdentity(key: { publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array } | null, isValidatorKey: (publicKey: Uint8Array) => boolean): void {
    this.identity = { proof: key ? signIdentity(this.chainId, this.peerId, key) : null, isValidatorKey };
  }

  /** Asks a newly identified peer for its validator identity (three tries a second apart while it stays connected). */
  private async askIdentity(peer: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 1_000).unref());
      if (!this.libp2p.getPeers().some((p) => p.toString() === peer)) return;
      try {
        const key = await requestIdentity(this.libp2p, this.chainId, peer);
        if (key) this.provenKeys.set(peer, key);
        this.logger.debug({ peer, validator: this.isValidatorPeer(peer) }, "Peer identity");
        return;
      } catch (e) {
        if (e instanceof Error && e.message === "validator identity does not verify") return this.penalise(peer, "validator identity does not verify");
      }
    }
  }

  /**
   * A peer announcement is relayed only if the announcer is the one who signed the gossip (a node announces itself
   * only), and not if the announcer is a private peer (its address stays with this node).
   */
  private announcementVerdict(m: GossipsubMessage): Verdict {
    const { msg } = m;
    if (msg.type !== "signed" || msg.data.length > MAX_ANNOUNCE_BYTES || !msg.from.publicKey) return "reject";
    if (this.privatePeers.has(msg.from.toString())) return "ignore";
    const key = publicKeyToProtobuf(msg.from.publicKey);
    // Peer { publicKey = 1 (bytes), addrs = 2 }: the first field must be the signer's own key.
    const ok = msg.data[0] === 0x0a && msg.data[1] === key.length && key.length < 128 && msg.data.subarray(2, 2 + key.length).every((b, i) => b === key[i]);
    return ok ? "accept" : "reject";
  }

  private async onMessage(m: GossipsubMessage): Promise<void> {
    const from = m.propagationSource.toString();
    if (m.msg.topic === discoveryTopic(this.chainId)) return this.report(m, from, this.announcementVerdict(m), "peers");
    const t = this.byTopic.get(m.msg.topic);
    let verdict: Verdict = "ignore";
    if (t && m.msg.data.length > t.maxBytes) verdict = "reject";
    else if (t?.handler) {
      try {
        verdict = await t.handler(m.msg.data, from);
      } catch (e) {
        this.logger.warn({ err: e, topic: t.kind }, "Gossip handler failed");
        verdict = "ignore";
      }
    }
    this.report(m, from, verdict, t?.kind ?? "unknown");
  }

  private report(m: GossipsubMessage, from: string, verdict: Verdict, kind: string): void {
    const v = this.verdicts.get(kind) ?? { accept: 0, reject: 0, ignore: 0 };
    v[verdict]++;
    this.verdicts.set(kind, v);
    this.metrics?.gossipVerdicts.inc({ topic: kind, verdict });
    const result = verdict === "accept" ? TopicValidatorResult.Accept : verdict === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    // On the implementation class, not the exported interface (async validation).
    (this.libp2p.services.pubsub as unknown as { reportMessageValidationResult(id: string, from: string, r: TopicValidatorResult): void }).reportMessageValidationResult(m.msgId, from, result);
    if (verdict === "reject") this.penalise(from, kind);
  }

  /** Counts an invalid message from `peer`; past the limit it is disconnected and refused for a while. */
  penalise(peer: string, why: string): void {
    const n = (this.invalid.get(peer) ?? 0) + 1;
    this.invalid.set(peer, n);
    if (n < this.opts.maxInvalid) return;
    this.invalid.delete(peer);
    this.banned.set(peer, Date.now() + this.opts.banMs);
    this.logger.warn({ peer, why, invalid: n }, "Disconnecting a peer that sent invalid data");
    const conns = this.libp2p.getConnections().filter((c) => c.remotePeer.toString() === peer);
    for (const c of conns) void c.close().catch(() => undefined);
  }

  isBanned(peer: string): boolean {
    const until = this.banned.get(peer);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.banned.delete(peer);
    return false;
  }

  on(kind: TopicKind, handler: (data: Uint8Array, from: string) => Promise<Verdict>): void {
    this.byTopic.get(this.topics[kind])!.handler = handler;
  }

  publish(kind: TopicKind, data: Uint8Array): void {
    const pubsub = this.libp2p.services.pubsub;
    // Nobody to send it to (a lone validator): not encoded and signed for nothing.
    if (pubsub.getSubscribers(this.topics[kind]).length === 0) return;
    void pubsub.publish(this.topics[kind], data).catch((e: unknown) => this.logger.debug({ err: e, topic: kind }, "Publish failed"));
  }

  /** The consensus engine's view of the network. */
  consensusTransport(): ConsensusTransport {
    return {
      publishProposal: (b) => this.publish("proposal", b),
      publishVote: (b) => this.publish("vote", b),
      publishEvidence: (b) => this.publish("evidence", b),
      maxProposalBytes: Math.min(this.opts.maxProposalBytes, GOSSIP_MAX_MESSAGE_BYTES),
      hasListeners: (kind) => this.libp2p.services.pubsub.getSubscribers(this.topics[kind]).length > 0,
      subscribe: (h) => {
        const verdict = (ok: boolean | null): Verdict => (ok === null ? "ignore" : ok ? "accept" : "reject");
        this.on("proposal", async (data, from) => verdict(await h.proposal(data, from)));
        this.on("vote", async (data, from) => verdict(await h.vote(data, from)));
        this.on("evidence", async (data, from) => verdict(await h.evidence(data, from)));
      },
    };
  }

  /**
   * Listens, serves its validator identity, loads the address book, then keeps
   * the target peer count: bootstrap peers first, then remembered and
   * discovered ones (redialed while below the target).
   */
  async start(): Promise<void> {
    // Once: a state-syncing node starts its network before the rest of the node exists.
    if (this.started) return;
    this.started = true;
    // Served and listened for before the first connection, so identify lists the protocol to every peer.
    await serveIdentity(this.libp2p, this.chainId, this.identity.proof);
    const identityProtocol = protocolId(this.chainId, "validator_identity");
    this.libp2p.addEventListener("peer:identify", (e) => {
      if (e.detail.protocols.includes(identityProtocol)) void this.askIdentity(e.detail.peerId.toString());
    });
    this.libp2p.addEventListener("peer:disconnect", (e) => this.provenKeys.delete(e.detail.toString()));
    await this.libp2p.start();
    const { loaded, error } = this.book.load();
    if (error) this.logger.warn({ path: this.book.path, err: error }, "The address book does not parse: starting without it");
    else if (loaded > 0) this.logger.info({ path: this.book.path, peers: loaded }, "Loaded the address book");
    await this.keeper.start();
  }

  async stop(): Promise<void> {
    await this.keeper.stop();
    await this.libp2p.stop();
  }
}

/** "/ip4/127.0.0.1/tcp/8760" → "127.0.0.1:8760" (other multiaddrs as they are). */
function hostPort(multiaddr: string): string {
  const m = /^\/ip[46]\/([^/]+)\/tcp\/(\d+)/.exec(multiaddr);
  return m ? `${m[1]}:${m[2]}` : multiaddr;
}

/**
 * libp2p listens as it is created and reports a socket it could not open as
 * text (UnsupportedListenAddressesError, or the OS code in the message): a
 * ListenError naming the addresses that failed, so the caller can say what to
 * change; anything else as it is.
 */
function p2pListenFailure(e: unknown, listen: readonly string[]): unknown {
  const text = e instanceof Error ? `${e.name} ${e.message} ${e.cause instanceof Error ? e.cause.message : ""}` : "";
  if (listen.length === 0 || !/UnsupportedListenAddresses|EADDRINUSE|EADDRNOTAVAIL|EACCES|EPERM/.test(text)) return e;
  const failed = listen.filter((a) => text.includes(a));
  return new ListenError("p2p", (failed.length > 0 ? failed : listen).map(hostPort).join(", "), e);
}
