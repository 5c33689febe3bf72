/**
 * Work attestations waiting for a block: the node's own and those gossiped
 * by other validators, each checked against the head state and its
 * signature before it is kept or relayed.
 */
import { attestationKey, attestationProblem, attestationSignatureValid } from "../chain/attestations.ts";
import type { Blockchain } from "../chain/blockchain.ts";
import type { Verdict } from "../network/network.ts";
import { StateOverlay } from "../state/world.ts";
import { WorkAttestation, type WorkAttestationT } from "../types/block.ts";

const MAX_POOL = 4096;

export class AttestationPool {
  private readonly chain: Blockchain;
  private readonly items = new Map<string, WorkAttestationT>();

  constructor(chain: Blockchain) {
    this.chain = chain;
  }

  get size(): number {
    return this.items.size;
  }

  values(): IterableIterator<WorkAttestationT> {
    return this.items.values();
  }

  /** Why `a` cannot count on top of the head, or null (checks the signature too). */
  check(a: WorkAttestationT): string | null {
    const o = new StateOverlay(this.chain.world);
    return attestationProblem(o, a, new Set()) ?? (attestationSignatureValid(o, this.chain.ctx.chainId, a) ? null : "bad signature");
  }

  /** Keeps `a` if it can count and is new; returns whether it was added. */
  add(a: WorkAttestationT): boolean {
    const k = attestationKey(a);
    if (this.items.has(k) || this.items.size >= MAX_POOL || this.check(a) !== null) return false;
    this.items.set(k, a);
    return true;
  }

  /** After a commit: drops what was included or can no longer count. */
  prune(): void {
    if (this.items.size === 0) return;
    const o = new StateOverlay(this.chain.world);
    for (const [k, a] of this.items) if (attestationProblem(o, a, new Set()) !== null) this.items.delete(k);
  }

  /** A gossiped attestation: malformed or mis-signed ones count against the sender; stale ones are ignored. */
  onGossip(data: Uint8Array): Verdict {
    let a: WorkAttestationT;
    try {
      a = WorkAttestation.deserialize(data);
    } catch {
      return "reject";
    }
    const problem = this.check(a);
    if (problem === "bad signature") return "reject";
    if (problem !== null) return "ignore";
    return this.add(a) ? "accept" : "ignore";
  }
}
