/** An in-process gossip bus for consensus tests: every published message reaches every other connected member. */
import type { ConsensusTransport } from "../../node/consensus/transport.ts";

type Handlers = Parameters<ConsensusTransport["subscribe"]>[0];

export class LocalBus {
  private readonly members = new Map<string, { handlers: Handlers | null; up: boolean }>();
  delivered = 0;
  /** Messages dropped for being larger than `maxMessageBytes` (as gossipsub drops them at the sender). */
  tooLarge = 0;
  /** Largest proposal message published. */
  largestProposal = 0;
  private readonly maxMessageBytes: number | undefined;

  constructor(opts: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = opts.maxMessageBytes;
  }

  transport(id: string): ConsensusTransport {
    this.members.set(id, { handlers: null, up: true });
    const send = (kind: "proposal" | "vote" | "evidence", bytes: Uint8Array) => {
      if (!this.members.get(id)!.up) return;
      if (kind === "proposal") this.largestProposal = Math.max(this.largestProposal, bytes.length);
      if (this.maxMessageBytes !== undefined && bytes.length > this.maxMessageBytes) {
        this.tooLarge++;
        return;
      }
      for (const [other, m] of this.members) {
        if (other === id || !m.up || !m.handlers) continue;
        const copy = bytes.slice();
        setImmediate(() => {
          if (!m.up || !this.members.get(id)!.up) return;
          this.delivered++;
          void m.handlers![kind](copy, id);
        });
      }
    };
    return {
      publishProposal: (b) => send("proposal", b),
      publishVote: (b) => send("vote", b),
      publishEvidence: (b) => send("evidence", b),
      ...(this.maxMessageBytes !== undefined ? { maxProposalBytes: this.maxMessageBytes } : {}),
      subscribe: (h) => {
        this.members.get(id)!.handlers = h;
      },
    };
  }

  /** Cuts a member off (both directions) or reconnects it. */
  setUp(id: string, up: boolean): void {
    this.members.get(id)!.up = up;
  }
}
