/**
 * Single-validator consensus: the degenerate case of Tendermint where the one
 * validator holds all the power. Each height it proposes a block, records it
 * in the WAL, signs a prevote and a precommit through the privval (the same
 * CanonicalVote bytes the multi-validator engine signs), forms the commit from
 * its precommit and hands block + commit to the chain. The multi-validator
 * engine (DESIGN §7) replaces the loop, not the formats.
 */
import type { Blockchain } from "../chain/blockchain.ts";
import { baseFeeAfter, blockHash } from "../chain/block.ts";
import type { ExecutionResult } from "../chain/execute.ts";
import { VoteType, type BlockT, type CommitT } from "../types/block.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { ConsensusError, ConsensusErrorCode } from "./errors.ts";
import { SignStep, type PrivValidator } from "./privval.ts";
import type { ConsensusWal } from "./wal.ts";

export interface TxSource {
  /** Candidate transactions for the next block, best first. */
  pending(baseFee: bigint): Iterable<TxEnvelope>;
  /** True if the mempool already verified this transaction's signature. */
  verified(env: TxEnvelope): boolean;
}

export interface SoloOptions {
  blockTimeMs: number;
}

export interface SoloModules {
  chain: Blockchain;
  privval: PrivValidator;
  wal: ConsensusWal;
  txs: TxSource;
  clock: Clock;
  logger: Logger;
  metrics: Metrics | null;
  /** Called when a block was built, with the transactions dropped from it and why. */
  onDropped?: (dropped: ExecutionResult["dropped"]) => void;
}

export class SoloConsensus {
  private readonly opts: SoloOptions;
  private readonly m: SoloModules;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<void> | null = null;
  private round = 0;
  /** Blocks being voted on but not yet committed, for the "included" status. */
  readonly proposing = new Set<string>();

  constructor(opts: SoloOptions, modules: SoloModules) {
    this.opts = opts;
    this.m = modules;
  }

  /** Recovers from the WAL if a crash interrupted a height, then starts producing blocks. */
  async start(): Promise<void> {
    const { chain, privval, wal, logger } = this.m;
    const head = chain.head.header.height;
    const last = privval.lastSigned;
    if (last && last.height > head + 1) {
      throw new ConsensusError(ConsensusErrorCode.STATE_INCONSISTENT, `privval signed height ${last.height} but the chain head is ${head}`);
    }
    const saved = await wal.loadProposal();
    if (saved && saved.block.header.height === head + 1) {
      logger.info({ height: head + 1, round: saved.round }, "Resuming the block this validator was voting for before the restart");
      this.round = saved.round;
      await this.decide(saved.block, undefined);
    } else if (last && last.height === head + 1) {
      // Signed without a matching WAL record (should not happen): never reuse that round.
      this.round = last.round + 1;
    }
    this.running = true;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.m.wal.close();
  }

  private schedule(): void {
    if (!this.running) return;
    const due = this.m.chain.head.header.time + this.opts.blockTimeMs;
    const wait = Math.max(0, due - this.m.clock.now());
    this.timer = setTimeout(() => {
      this.inFlight = this.step()
        .catch((e) => this.m.logger.error({ err: e }, "Block production failed; retrying next round"))
        .finally(() => {
          this.inFlight = null;
          this.schedule();
        });
    }, wait);
  }

  /** Proposes, votes and commits one height. */
  async step(): Promise<void> {
    const { chain, txs, clock } = this.m;
    const baseFee = baseFeeAfter(chain.head, chain.params);
    const t0 = performance.now();
    const built = chain.build({
      time: clock.now(),
      proposer: this.m.privval.key.address,
      candidates: txs.pending(baseFee),
      verified: (env) => txs.verified(env),
    });
    this.m.metrics?.blockExecutionSeconds.observe((performance.now() - t0) / 1000);
    if (built.result.dropped.length > 0) this.m.onDropped?.(built.result.dropped);
    await this.m.wal.saveProposal(this.round, built.block, built.result.txs.map((t) => t.bytes));
    await this.decide(built.block, built.result);
  }

  private async decide(block: BlockT, result: ExecutionResult | undefined): Promise<void> {
    const { chain, privval } = this.m;
    const hash = blockHash(block.header);
    const envs = result?.txs ?? block.body.txs.map((s) => envelopeFromSigned(s));
    for (const e of envs) this.proposing.add(e.hashHex);
    try {
      // A recovered block is re-verified in full: the WAL is input like any other.
      const exec = result ?? chain.verify(block, envs, this.m.clock.now() + chain.params.maxClockDriftMs);
      const height = block.header.height;
      // After a crash between the precommit and the commit, the privval already
      // holds this precommit: a prevote now would be a step backwards, and the
      // precommit comes back as stored.
      const last = privval.lastSigned;
      const precommitted = last !== null && last.height === height && last.round === this.round && last.step === SignStep.Precommit;
      if (!precommitted) await privval.signVote(VoteType.Prevote, height, this.round, hash);
      const precommit = await privval.signVote(VoteType.Precommit, height, this.round, hash);
      const commit: CommitT = { height, round: this.round, blockHash: hash, signatures: [{ validator: privval.key.address, signature: precommit }] };
      const t0 = performance.now();
      await chain.commit(block, hash, exec, commit);
      this.m.metrics?.blockCommitSeconds.observe((performance.now() - t0) / 1000);
      this.round = 0;
    } finally {
      for (const e of envs) this.proposing.delete(e.hashHex);
    }
  }
}
