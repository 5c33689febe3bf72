/**
 * CometBFT's proposer selection: weighted round-robin by proposer priority
 * (CometBFT spec, "Proposer Selection Procedure"; types/validator_set.go).
 * Each step every validator's priority grows by its power and the highest
 * (ties: the lower address) proposes and drops by the total power, so over
 * time each proposes in proportion to its power. Priorities are re-centred on
 * zero and their spread capped at 2 × total power before each increment, as
 * CometBFT does. All integer arithmetic (bigint), so every node agrees.
 */

export interface PrioritizedValidator {
  /** Address as lowercase hex (no 0x); the tie-breaker. */
  readonly id: string;
  readonly power: bigint;
  priority: bigint;
}

const WINDOW_FACTOR = 2n;

export class ProposerSet {
  readonly validators: PrioritizedValidator[];
  readonly totalPower: bigint;
  /** The proposer of round 0 at the height this set is for. */
  proposer: PrioritizedValidator;

  private constructor(validators: PrioritizedValidator[], proposer: PrioritizedValidator | null) {
    if (validators.length === 0) throw new RangeError("empty validator set");
    this.validators = validators;
    this.totalPower = validators.reduce((s, v) => s + v.power, 0n);
    if (this.totalPower <= 0n) throw new RangeError("validator set has no power");
    this.proposer = proposer ?? this.highest();
  }

  /** A new set (all priorities zero) after CometBFT's initial increment. */
  static fromPowers(validators: readonly { id: string; power: bigint }[]): ProposerSet {
    const seen = new Set<string>();
    for (const v of validators) {
      if (v.power <= 0n) throw new RangeError(`validator ${v.id} has power ${v.power}`);
      if (seen.has(v.id)) throw new RangeError(`validator ${v.id} appears twice`);
      seen.add(v.id);
    }
    const set = new ProposerSet(validators.map((v) => ({ id: v.id, power: v.power, priority: 0n })), null);
    set.increment(1);
    return set;
  }

  /** A set with priorities as stored (e.g. in chain state). */
  static fromPriorities(validators: readonly PrioritizedValidator[]): ProposerSet {
    return new ProposerSet(validators.map((v) => ({ ...v })), null);
  }

  /**
   * Priorities after a validator-set change (CometBFT updateWithChangeSet):
   * members that stay keep their priority, newcomers start at
   * -1.125 × the new total power so they do not propose at once.
   */
  static changedPriorities(old: readonly { id: string; priority: bigint }[], next: readonly { id: string; power: bigint }[]): bigint[] {
    const kept = new Map(old.map((v) => [v.id, v.priority]));
    const total = next.reduce((s, v) => s + v.power, 0n);
    const start = -(total + (total >> 3n));
    return next.map((v) => kept.get(v.id) ?? start);
  }

  copy(): ProposerSet {
    const vals = this.validators.map((v) => ({ ...v }));
    return new ProposerSet(vals, vals[this.validators.indexOf(this.proposer)]!);
  }

  /** The proposer of `round` at this set's height (round 0 is `proposer`). */
  proposerAt(round: number): PrioritizedValidator {
    if (round === 0) return this.proposer;
    return this.copy().increment(round).proposer;
  }

  /** The set for the next height: priorities moved on by one step. */
  next(): ProposerSet {
    return this.copy().increment(1);
  }

  increment(times: number): this {
    if (times <= 0) throw new RangeError("increment needs a positive count");
    this.rescale(WINDOW_FACTOR * this.totalPower);
    this.centre();
    for (let i = 0; i < times; i++) {
      for (const v of this.validators) v.priority += v.power;
      const top = this.highest();
      top.priority -= this.totalPower;
      this.proposer = top;
    }
    return this;
  }

  private highest(): PrioritizedValidator {
    let best = this.validators[0]!;
    for (const v of this.validators) if (v.priority > best.priority || (v.priority === best.priority && v.id < best.id)) best = v;
    return best;
  }

  private rescale(window: bigint): void {
    let min = this.validators[0]!.priority;
    let max = min;
    for (const v of this.validators) {
      if (v.priority < min) min = v.priority;
      if (v.priority > max) max = v.priority;
    }
    const diff = max - min;
    if (diff > window) {
      const ratio = (diff + window - 1n) / window;
      for (const v of this.validators) v.priority /= ratio; // truncates toward zero, as Go's Quo
    }
  }

  private centre(): void {
    const n = BigInt(this.validators.length);
    let sum = 0n;
    for (const v of this.validators) sum += v.priority;
    // Go's big.Int Div is Euclidean: floor for a positive divisor.
    const avg = sum >= 0n ? sum / n : -((-sum + n - 1n) / n);
    for (const v of this.validators) v.priority -= avg;
  }
}
