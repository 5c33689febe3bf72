/**
 * The consensus engine: the I/O shell around the Tendermint machine. It turns
 * the machine's actions into block building, privval signatures, gossip,
 * timers and commits, and turns gossip and timers back into machine events.
 * All machine interaction runs on one serial queue, so events are handled in
 * order even though signing, verifying and committing are asynchronous.
 *
 * A lone validator (no transport) is the degenerate case: its own votes are a
 * quorum, so every height decides in one round.
 */
import type { Blockchain } from "../chain/blockchain.ts";
import { baseFeeAfter, blockHash, evidenceContext } from "../chain/block.ts";
import { proposalSigningMessage, voteSigningMessage } from "../chain/commit.ts";
import { BlockError, isBlobUnavailable } from "../chain/errors.ts";
import type { ExecutionResult } from "../chain/execute.ts";
import { mlDsa } from "../crypto/mldsa.ts";
import { addrKey } from "../state/world.ts";
import { blockTxBytes, DuplicateVoteEvidence, encodeBlockParts, encodeProposalMessage, ProposalMessage, proposalBlockBytes, Vote, VoteType, type BlockT, type CommitT, type DuplicateVoteEvidenceT, type VoteT, type WorkAttestationT } from "../types/block.ts";
import { evidenceHash, makeEvidence, verifyEvidence } from "../chain/evidence.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import { sha256 } from "../crypto/hash.ts";
import type { Clock } from "../util/clock.ts";
import { bytesEqual, fromHex, toHex } from "../util/hex.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { ConsensusError, ConsensusErrorCode } from "./errors.ts";
import { SignStep, type PrivValidator } from "./privval.ts";
import { ProposerSet } from "../chain/proposer.ts";
import { Tendermint } from "./tendermint/machine.ts";
import { DEFAULT_TIMEOUTS, type ConsensusAction, type ConsensusEvent, type TimeoutParams, type VoteMsg } from "./tendermint/types.ts";
import type { ConsensusTransport } from "./transport.ts";
import type { ConsensusWal, WalRecord } from "./wal.ts";
import { isStorageFault } from "../util/storage-fault.ts";
import { failpoint } from "../util/failpoint.ts";
import { SignatureBatch, type BatchVerifier } from "./signature-batch.ts";
import { StepTimes } from "./step-times.ts";
import { blockSpacingMs } from "../types/params.ts";

/** How often a validator waiting for the next height looks for something to put in a block, ms. */
const WORK_POLL_MS = 10;

export interface TxSource {
  /** Candidate transactions for the next block, best first. */
  pending(baseFee: bigint): Iterable<TxEnvelope>;
  /** True if the mempool already verified this transaction's signature. */
  verified(env: TxEnvelope): boolean;
  /** True if `pending(baseFee)` would yield anything (without building the list); derived from `pending` when absent. */
  hasReady?(baseFee: bigint): boolean;
}

export interface EngineOptions {
  blockTimeMs: number;
  timeouts?: TimeoutParams;
  /** Re-publish this validator's messages of the current height this often while it has not decided (lost gossip). */
  regossipMs?: number;
  /**
   * After a decision, how long past the block time the next height may wait
   * for precommits still missing from validators that signed the previous
   * height, so that the next block's lastCommit carries them (they are not
   * counted as missed).
   */
  commitGraceMs?: number;
  /**
   * This node's least wait after a block before it starts the next height, ms (node-local, e.g. a test that steps
   * consensus by hand): it can only be longer than the chain's block spacing, never shorter.
   */
  minBlockIntervalMs?: number;
  /**
   * Peers' vote and proposal signatures go to the consensus verifier thread from this many active validators up
   * (default 16); below, they are checked on the event loop, where a handful per height costs less than the round
   * trip to a thread on a busy machine.
   */
  offThreadSignaturesFrom?: number;
  /**
   * Stop after committing this height (Cosmos SDK's halt-height, for an upgrade at an agreed height): no vote,
   * proposal or imported block for a later height; `onHalt` is called once.
   */
  haltHeight?: number;
}

export interface EngineModules {
  chain: Blockchain;
  /** Null for a node that follows consensus without voting. */
  privval: PrivValidator | null;
  wal: ConsensusWal;
  txs: TxSource;
  clock: Clock;
  logger: Logger;
  metrics: Metrics | null;
  transport: ConsensusTransport | null;
  /**
   * Verifies the signatures of gossiped votes and proposals off the event loop (a thread of its own); absent: on the
   * event loop.
   */
  consensusVerifier?: BatchVerifier | null;
  /** Verifies signatures in parallel (the mempool's worker pool); used for blocks fetched by sync. */
  verifier?: { verifyBatch(items: readonly { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }[]): Promise<boolean[]> };
  /** Called when a block was built, with the transactions dropped from it and why. */
  onDropped?: (dropped: ExecutionResult["dropped"]) => void;
  /** Work attestations waiting for a block (the node's pool). */
  attestations?: () => Iterable<WorkAttestationT>;
  /**
   * Fetches what blocks' execution needs besides the state (a challenge's
   * start checkpoint) and holds it until the lease is released: the engine
   * releases it once those blocks are verified (a proposal) or imported (sync).
   */
  prepare?: (blocks: readonly BlockT[]) => Promise<BlobLease | void>;
  /** Likewise for the transactions the mempool offers, held while this validator builds a block from them. */
  prepareBuild?: () => Promise<BlobLease | void>;
  /** The disk refused a write (WAL, privval, chain): the engine stops and reports it here (fail-stop). */
  onStorageFault?: (err: unknown) => void;
  /** Messages arrived for a height beyond the next: this node is behind and should sync now. */
  onBehind?: () => void;
  /** The halt height is committed (EngineOptions.haltHeight): the engine has stopped taking part. */
  onHalt?: (height: number) => void;
}

/** What `prepare` holds for a block until it is released. */
export interface BlobLease {
  release(): void;
}

interface Candidate {
  block: BlockT;
  hash: Uint8Array;
  envs: TxEnvelope[];
  exec: ExecutionResult;
}

