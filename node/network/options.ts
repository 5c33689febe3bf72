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
  redialMs: number;
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
};

export function networkOptions(partial: Partial<NetworkOptions>): NetworkOptions {
  const o = { ...DEFAULT_NETWORK_OPTIONS };
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}
