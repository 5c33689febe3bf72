/**
 * The peer-to-peer network (DESIGN §10): libp2p over TCP with Noise and
 * yamux, identify and ping, and gossipsub topics per chain id. Gossip is
 * validated before it is relayed (`asyncValidation`): each topic's handler
 * decodes with the SSZ schema and checks signatures, and its verdict goes back
 * to gossipsub (accept / reject / ignore), whose peer score then prunes peers
 * that send invalid data. On top of that a peer that sends `maxInvalid`
 * invalid messages is disconnected and refused for `banMs`.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair, privateKeyFromRaw } from "@libp2p/crypto/keys";
import { gossipsub, TopicValidatorResult, type GossipsubMessage } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type Libp2p } from "libp2p";
import type { ConsensusTransport } from "../consensus/transport.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { networkOptions, type NetworkOptions } from "./options.ts";
import { topicNames, type TopicKind } from "./topics.ts";
import { ListenError } from "../util/listen-error.ts";

/** A topic handler's verdict: valid (relay), invalid (reject, penalise), or neither (e.g. already known: do not relay). */
export type Verdict = "accept" | "reject" | "ignore";

type Services = { pubsub: ReturnType<ReturnType<typeof gossipsub>>; identify: unknown; ping: unknown };

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
  private redialTimer: NodeJS.Timeout | null = null;

  private readonly metrics: Metrics | null;

  private constructor(opts: NetworkOptions, libp2p: Libp2p<Services>, chainId: string, logger: Logger, metrics: Metrics | null) {
    this.opts = opts;
    this.metrics = metrics;
    this.libp2p = libp2p;
    this.logger = logger;
    this.topics = topicNames(chainId);
    const caps: Record<TopicKind, number> = { tx: opts.maxTxBytes, proposal: opts.maxProposalBytes, vote: opts.maxVoteBytes, attestation: opts.maxVoteBytes, evidence: opts.maxVoteBytes, anchor: 128 };
    for (const [kind, topic] of Object.entries(this.topics) as [TopicKind, string][]) this.byTopic.set(topic, { kind, maxBytes: caps[kind], handler: null });
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
      streamMuxers: [yamux()],
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

  private async onMessage(m: GossipsubMessage): Promise<void> {
    const from = m.propagationSource.toString();
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
    const kind = t?.kind ?? "unknown";
    const v = this.verdicts.get(kind) ?? { accept: 0, reject: 0, ignore: 0 };
    v[verdict]++;
    this.verdicts.set(kind, v);
    this.metrics?.gossipVerdicts.inc({ topic: kind, verdict });
    const result = verdict === "accept" ? TopicValidatorResult.Accept : verdict === "reject" ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    // On the implementation class, not the exported interface (async validation).
    (this.libp2p.services.pubsub as unknown as { reportMessageValidationResult(id: string, from: string, r: TopicValidatorResult): void }).reportMessageValidationResult(m.msgId, from, result);
    if (verdict === "reject") this.penalise(from, t?.kind ?? "unknown topic");
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
    void this.libp2p.services.pubsub.publish(this.topics[kind], data).catch((e: unknown) => this.logger.debug({ err: e, topic: kind }, "Publish failed"));
  }

  /** The consensus engine's view of the network. */
  consensusTransport(): ConsensusTransport {
    return {
      publishProposal: (b) => this.publish("proposal", b),
      publishVote: (b) => this.publish("vote", b),
      publishEvidence: (b) => this.publish("evidence", b),
      subscribe: (h) => {
        const verdict = (ok: boolean | null): Verdict => (ok === null ? "ignore" : ok ? "accept" : "reject");
        this.on("proposal", async (data, from) => verdict(await h.proposal(data, from)));
        this.on("vote", async (data, from) => verdict(await h.vote(data, from)));
        this.on("evidence", async (data, from) => verdict(await h.evidence(data, from)));
      },
    };
  }

  /** Listens, then dials the bootstrap peers (and keeps redialing those not connected). */
  async start(): Promise<void> {
    await this.libp2p.start();
    const dialAll = () => {
      const connected = new Set(this.libp2p.getPeers().map((p) => p.toString()));
      for (const addr of this.opts.bootstrap) {
        const peer = addr.split("/p2p/")[1];
        if (peer && (connected.has(peer) || peer === this.peerId || this.isBanned(peer))) continue;
        void this.libp2p.dial(multiaddr(addr)).catch((e: unknown) => this.logger.debug({ err: e, addr }, "Dial failed"));
      }
    };
    dialAll();
    this.redialTimer = setInterval(dialAll, this.opts.redialMs);
  }

  async stop(): Promise<void> {
    if (this.redialTimer) clearInterval(this.redialTimer);
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
