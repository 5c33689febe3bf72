/** How the consensus engine reaches other validators (libp2p gossip in a network node; nothing for a lone validator). */
export interface ConsensusTransport {
  publishProposal(bytes: Uint8Array): void;
  publishVote(bytes: Uint8Array): void;
  /** Registers the handlers for inbound messages; `from` identifies the peer for scoring. */
  subscribe(handlers: { proposal(bytes: Uint8Array, from: string): void; vote(bytes: Uint8Array, from: string): void }): void;
}
