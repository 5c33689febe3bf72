/**
 * The checkpoint relayer (DESIGN §9; off by default): for each settlement
 * target it reads the last epoch the anchor accepted and submits the next
 * checkpoints that carry more than 2/3 of their set's anchor signatures, in
 * order. The anchor contract itself is the relayer's memory: after a
 * failure or a restart it reads `lastEpoch` again, so an epoch is never
 * submitted once it is anchored and none is skipped (the contract refuses
 * any but lastEpoch + 1 anyway).
 */
import type { Logger } from "../util/logger.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import type { CheckpointBook } from "./book.ts";
import { hasQuorum, type AnchorTarget } from "./checkpoint.ts";

export interface RelayerDeps {
  book: Pick<CheckpointBook, "lastEpoch" | "get" | "onQuorum"> & Partial<Pick<CheckpointBook, "fill">>;
  targets: AnchorTarget[];
  /** Wait after a failure, and between checks for work. */
  retryMs?: number;
  logger: Logger;
  metrics?: Metrics | null;
}

interface Lane {
  target: AnchorTarget;
  running: Promise<void> | null;
  again: boolean;
  /** Consecutive failures (for backoff and logs). */
  failures: number;
  anchored: bigint;
}

export class Relayer {
  private readonly deps: RelayerDeps;
  private readonly lanes: Lane[];
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(deps: RelayerDeps) {
    this.deps = deps;
    this.lanes = deps.targets.map((target) => ({ target, running: null, again: false, failures: 0, anchored: -1n }));
  }

  start(): void {
    const m = this.deps.metrics;
    if (m) {
      // Each target's failure count is a series from the start, and its lag is read at each scrape.
      preset(m.relayFailures, this.lanes.map((l) => ({ target: l.target.name })));
      m.sample(m.relayLagEpochs, () => this.sampleLag(m));
    }
    this.unsubscribe = this.deps.book.onQuorum(() => this.kick());
    this.timer = setInterval(() => this.kick(), this.deps.retryMs ?? 5_000);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await Promise.all(this.lanes.map((l) => l.running));
  }

  /** The last epoch each target is known to have accepted (-1 before the first read). */
  status(): { target: string; lastEpoch: bigint; failures: number }[] {
    return this.lanes.map((l) => ({ target: l.target.name, lastEpoch: l.anchored, failures: l.failures }));
  }

  /**
   * pouw_relay_lag_epochs: the last finished epoch minus the last one each
   * target accepted. A target not read yet (its node unreachable since the
   * start) has no lag series; pouw_relay_failures_total counts its failures.
   */
  private sampleLag(m: Metrics): void {
    m.relayLagEpochs.reset();
    const last = BigInt(this.deps.book.lastEpoch);
    for (const l of this.lanes) if (l.anchored >= 0n) m.relayLagEpochs.set({ target: l.target.name }, Number(last > l.anchored ? last - l.anchored : 0n));
  }

  private kick(): void {
    for (const lane of this.lanes) {
      if (this.stopped) return;
      if (lane.running) {
        lane.again = true;
        continue;
      }
      lane.running = this.drain(lane).finally(() => {
        lane.running = null;
        if (lane.again && !this.stopped) {
          lane.again = false;
          this.kick();
        }
      });
    }
  }

  /** Submits every checkpoint the target lacks that has a quorum here, in order; stops at the first gap or failure. */
  private async drain(lane: Lane): Promise<void> {
    const { target } = lane;
    const log = this.deps.logger;
    try {
      let next = (await target.lastEpoch()) + 1n;
      lane.anchored = next - 1n;
      this.deps.metrics?.anchoredEpoch.set({ target: target.name }, Number(lane.anchored));
      while (!this.stopped && next <= BigInt(this.deps.book.lastEpoch)) {
        const c = await this.deps.book.get(Number(next));
        if (!c || !hasQuorum(c)) {
          log.debug({ target: target.name, epoch: Number(next) }, "Checkpoint has no quorum of anchor signatures yet");
          // Signatures gossiped while this node was away: ask peers (rate-limited), then try again.
          if (c && this.deps.book.fill) {
            void this.deps.book
              .fill(Number(next))
              .then((quorate) => quorate && this.kick())
              .catch((e: unknown) => log.debug({ err: e, epoch: Number(next) }, "Fetching anchor signatures from peers failed"));
          }
          return;
        }
        const tx = await target.submit(c);
        lane.anchored = next;
        lane.failures = 0;
        this.deps.metrics?.anchoredEpoch.set({ target: target.name }, Number(next));
        log.info({ target: target.name, epoch: Number(next), height: Number(c.checkpoint.height), tx }, "Anchored checkpoint");
        next++;
      }
    } catch (e) {
      lane.failures++;
      this.deps.metrics?.relayFailures.inc({ target: target.name });
      // Logged and retried on the next tick: the target's lastEpoch is read again first, so a submission that did land is not repeated.
      log.warn({ target: target.name, err: e instanceof Error ? e.message : String(e), failures: lane.failures }, "Relaying a checkpoint failed; retrying");
    }
  }
}