interface OwnMessage {
  kind: "proposal" | "vote";
  /** Tells own proposals apart (votes are compared by their bytes). */
  id: string;
  bytes: () => Uint8Array;
  /** Re-gossip ticks seen (proposals back off). */
  ticks?: number;
}

const ZERO_HASH = new Uint8Array(32);
/** Room kept in a proposal for everything but the transactions: header, attestations, evidence, signature. */
const PROPOSAL_RESERVE_BYTES = 256 * 1024;
/** A lastCommit signature (ML-DSA-44) with its address and offset. */
const LAST_COMMIT_BYTES_PER_VALIDATOR = 2_420 + 20 + 8;

/** The candidates, in order, while their encodings fit in `budget` bytes (one too large is skipped, not the end). */
function* withinBytes(candidates: Iterable<TxEnvelope>, budget: number): Generator<TxEnvelope> {
  if (budget === Infinity) return yield* candidates;
  let used = 0;
  for (const env of candidates) {
    const n = env.bytes.length + 4;
    if (used + n > budget) {
      if (budget - used < 1024) return;
      continue;
    }
    used += n;
    yield env;
  }
}

/** The encoded size of a ProposalMessage for `block` (without encoding it). */
function proposalSize(block: BlockT, txs: readonly TxEnvelope[]): number {
  let n = 4 + 4 + 4 + 2_420;
  for (const p of encodeBlockParts({ ...block, body: { ...block.body, txs: [] } }, [])) n += p.length;
  for (const t of txs) n += 4 + t.bytes.length;
  return n;
}
const MAX_FUTURE_PROPOSALS = 64;

export class ConsensusEngine {
  private readonly opts: Required<Omit<EngineOptions, "haltHeight">> & Pick<EngineOptions, "haltHeight">;
  private readonly m: EngineModules;
  private readonly machine: Tendermint;
  private readonly self: string | null;
  private set: ProposerSet | null = null;
  private setHeight = 0;
  private nextSet: ProposerSet | null = null;
  private candidates = new Map<string, Candidate>();
  /** Signatures of the votes of this height and the next, by `${height}/${kind}/${round}/${validator}/${value}`. */
  private sigs = new Map<string, Uint8Array>();
  /** This height's own messages, re-sent while it is undecided; a proposal is encoded only when a peer would get it. */
  private own: OwnMessage[] = [];
  /** Verified evidence waiting for a block, by hash. */
  readonly evidence = new Map<string, DuplicateVoteEvidenceT>();
  private futureProposals: { bytes: Uint8Array; from: string }[] = [];
  /** Digests of proposal messages already judged valid (a re-gossiped copy is not judged again). */
  private judgedProposals = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();
  private nextHeightTimer: NodeJS.Timeout | null = null;
  private regossipTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  /** Signatures of this validator's own votes and proposals found in the WAL, re-sent as they were (not signed again). */
  private walVoteSigs = new Map<string, Uint8Array>();
  private walProposalSigs = new Map<string, Uint8Array>();
  /** WAL records already received for heights after the machine's (logged again when that height starts). */
  private walCarry: WalRecord[] = [];
  /** Validators whose precommit for the previous height arrived (the next height waits a little for those). */
  private liveSigners = new Set<string>();
  private readonly signatures: SignatureBatch | null;
  /** Time each height spends in each step (pouw_consensus_step_duration_seconds). */
  private readonly stepTimes = new StepTimes();
  /** Transactions in blocks being voted on, for the "included" status. */
  readonly proposing = new Set<string>();
  /** The halt height was reached (haltHeight). */
  private halted = false;

  constructor(opts: EngineOptions, modules: EngineModules) {
    this.opts = { timeouts: DEFAULT_TIMEOUTS, regossipMs: 1000, commitGraceMs: Math.max(500, Math.floor(opts.blockTimeMs / 2)), minBlockIntervalMs: 0, offThreadSignaturesFrom: 16, ...opts };
    this.m = modules;
    this.self = modules.privval ? addrKey(modules.privval.key.address) : null;
    this.machine = new Tendermint({ self: this.self, timeouts: this.opts.timeouts });
    this.signatures = modules.consensusVerifier ? new SignatureBatch(modules.consensusVerifier) : null;
  }

  get height(): number {
    return this.machine.height;
  }

  get round(): number {
    return this.machine.round;
  }

  /**
   * Starts at the height after the head. After a restart mid-height it
   * replays the WAL first: the validator re-enters the height and round it
   * was in, with the messages it had handled, its lock, and its own votes,
   * which it sends again byte for byte.
   */
  async start(): Promise<void> {
    const { chain, privval } = this.m;
    const head = chain.head.header.height;
    const last = privval?.lastSigned ?? null;
    if (last && last.height > head + 1) {
      throw new ConsensusError(ConsensusErrorCode.STATE_INCONSISTENT, `privval signed height ${last.height} but the chain head is ${head}`);
    }
    this.set = this.committedSet();
    this.setHeight = head + 1;
    // Until a height shows who is live, wait (a little) for everyone's precommits.
    this.liveSigners = new Set(chain.world.validators.map((v) => addrKey(v.address)));
    this.m.transport?.subscribe({
      proposal: (bytes, from) => this.enqueueResult(() => this.onProposalBytes(bytes, from), null),
      vote: (bytes, from) => this.onVoteGossip(bytes, from),
      evidence: (bytes) => this.enqueueResult(async () => this.onEvidenceBytes(bytes), null),
    });
    this.running = true;
    this.regossipTimer = setInterval(() => this.regossip(), this.opts.regossipMs);
    this.enqueue(() => this.resume(head + 1));
    await this.queue;
  }

