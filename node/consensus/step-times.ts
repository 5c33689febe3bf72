/**
 * Time a height spends in each consensus step, measured on the engine side
 * (the state machine stays a pure function of its events): the engine says
 * where the machine is after each batch of its actions, and which height it
 * committed. Each step's time adds up over the height's rounds; "commit" runs
 * from the decision until the block is written. A height that sync imported
 * instead, or that the node left, is never reported.
 */
import type { ConsensusStep } from "../util/metrics.ts";
import type { Step } from "./tendermint/types.ts";

export class StepTimes {
  private height = 0;
  private step: ConsensusStep | null = null;
  private since = 0;
  private spent = new Map<ConsensusStep, number>();

  /** The machine is at `height` in `step` at `now` (ms); a change of step closes the one before. */
  at(height: number, step: Step, now: number): void {
    const s: ConsensusStep = step === "decided" ? "commit" : step;
    if (height !== this.height) {
      this.height = height;
      this.spent = new Map();
      this.step = null;
    }
    if (s === this.step) return;
    this.close(now);
    this.step = s;
    this.since = now;
  }

  /** `height` is committed at `now`: the seconds it spent in each step it entered, or null if it is not the height being timed. */
  committed(height: number, now: number): Map<ConsensusStep, number> | null {
    if (height !== this.height || this.step !== "commit") return null;
    this.close(now);
    const out = new Map([...this.spent].map(([k, ms]) => [k, ms / 1000]));
    this.height = 0;
    this.step = null;
    this.spent = new Map();
    return out;
  }

  private close(now: number): void {
    if (this.step !== null) this.spent.set(this.step, (this.spent.get(this.step) ?? 0) + (now - this.since));
  }
}
