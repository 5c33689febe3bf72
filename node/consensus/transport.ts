/** How the consensus engine reaches other validators (libp2p gossip in a network node; nothing for a lone validator). */
export interface ConsensusTransport {
  publishProposal(bytes: Uint8Array): void;
  publishVote(bytes: Uint8Array): void;
  publishEvidence?(bytes: Uint8Array): void;
  /** The largest proposal message the transport delivers (a proposer of a multi-validator set builds blocks within it). */
  maxProposalBytes?: number;
  /** False when no peer would get a message of this kind (a lone validator): the engine need not encode it. */
  hasListeners?(kind: "proposal" | "vote"): boolean;
  /**
   * Registers the handlers for inbound messages. Each resolves to true (valid:
   * relay it), false (malformed, mis-signed, from a non-validator: drop it and
   * penalise the peer `from`) or null (not judged, e.g. an old height: drop it
   * without penalty).
   */
  subscribe(handlers: {
    proposal(bytes: Uint8Array, from: string): Promise<boolean | null>;
    vote(bytes: Uint8Array, from: string): Promise<boolean | null>;
    evidence(bytes: Uint8Array, from: string): Promise<boolean | null>;
  }): void;
}