  /** Enters `height`, replaying what the WAL holds for it. */
  private async resume(height: number): Promise<void> {
    const { wal, logger, privval } = this.m;
    const records = (await wal.messages()).filter((r) => r.height >= height);
    const current = records.filter((r) => r.height === height);
    this.walCarry = records.filter((r) => r.height > height);
    for (const r of current) {
      if (r.type === "ownVote") {
        const v = Vote.deserialize(r.bytes);
        this.walVoteSigs.set(sigKey(voteMsg(v)), v.signature);
      } else if (r.type === "ownProposal") {
        this.walProposalSigs.set(proposalKey(r.height, r.round, r.polRound, r.blockHash), r.signature);
      }
    }
    // The privval's last signature, if the WAL lost it (an older node, a torn tail): re-sent too.
    const last = privval?.lastSigned;
    let lastVote: Uint8Array | null = null;
    if (privval && last && last.height === height && last.step !== SignStep.Propose) {
      const type = last.step === SignStep.Prevote ? VoteType.Prevote : VoteType.Precommit;
      const bytes = Vote.serialize({ type, height, round: last.round, blockHash: last.blockHash, validator: privval.key.address, signature: last.signature });
      const key = sigKey(voteMsg(Vote.deserialize(bytes)));
      if (!this.walVoteSigs.has(key)) {
        this.walVoteSigs.set(key, last.signature);
        lastVote = bytes;
      }
    }
    if (current.length > 0 || lastVote) logger.info({ height, records: current.length, lastSigned: last ? { round: last.round, step: last.step } : null }, "Replaying the consensus WAL after a restart mid-height");
    {
      await this.beginHeight(height, 0, false);
      for (const r of current) {
        if (this.machine.height !== height || this.machine.step === "decided") break;
        switch (r.type) {
          case "proposal":
            await this.judgeProposal(r.bytes, "", false);
            break;
          case "vote":
            await this.onVoteBytes(r.bytes, "", false);
            break;
          case "timeout":
            await this.feed({ type: "timeout", step: r.step, height: r.height, round: r.round });
            break;
          case "ownVote": {
            // Normally re-cast by the machine above; if not (its inputs were lost), it still counts and is re-sent.
            const v = Vote.deserialize(r.bytes);
            this.rememberOwn("vote", r.bytes);
            this.m.transport?.publishVote(r.bytes);
            this.sigs.set(sigKey(voteMsg(v)), v.signature);
            await this.feed({ type: "vote", vote: voteMsg(v) });
            break;
          }
          case "ownProposal":
            break;
        }
      }
      if (lastVote && this.machine.height === height && this.machine.step !== "decided") {
        const v = Vote.deserialize(lastVote);
        this.rememberOwn("vote", lastVote);
        this.m.transport?.publishVote(lastVote);
        this.sigs.set(sigKey(voteMsg(v)), v.signature);
        await this.feed({ type: "vote", vote: voteMsg(v) });
      }
    }
    if (current.length > 0 || lastVote) {
      logger.info({ height: this.machine.height, round: this.machine.round, step: this.machine.step, ownVotes: this.own.length }, "Resumed consensus where it stopped");
    }
  }

  async stop(): Promise<void> {
    this.standDown();
    await this.queue;
    await this.m.wal.close();
  }

  /** Starts the next height now instead of at its block time; resolves when the head has moved past the current height. */
  async step(): Promise<void> {
    const target = this.m.chain.head.header.height + 1;
    if (!this.running) await this.start();
    else if (this.nextHeightTimer) {
      clearTimeout(this.nextHeightTimer);
      this.nextHeightTimer = null;
      this.enqueue(() => this.beginHeight(target, 0));
    }
    while (this.m.chain.head.header.height < target && this.running) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Blocks fetched by sync, each with the commit that finalized it: verified
   * (commit against the validator set, then the block itself) and committed
   * in order on the consensus queue; consensus then restarts at the new head.
   * Resolves to how many were imported; throws on the first invalid one.
   */
  importBlocks(all: readonly { block: BlockT; commit: CommitT; txBytes?: Uint8Array[]; encoded?: { block: Uint8Array; commit: Uint8Array } }[]): Promise<number> {
    // Nothing past the halt height is imported (a follower stops there too).
    const halt = this.opts.haltHeight;
    const items = halt === undefined ? all : all.filter((it) => it.block.header.height <= halt);
    if (items.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      // Signatures first, in the worker pool and outside the queue (consensus keeps running meanwhile).
      const withEnvs = items.map((it) => ({ block: it.block, commit: it.commit, encoded: it.encoded, envs: it.block.body.txs.map((t, i) => envelopeFromSigned(t, it.txBytes?.[i])) }));
      const checked = this.preverify(withEnvs);
      this.queue = this.queue.then(async () => {
        try {
          const { chain } = this.m;
          const lease = await this.m.prepare?.(items.map((i) => i.block));
          const before = chain.head.header.height;
          let res;
          try {
            res = await chain.importBatch(withEnvs, { now: this.m.clock.now(), signaturesChecked: await checked });
          } finally {
            lease?.release();
          }
          if (chain.head.header.height > before && this.running) {
            if (this.nextHeightTimer) clearTimeout(this.nextHeightTimer);
            this.nextHeightTimer = null;
            await this.beginHeight(chain.head.header.height + 1, 0);
          }
          if (res.error !== undefined) reject(res.error);
          else resolve(res.imported);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Stops taking part at the halt height (once): timers off, the machine left where it is, `onHalt` told. */
  private halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.standDown();
    this.m.onHalt?.(this.m.chain.head.header.height);
  }

  /** No more steps: not running, every timer (timeouts, the next height, re-gossip) cleared. */
  private standDown(): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.nextHeightTimer) clearTimeout(this.nextHeightTimer);
    this.nextHeightTimer = null;
    if (this.regossipTimer) clearInterval(this.regossipTimer);
    this.regossipTimer = null;
  }

  /** True when every commit, last-commit and transaction signature of `items` verifies (checked in parallel by the pool). */
  private async preverify(items: readonly { block: BlockT; commit: CommitT; envs: TxEnvelope[] }[]): Promise<boolean> {
    const v = this.m.verifier;
    if (!v) return false;
    const chainId = this.m.chain.ctx.chainId;
    // Every registered validator's key: a batch may cross an epoch boundary where the set changes.
    const keys = new Map(this.m.chain.world.staking.map((x) => [addrKey(x.address), x.consensusKey]));
    const work: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }[] = [];
    // A block's lastCommit is usually the previous item's commit: check each signature once.
    const seen = new Map<string, Uint8Array[]>();
    for (const { block, commit, envs } of items) {
      for (const c of [commit, block.body.lastCommit]) {
        const msg = voteSigningMessage(chainId, VoteType.Precommit, c.height, c.round, c.blockHash);
        const msgKey = `${c.height}/${c.round}/${Buffer.from(c.blockHash).toString("base64")}/`;
        for (const s of c.signatures) {
          const pk = keys.get(addrKey(s.validator));
          if (!pk) return false;
          const id = msgKey + addrKey(s.validator);
          const sigs = seen.get(id);
          if (sigs?.some((x) => bytesEqual(x, s.signature))) continue; // the very same bytes: checked once
          if (sigs) sigs.push(s.signature);
          else seen.set(id, [s.signature]);
          work.push({ publicKey: pk, message: msg, signature: s.signature });
        }
      }
      for (const env of envs) work.push({ publicKey: env.signed.tx.publicKey, message: env.signingMessage, signature: env.signed.signature });
    }
    try {
      return (await v.verifyBatch(work)).every(Boolean);
    } catch {
      return false;
    }
  }

  // ---- queue and machine

  private enqueue(job: () => void | Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (!this.running) return;
      try {
        await job();
      } catch (e) {
        this.failed(e);
      }
    });
  }

