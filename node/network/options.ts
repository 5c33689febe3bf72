/** Network options, with defaults in one place. */
export interface NetworkOptions {
  /** Multiaddrs to listen on. */
  listen: string[];
  /** Peers to dial at start and redial while disconnected (multiaddrs ending in /p2p/<peer id>). */
  bootstrap: string[];
  /** The node's Ed25519 libp2p key (raw 64 bytes); a fresh one when absent. */
  peerKey?: Uint8Array;
  /** Largest gossip message accepted per topic, bytes. */
  maxTxBytes: number;
  maxVoteBytes: number;
  maxProposalBytes: number;
  /** Invalid messages from one peer before it is disconnected and refused for `banMs`. */
  maxInvalid: number;
  banMs: number;
  /** How often the node checks its peers: tops up to `targetPeers` (bootstrap peers first), trims above it. */
  redialMs: number;
  /** Peers the node keeps: it dials known peers while below, and drops the worst-scored non-validator above (DESIGN §10, decision 0009). */
  targetPeers: number;
  /** A connection younger than this is not trimmed (a newcomer stays long enough to hear announcements and find other peers). */
  trimGraceMs: number;
  /** How often the node announces its own addresses on the chain's discovery topic (pubsub peer discovery). */
  announceMs: number;
  /** The address book (peers.json) that remembers peers across restarts; null keeps none. */
  addressBook: string | null;
  /**
   * Peer exchange (CometBFT's `pex`): announce this node's addresses on the discovery topic and dial peers heard of
   * there. False for a validator behind sentries: it announces nothing and dials only `bootstrap`.
   */
  pex: boolean;
  /**
   * Peer ids whose addresses this node never passes on (CometBFT's `private_peer_ids`): their announcements are
   * not relayed, and they are never trimmed. A sentry lists its validator here.
   */
  privatePeers: string[];
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  listen: ["/ip4/127.0.0.1/tcp/0"],
  bootstrap: [],
  maxTxBytes: 16 * 1024,
  maxVoteBytes: 8 * 1024,
  maxProposalBytes: 64 * 1024 * 1024,
  maxInvalid: 20,
  banMs: 10 * 60_000,
  redialMs: 2_000,
  targetPeers: 16,
  trimGraceMs: 20_000,
  announceMs: 5_000,
  addressBook: null,
  pex: true,
  privatePeers: [],
};

export function networkOptions(partial: Partial<NetworkOptions>): NetworkOptions {
  const o = { ...DEFAULT_NETWORK_OPTIONS };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}