  /** A step threw: a storage fault stops consensus (fail-stop) and is reported; anything else is logged and consensus goes on. */
  private failed(e: unknown): void {
    if (!isStorageFault(e)) {
      this.m.logger.error({ err: e }, "Consensus step failed");
      return;
    }
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.nextHeightTimer) clearTimeout(this.nextHeightTimer);
    if (this.regossipTimer) clearInterval(this.regossipTimer);
    if (this.m.onStorageFault) this.m.onStorageFault(e);
    else this.m.logger.error({ err: e }, "Storage fault: consensus stopped");
  }

  /** Like `enqueue`, resolving to the job's result (`fallback` if it failed or the engine stopped first). */
  private enqueueResult<T>(job: () => Promise<T>, fallback: T): Promise<T> {
    return new Promise((resolve) => {
      this.queue = this.queue.then(async () => {
        if (!this.running) return resolve(fallback);
        try {
          resolve(await job());
        } catch (e) {
          this.failed(e);
          resolve(fallback);
        }
      });
    });
  }

  private async feed(event: ConsensusEvent): Promise<void> {
    await this.perform(this.machine.handle(event));
  }

  /** Starts `height` in the machine; `resetWal` (not when replaying it) starts the WAL's log afresh for it. */
  private async beginHeight(height: number, round: number, resetWal = true): Promise<void> {
    if (height !== this.m.chain.head.header.height + 1) return;
    if (this.opts.haltHeight !== undefined && height > this.opts.haltHeight) return this.halt();
    if (resetWal) {
      await this.m.wal.resetLog(this.walCarry.filter((r) => r.height === height));
      this.walCarry = this.walCarry.filter((r) => r.height > height);
      this.walVoteSigs.clear();
      this.walProposalSigs.clear();
    }
    if (this.setHeight !== height) {
      this.set = this.committedSet();
      this.setHeight = height;
      this.nextSet = null;
    }
    this.candidates = new Map();
    for (const k of this.sigs.keys()) if (Number(k.slice(0, k.indexOf("/"))) < height) this.sigs.delete(k);
    this.own = [];
    this.proposing.clear();
    for (const id of [...this.evidence.keys()]) if (this.m.chain.includedEvidence.has(id)) this.evidence.delete(id);
    await this.perform(this.machine.startHeight(height, this.set!, round));
    const future = this.futureProposals;
    this.futureProposals = [];
    for (const f of future) await this.judgeProposal(f.bytes, f.from, false); // logged (and counted as judged) when it arrived
  }

  private async perform(actions: ConsensusAction[]): Promise<void> {
    this.m.metrics?.consensusRound.set(this.machine.round);
    this.stepTimes.at(this.machine.height, this.machine.step, performance.now());
    for (const a of actions) {
      switch (a.type) {
        case "getValue":
          await this.buildValue(a.height, a.round);
          break;
        case "propose":
          await this.publishProposal(a.proposal.round, a.proposal.polRound, a.proposal.value);
          break;
        case "vote":
          await this.publishVote(a.vote);
          break;
        case "scheduleTimeout": {
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.enqueue(async () => {
              if (a.height !== this.machine.height || a.round !== this.machine.round || this.machine.step === "decided") return; // stale
              await this.m.wal.append({ type: "timeout", height: a.height, round: a.round, step: a.step });
              await this.feed({ type: "timeout", step: a.step, height: a.height, round: a.round });
            });
          }, a.ms);
          this.timers.add(t);
          break;
        }
        case "decide":
          await this.commit(a.height, a.round, a.value, a.precommits);
          break;
        case "evidence":
          this.onConflict(a.a, a.b);
          break;
      }
    }
  }

  // ---- evidence

  /** Turns two conflicting votes the machine saw into evidence, keeps it for a block and gossips it. */
  private onConflict(a: VoteMsg, b: VoteMsg): void {
    const sa = this.sigs.get(sigKey(a));
    const sb = this.sigs.get(sigKey(b));
    this.m.logger.warn({ validator: a.validator, height: a.height, round: a.round, kind: a.kind }, "Conflicting votes from one validator");
    if (!sa || !sb) return;
    const wire = (v: VoteMsg, signature: Uint8Array) => ({
      type: v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit,
      height: v.height,
      round: v.round,
      blockHash: v.value === null ? ZERO_HASH : fromHex(v.value),
      validator: fromHex(v.validator),
      signature,
    });
    const ev = makeEvidence(wire(a, sa), wire(b, sb));
    const id = evidenceHash(ev);
    if (this.evidence.has(id) || this.m.chain.includedEvidence.has(id)) return;
    this.evidence.set(id, ev);
    this.m.transport?.publishEvidence?.(DuplicateVoteEvidence.serialize(ev));
  }

  private onEvidenceBytes(bytes: Uint8Array): boolean | null {
    let ev: DuplicateVoteEvidenceT;
    try {
      ev = DuplicateVoteEvidence.deserialize(bytes);
    } catch {
      return false;
    }
    const id = evidenceHash(ev);
    const { chain } = this.m;
    if (this.evidence.has(id) || chain.includedEvidence.has(id)) return null;
    try {
      verifyEvidence(ev, evidenceContext(chain.world, chain.ctx, chain.head.header.height + 1));
    } catch {
      return false;
    }
    this.evidence.set(id, ev);
    this.m.logger.warn({ validator: toHex(ev.voteA.validator), height: ev.voteA.height }, "Received evidence of equivocation");
    return true;
  }

  // ---- proposing

  private async buildValue(height: number, round: number): Promise<void> {
    const { chain, txs, clock, wal } = this.m;
    // Asked before an own vote fed back in the same batch decided the height: nothing to propose any more.
    if (this.machine.height !== height || this.machine.step === "decided" || chain.head.header.height + 1 !== height) return;
    // A block this validator already built for this height (e.g. before a restart) is proposed again.
    const saved = await wal.loadProposal();
    let cand: Candidate | undefined;
    if (saved && saved.block.header.height === height) {
      const lease = await this.m.prepare?.([saved.block]);
      try {
        cand = this.verifyCandidate(saved.block);
      } catch (e) {
        this.m.logger.warn({ err: e }, "Ignoring the WAL block: it no longer verifies");
      } finally {
        lease?.release();
      }
    }
    if (!cand) {
      const t0 = performance.now();
      const lease = await this.m.prepareBuild?.();
      let built;
      try {
        // Other validators must receive the proposal: its block stays within what the transport can deliver.
        const limit = chain.world.validators.length > 1 ? (this.m.transport?.maxProposalBytes ?? Infinity) : Infinity;
        const reserve = Math.min(PROPOSAL_RESERVE_BYTES, limit / 4);
        let budget = limit - reserve - LAST_COMMIT_BYTES_PER_VALIDATOR * chain.world.validators.length;
        for (let attempt = 0; ; attempt++) {
          built = chain.build({
            time: Math.max(clock.now(), chain.head.header.time + 1),
            proposer: this.m.privval!.key.address,
            candidates: withinBytes(txs.pending(baseFeeAfter(chain.head, chain.params)), budget),
            verified: (env) => txs.verified(env),
            evidence: this.evidence.values(),
            attestations: this.m.attestations?.() ?? [],
          });
          const size = proposalSize(built.block, built.result.txs);
          if (size <= limit || attempt >= 3 || built.result.txs.length === 0) break;
          budget -= size - limit + reserve; // the rest of the block was larger than reserved
        }
      } finally {
        lease?.release();
      }
      const ms = performance.now() - t0;
      this.m.metrics?.blockExecutionSeconds.observe(ms / 1000);
      this.m.logger.debug({ height, txs: built.result.txs.length, ms: Math.round(ms * 10) / 10 }, "Built proposal");
      if (built.result.dropped.length > 0) this.m.onDropped?.(built.result.dropped);
      await wal.saveProposal(round, built.block, built.result.txs.map((t) => t.bytes));
      cand = { block: built.block, hash: built.hash, envs: built.result.txs, exec: built.result };
    }
    this.remember(cand);
    await this.feed({ type: "value", height, round, value: toHex(cand.hash) });
  }

  private remember(c: Candidate): void {
    this.candidates.set(toHex(c.hash), c);
    for (const e of c.envs) this.proposing.add(e.hashHex);
  }

  private verifyCandidate(block: BlockT, envs = block.body.txs.map((s) => envelopeFromSigned(s)), verified = (env: TxEnvelope) => this.m.txs.verified(env)): Candidate {
    const exec = this.m.chain.verify(block, envs, this.m.clock.now(), verified);
    return { block, hash: blockHash(block.header), envs, exec };
  }

  /**
   * A proposed block's transactions as envelopes (their bytes taken from the
   * encoded block, not re-encoded), with the signatures the mempool has not
   * verified checked in the worker pool rather than one by one on the event
   * loop. One that fails there is checked again by block verification, which
   * then refuses the block.
   */
  private async checkedEnvelopes(block: BlockT, blockBytes: Uint8Array): Promise<{ envs: TxEnvelope[]; verified: (env: TxEnvelope) => boolean }> {
    const txBytes = blockTxBytes(blockBytes);
    const envs = block.body.txs.map((s, i) => envelopeFromSigned(s, txBytes[i]));
    const known = (env: TxEnvelope) => this.m.txs.verified(env);
    const unknown = envs.filter((e) => !known(e));
    const checked = new Set<TxEnvelope>();
    if (unknown.length > 0 && this.m.verifier) {
      const oks = await this.m.verifier.verifyBatch(unknown.map((e) => ({ publicKey: e.signed.tx.publicKey, message: e.signingMessage, signature: e.signed.signature }))).catch(() => [] as boolean[]);
      unknown.forEach((e, i) => oks[i] === true && checked.add(e));
    }
    return { envs, verified: (env) => checked.has(env) || known(env) };
  }

  private async publishProposal(round: number, polRound: number, value: string): Promise<void> {
    const c = this.candidates.get(value);
    if (!c || !this.m.privval) return;
    const h = c.block.header.height;
    if (h !== this.machine.height || this.machine.step === "decided") return; // decided meanwhile (see buildValue)
    const key = proposalKey(h, round, polRound, c.hash);
    let signature = this.walProposalSigs.get(key);
    if (!signature) {
      try {
        signature = await this.m.privval.signProposal(h, round, polRound, c.hash);
      } catch (e) {
        if (isStorageFault(e)) throw e;
        this.m.logger.error({ err: e, height: h, round }, "Privval refused to sign the proposal");
        return;
      }
      await this.m.wal.append({ type: "ownProposal", height: h, round, polRound, blockHash: c.hash, signature }, true);
    }
    const sig = signature;
    let bytes: Uint8Array | null = null;
    const encode = () => (bytes ??= encodeProposalMessage(round, polRound + 1, c.block, c.envs.map((e) => e.bytes), sig));
    const id = `proposal/${key}`;
    if (!this.own.some((o) => o.id === id)) this.own.push({ kind: "proposal", id, bytes: encode });
    this.sendOwn("proposal", encode);
    failpoint("proposed", h);
  }

  /**
   * Signs (or, replaying, takes from the WAL) a vote the machine cast, makes
   * it durable in the WAL, sends it, and only then counts it (feeds it back).
   * A vote privval refuses is not counted.
   */
  private async publishVote(v: VoteMsg): Promise<void> {
    const privval = this.m.privval;
    if (!privval) return;
    const type = v.kind === "prevote" ? VoteType.Prevote : VoteType.Precommit;
    const hash = v.value === null ? ZERO_HASH : fromHex(v.value);
    const key = sigKey(v);
    let signature = this.walVoteSigs.get(key);
    const fresh = !signature;
    if (!signature) {
      try {
        signature = await privval.signVote(type, v.height, v.round, hash);
      } catch (e) {
        if (isStorageFault(e)) throw e;
        this.m.logger.error({ err: e, height: v.height, round: v.round, kind: v.kind }, "Privval refused to sign the vote: it does not count");
        return;
      }
    }
    this.sigs.set(key, signature);
    const bytes = Vote.serialize({ type, height: v.height, round: v.round, blockHash: hash, validator: privval.key.address, signature });
    if (fresh) await this.m.wal.append({ type: "ownVote", height: v.height, bytes }, true);
    failpoint(`signed-${v.kind}`, v.height);
    this.rememberOwn("vote", bytes);
    this.m.transport?.publishVote(bytes);
    failpoint(`sent-${v.kind}`, v.height);
    await this.feed({ type: "vote", vote: v });
  }

  private rememberOwn(kind: "vote", bytes: Uint8Array): void {
    if (!this.own.some((o) => o.kind === kind && bytesEqual(o.bytes(), bytes))) this.own.push({ kind, id: "", bytes: () => bytes });
  }

  /** Publishes an own message, encoding it only if some peer listens. */
  private sendOwn(kind: "proposal" | "vote", bytes: () => Uint8Array): void {
    const t = this.m.transport;
    if (!t || t.hasListeners?.(kind) === false) return;
    if (kind === "proposal") t.publishProposal(bytes());
    else t.publishVote(bytes());
  }

  // ---- inbound

  /**
   * Proposer priorities for `height` (this height's set, or the next one's
   * while waiting to start it). The next height's set is known ahead inside
   * an epoch; after a boundary it comes from the committed state, so
   * messages for it are ignored (re-gossiped) until the boundary commits.
   */
  private setFor(height: number): ProposerSet | null {
    if (!this.set) return null;
    if (height === this.setHeight) return this.set;
    if (height !== this.setHeight + 1) return null;
    if (this.setHeight % this.m.chain.params.epochLength !== 0) return (this.nextSet ??= this.set.next());
    // After an epoch boundary the next set is the committed state's: known as soon as the boundary block is
    // committed, before the next height starts (a node a little behind gets that height's messages in between).
    if (this.m.chain.head.header.height === this.setHeight) return (this.nextSet ??= this.committedSet());
    return null;
  }

  /**
   * True: valid (relay). False: invalid (the transport may penalise the peer).
   * Null: not judged (an old or far-future height): neither relayed nor held against anyone.
   */
  private async onProposalBytes(bytes: Uint8Array, from: string, log = true): Promise<boolean | null> {
    // The very same bytes again (a proposer re-gossips, a peer relays): judged once. Content-addressed, so a copy
    // with anything changed is judged afresh; a duplicate is not relayed again (null).
    const digest = toHex(sha256(bytes));
    if (this.judgedProposals.has(digest)) return null;
    const verdict = await this.judgeProposal(bytes, from, log);
    if (verdict === true) {
      if (this.judgedProposals.size >= 4 * MAX_FUTURE_PROPOSALS) this.judgedProposals.delete(this.judgedProposals.keys().next().value as string);
      this.judgedProposals.add(digest);
    }
    return verdict;
  }

  private async judgeProposal(bytes: Uint8Array, from: string, log: boolean): Promise<boolean | null> {
    let msg;
    try {
      msg = ProposalMessage.deserialize(bytes);
    } catch {
      return false;
    }
    const { block, round, signature } = msg;
    const polRound = msg.polRound - 1;
    const h = block.header.height;
    if (polRound >= round) return false;
    const current = this.m.chain.head.header.height + 1;
    if (h > current + 1) this.m.onBehind?.();
    if (h < current || h > current + 1) return null;
    const set = this.setFor(h);
    const proposerId = addrKey(block.header.proposer);
    const proposer = this.validator(proposerId);
    if (!set) return null; // the next height's set is not known yet (an epoch boundary): re-gossiped later
    if (!proposer || set.proposerAt(round).id !== proposerId) return false;
    const hash = blockHash(block.header);
    const message = proposalSigningMessage(this.m.chain.ctx.chainId, h, round, polRound, hash);
    const signed = this.offThread() ? await this.signatures!.check(proposer.publicKey, message, signature).catch(() => mlDsa().verify(proposer.publicKey, message, signature)) : mlDsa().verify(proposer.publicKey, message, signature);
    if (!signed) return false;
    if (h !== this.machine.height || this.machine.step === "decided") {
      // Signed by the right proposer but for a height not started yet: its block is checked then.
      if (h <= this.machine.height) return null; // this height is decided
      if (this.futureProposals.length >= MAX_FUTURE_PROPOSALS) return null;
      this.futureProposals.push({ bytes, from });
      if (log) await this.logCarried({ type: "proposal", height: h, bytes });
      return true;
    }
    if (log) await this.m.wal.append({ type: "proposal", height: h, bytes });
    let valid = true;
    if (!this.candidates.has(toHex(hash))) {
      const lease = await this.m.prepare?.([block]);
      try {
        const { envs, verified } = await this.checkedEnvelopes(block, proposalBlockBytes(bytes));
        this.remember(this.verifyCandidate(block, envs, verified));
      } catch (e) {
        if (!(e instanceof BlockError)) throw e;
        if (isBlobUnavailable(e)) {
          // Not the proposer's fault and not a verdict: judged when it comes again (it is re-gossiped) and the blob is here.
          this.m.logger.warn({ height: h, round, err: e.message }, "Cannot verify the proposal yet: it needs a blob this node could not fetch");
          return null;
        }
        valid = false;
        this.m.logger.warn({ height: h, round, code: e.code, err: e.message }, "Invalid proposal");
      } finally {
        lease?.release();
      }
    }
    await this.feed({ type: "proposal", proposal: { height: h, round, value: toHex(hash), polRound, proposer: proposerId }, valid });
    return true;
  }

  /**
   * A gossiped vote: its signature is checked off the event loop first (with the key of the validator its address
   * names, which an address always names), then the vote is handled on the consensus queue.
   */
  private async onVoteGossip(bytes: Uint8Array, from: string): Promise<boolean | null> {
    let v: VoteT;
    try {
      v = Vote.deserialize(bytes);
    } catch {
      return false;
    }
    let signed: boolean | undefined;
    const batch = this.offThread() ? this.signatures : null;
    const head = this.m.chain.head.header.height;
    // Only votes the queue would look at (the head's late precommits, this height's and the next's) are checked here.
    if (batch && v.height >= head && v.height <= head + 2) {
      const id = addrKey(v.validator);
      const key = (v.height === head ? this.m.chain.world.lastValidators.find((x) => addrKey(x.address) === id) : undefined) ?? this.validator(id);
      if (key) {
        signed = await batch.check(key.publicKey, voteSigningMessage(this.m.chain.ctx.chainId, v.type, v.height, v.round, v.blockHash), v.signature).catch(() => undefined);
        if (signed === false) return false;
      }
    }
    return this.enqueueResult(() => this.onVoteBytes(bytes, from, true, v, signed), null);
  }

  /** `decoded`, `signed`: the vote already decoded, and its signature already checked (true) or not (undefined). */
  private async onVoteBytes(bytes: Uint8Array, _from: string, log = true, decoded?: VoteT, signed?: boolean): Promise<boolean | null> {
    let v;
    if (decoded) v = decoded;
    else {
      try {
        v = Vote.deserialize(bytes);
      } catch {
        return false;
      }
    }
    if (v.type !== VoteType.Prevote && v.type !== VoteType.Precommit) return false;
    const head = this.m.chain.head.header.height;
    const current = head + 1;
    if (v.height === head && v.type === VoteType.Precommit) return this.onLatePrecommit(v, signed);
    if (v.height > current + 1) this.m.onBehind?.();
    if (v.height < current || v.height > current + 1) return null;
    if (!this.setFor(v.height)) return null; // the next height's set is not known yet
    const id = addrKey(v.validator);
    const val = this.validator(id);
    if (!val) return false;
    if (signed !== true && !mlDsa().verify(val.publicKey, voteSigningMessage(this.m.chain.ctx.chainId, v.type, v.height, v.round, v.blockHash), v.signature)) return false;
    const vote = voteMsg(v);
    this.sigs.set(sigKey(vote), v.signature);
    if (log) {
      if (v.height === this.machine.height) await this.m.wal.append({ type: "vote", height: v.height, bytes });
      else await this.logCarried({ type: "vote", height: v.height, bytes });
    }
    await this.feed({ type: "vote", vote }); // the machine holds next-height votes until that height starts
    return true;
  }

  /** A message for a height after the machine's: logged now, and again at the top of that height's log. */
  private async logCarried(rec: WalRecord): Promise<void> {
    if (this.walCarry.length >= 4 * MAX_FUTURE_PROPOSALS + 4 * 1024) return;
    this.walCarry.push(rec);
    await this.m.wal.append(rec);
  }

  /**
   * A precommit for the head block that arrived after the decision: added to
   * the head's commit so the next block's lastCommit carries it and its
   * validator is not counted as missing (CometBFT's LastCommit).
   */
  private onLatePrecommit(v: VoteT, signed?: boolean): boolean | null {
    const { chain } = this.m;
    const hc = chain.headCommit;
    if (v.round !== hc.round || !bytesEqual(v.blockHash, chain.head.hash)) return null;
    const id = addrKey(v.validator);
    if (hc.signatures.some((s) => addrKey(s.validator) === id)) return null;
    const member = chain.world.lastValidators.find((x) => addrKey(x.address) === id);
    if (!member) return false;
    if (signed !== true && !mlDsa().verify(member.publicKey, voteSigningMessage(chain.ctx.chainId, v.type, v.height, v.round, v.blockHash), v.signature)) return false;
    chain.addHeadCommitSignature(v.validator, v.signature);
    return true;
  }

  /** True when peers' signatures go to the consensus verifier thread (a large enough active set; see offThreadSignaturesFrom). */
  private offThread(): boolean {
    return this.signatures !== null && this.m.chain.world.validators.length >= this.opts.offThreadSignaturesFrom;
  }

  private validator(id: string) {
    return this.m.chain.world.validators.find((v) => addrKey(v.address) === id);
  }

  // ---- deciding

  private async commit(height: number, round: number, value: string, precommits: VoteMsg[]): Promise<void> {
    const c = this.candidates.get(value);
    if (!c) throw new Error(`decided ${value} at height ${height} without its block`);
    const commit: CommitT = {
      height,
      round,
      blockHash: c.hash,
      signatures: precommits.flatMap((v) => {
        const signature = this.sigs.get(sigKey(v));
        return signature ? [{ validator: fromHex(v.validator), signature }] : [];
      }),
    };
    const t0 = performance.now();
    failpoint("decided", height);
    await this.m.chain.commit(c.block, c.hash, c.exec, commit);
    failpoint("committed", height);
    for (const ev of c.block.body.evidence) this.evidence.delete(evidenceHash(ev));
    this.m.metrics?.blockCommitSeconds.observe((performance.now() - t0) / 1000);
    const spent = this.stepTimes.committed(height, performance.now());
    if (spent && this.m.metrics) for (const [step, seconds] of spent) this.m.metrics.consensusStepSeconds.observe({ step }, seconds);
    this.proposing.clear();
    // Precommits for this block still on their way (same round) are added to the head's commit as they arrive.
    for (const [k, sig] of this.sigs) {
      const [h, kind, r, validator, val] = k.split("/");
      if (Number(h) === height && kind === "precommit" && Number(r) === round && val === value && !commit.signatures.some((x) => addrKey(x.validator) === validator)) {
        this.m.chain.addHeadCommitSignature(fromHex(validator!), sig);
      }
    }
    const next = height + 1;
    if (this.opts.haltHeight !== undefined && next > this.opts.haltHeight) return this.halt();
    // The next height starts as soon as the block spacing (minBlockIntervalMs) has passed if there is something to
    // put in a block, and a block time after this block's time if there is not (decision 0014). Each is counted from
    // the block's time but never more than that long from now: a proposer whose clock runs ahead (by up to
    // maxClockDriftMs, which verification allows) cannot stall the chain. The waits are timed on the monotonic clock.
    const sinceBlock = this.m.clock.now() - c.block.header.time;
    const spacing = Math.min(this.opts.blockTimeMs, Math.max(blockSpacingMs(this.m.chain.params), this.opts.minBlockIntervalMs));
    const now = performance.now();
    const earliest = now + Math.min(spacing, Math.max(0, spacing - sinceBlock));
    const latest = now + Math.min(this.opts.blockTimeMs, Math.max(0, this.opts.blockTimeMs - sinceBlock));
    const graceUntil = latest + this.opts.commitGraceMs;
    const expected = this.liveSigners;
    let readyAt: number | null = null;
    const fire = () => {
      this.nextHeightTimer = null;
      const at = performance.now();
      if (readyAt === null) {
        if (at < latest && this.running && !this.hasWork()) {
          this.nextHeightTimer = setTimeout(fire, Math.min(WORK_POLL_MS, latest - at));
          return;
        }
        readyAt = at;
      }
      const signed = new Set(this.m.chain.headCommit.signatures.map((x) => addrKey(x.validator)));
      // Wait a little for validators that signed last time and whose precommit is still on its way: past the block
      // time by up to commitGraceMs, or, starting early for waiting work, by up to one more block spacing.
      const missing = [...expected].filter((id) => !signed.has(id));
      if (missing.length > 0 && at < (readyAt < latest ? Math.min(graceUntil, readyAt + spacing) : graceUntil) && this.running) {
        this.nextHeightTimer = setTimeout(fire, 5);
        return;
      }
      if (missing.length > 0) this.m.logger.debug({ height, missing }, "Starting the next height without precommits from validators that signed the previous one");
      this.liveSigners = signed;
      this.enqueue(() => this.beginHeight(next, 0));
    };
    this.nextHeightTimer = setTimeout(fire, earliest - now);
  }

  /**
   * Something for the next height to include, or a sign that it has begun: a
   * transaction ready in the mempool, an attestation waiting, or the
   * proposer's proposal already here. (Evidence waits for the block time: it
   * may be too old to include, and then it would never stop counting.)
   */
  private hasWork(): boolean {
    if (this.futureProposals.length > 0) return true;
    const { chain, txs } = this.m;
    const baseFee = baseFeeAfter(chain.head, chain.params);
    if (txs.hasReady ? txs.hasReady(baseFee) : !txs.pending(baseFee)[Symbol.iterator]().next().done) return true;
    const att = this.m.attestations?.();
    return att !== undefined && !att[Symbol.iterator]().next().done;
  }

  /**
   * Re-sends this height's own messages (gossip lost to a restart or a
   * partition). A proposal (a block: megabytes under load, and every copy a
   * new gossip message) only until the round has seen a polka, and less
   * often each time: after 1, 2, 4, 8 … ticks.
   */
  private regossip(): void {
    if (!this.m.transport || this.machine.step === "decided") return;
    const beforePolka = this.machine.step === "propose" || this.machine.step === "prevote";
    for (const o of this.own) {
      if (o.kind === "proposal") {
        o.ticks = (o.ticks ?? 0) + 1;
        if (!beforePolka || (o.ticks & (o.ticks - 1)) !== 0) continue;
      }
      this.sendOwn(o.kind, o.bytes);
    }
  }

  /** The next height's set and proposer priorities, as the committed state holds them. */
  private committedSet(): ProposerSet {
    const { validators, priorities } = this.m.chain.world;
    return ProposerSet.fromPriorities(validators.map((v, i) => ({ id: addrKey(v.address), power: v.power, priority: priorities[i]! }))).increment(1);
  }
}

function sigKey(v: VoteMsg): string {
  return `${v.height}/${v.kind}/${v.round}/${v.validator}/${v.value ?? "nil"}`;
}

function voteMsg(v: { type: number; height: number; round: number; blockHash: Uint8Array; validator: Uint8Array }): VoteMsg {
  return {
    kind: v.type === VoteType.Prevote ? "prevote" : "precommit",
    height: v.height,
    round: v.round,
    value: v.blockHash.every((b) => b === 0) ? null : toHex(v.blockHash),
    validator: addrKey(v.validator),
  };
}

function proposalKey(height: number, round: number, polRound: number, blockHash: Uint8Array): string {
  return `${height}/${round}/${polRound}/${toHex(blockHash)}`;
}
