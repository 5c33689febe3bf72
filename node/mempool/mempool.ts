/**
 * The transaction pool. Admission runs every check a block would (stateless,
 * then against the committed state), verifies signatures in the worker pool
 * in batches, and only then inserts. Transactions wait in per-sender nonce
 * queues: `pending()` yields the ready ones (contiguous from the account
 * nonce) best tip first; later nonces stay queued until the gap is filled.
 * A transaction with the same sender and nonce replaces a waiting one when it
 * raises both fee caps by `replaceBumpPercent`. At the caps the lowest-tip
 * transaction (and its sender's later nonces) is evicted for a better one.
 * Replaced transactions are remembered (bounded by `maxRemembered`) with the
 * hash that replaced them: a fee bump here, or another transaction of the
 * same sender and nonce that a block included instead.
 */
import { maxCost, checkTxStateless } from "../chain/transaction.ts";
import { TxError, TxErrorCode } from "../chain/errors.ts";
import { effectiveTip } from "../chain/fees.ts";
import type { Params } from "../types/params.ts";
import type { DecodedTx, TxEnvelope } from "../types/txcodec.ts";
import { Heap } from "../util/heap.ts";
import { PouwError } from "../util/errors.ts";
import { bytesEqual } from "../util/hex.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import { MempoolError, MempoolErrorCode } from "./errors.ts";
import { mempoolOptions, type MempoolOptions } from "./options.ts";
import type { SignatureVerifier } from "./verifier.ts";

/** What the mempool reads of the chain: the committed head's view. */
export interface MempoolChainView {
  chainId: Uint8Array;
  params: Params;
  /** Base fee of the next block. */
  baseFee(): bigint;
  /** Committed account state by sender hex (no 0x), or undefined for an unknown account. */
  account(senderHex: string): { nonce: bigint; balance: bigint } | undefined;
}

export interface MempoolDeps {
  view: MempoolChainView;
  verifier: Pick<SignatureVerifier, "verifyBatch">;
  metrics?: Metrics | null;
  /** Told about transactions evicted to make room (their status becomes "rejected: EVICTED"). */
  onEvicted?: (envs: TxEnvelope[]) => void;
  /** Told about the transactions a batch admitted, before `addBatch` resolves (the node journals them). */
  onAdmitted?: (envs: TxEnvelope[]) => void | Promise<void>;
}

interface Entry {
  readonly env: TxEnvelope;
  readonly nonce: bigint;
  readonly maxFee: bigint;
  readonly tip: bigint;
  /** Arrival order: breaks ties (first come, first served). */
  readonly seq: number;
}

/** A transaction that another one of the same sender and nonce took the place of. */
export interface Replacement {
  /** Hash (0x hex) of the transaction that replaced it: the fee bump, or the one a block included instead. */
  readonly replacedBy: string;
  readonly senderHex: string;
  readonly nonce: bigint;
}

/** Eviction order: lowest tip first, newest first among equal tips. */
const evictFirst = (a: Entry, b: Entry) => (a.tip !== b.tip ? a.tip < b.tip : a.seq > b.seq);

export class Mempool {
  readonly opts: MempoolOptions;
  private readonly deps: MempoolDeps;
  private readonly byHash = new Map<string, Entry>();
  private readonly bySender = new Map<string, Map<bigint, Entry>>();
  /** Eviction candidates; entries removed since they were pushed are skipped lazily. */
  private evictHeap = new Heap<Entry>(evictFirst);
  /** Replaced hash → what replaced it, oldest first (a Map keeps insertion order). */
  private readonly replaced = new Map<string, Replacement>();
  private totalBytes = 0;
  private seq = 0;

  constructor(opts: Partial<MempoolOptions>, deps: MempoolDeps) {
    this.opts = mempoolOptions(opts);
    this.deps = deps;
    // Every admission result is a series from the start (0 until it happens): ADMITTED and each refusal code.
    if (deps.metrics) preset(deps.metrics.mempoolAdmitted, ["ADMITTED", ...Object.values(TxErrorCode), ...Object.values(MempoolErrorCode)].map((result) => ({ result })));
  }

  /** The size gauges, after the pool changed. */
  private gauges(): void {
    this.deps.metrics?.mempoolSize.set(this.byHash.size);
    this.deps.metrics?.mempoolBytes.set(this.totalBytes);
  }

  get size(): number {
    return this.byHash.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  get(hashHex: string): TxEnvelope | undefined {
    return this.byHash.get(hashHex)?.env;
  }

  /** What replaced this transaction, while it is remembered (`maxRemembered`). */
  replacement(hashHex: string): Replacement | undefined {
    return this.replaced.get(hashHex);
  }

  /** True when the mempool verified this transaction's signature (everything it holds was). */
  verified(env: TxEnvelope): boolean {
    return this.byHash.has(env.hashHex);
  }

  /** Admits one transaction or throws the reason it was refused. */
  async add(env: TxEnvelope): Promise<void> {
    const [err] = await this.addBatch([env]);
    if (err) throw err;
  }

  /**
   * Every check admission makes that needs neither the hash nor the
   * signature (against the committed state): the admission path runs it on
   * arrival, so a transaction refused anyway costs no signature check.
   */
  screen(d: DecodedTx): PouwError | null {
    try {
      this.precheck(d, this.deps.view.baseFee());
      return null;
    } catch (e) {
      return asPouwError(e);
    }
  }

  /**
   * Admits many transactions with one round of signature verification.
   * Returns, per transaction in order, null when admitted or the error.
   * `signatures`, when given, are the verdicts already reached for them
   * (the admission path checks them with their hashes in the workers).
   */
  async addBatch(envs: readonly TxEnvelope[], signatures?: readonly boolean[]): Promise<(PouwError | null)[]> {
    const results: (PouwError | null)[] = new Array(envs.length).fill(null);
    const candidates: number[] = [];
    const inBatch = new Set<string>();
    let baseFee = this.deps.view.baseFee();
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      try {
        if (inBatch.has(env.hashHex)) throw new MempoolError(MempoolErrorCode.ALREADY_KNOWN, `transaction ${env.hashHex} is already in the mempool`);
        this.precheck(env, baseFee);
        inBatch.add(env.hashHex);
        candidates.push(i);
      } catch (e) {
        results[i] = asPouwError(e);
      }
    }
    if (candidates.length > 0) {
      let oks: boolean[];
      try {
        oks = signatures
          ? candidates.map((i) => signatures[i] === true)
          : await this.deps.verifier.verifyBatch(
              candidates.map((i) => ({ publicKey: envs[i]!.signed.tx.publicKey, message: envs[i]!.signingMessage, signature: envs[i]!.signed.signature })),
            );
      } catch (e) {
        const err = asPouwError(e);
        for (const i of candidates) results[i] = err;
        oks = [];
      }
      baseFee = this.deps.view.baseFee();
      for (let k = 0; k < oks.length; k++) {
        const i = candidates[k]!;
        const env = envs[i]!;
        if (!oks[k]) {
          results[i] = new TxError(TxErrorCode.BAD_SIGNATURE, "signature does not verify against the transaction's public key");
          continue;
        }
        try {
          // The state may have moved while the signatures were checked: check again, then insert.
          this.insert(env, this.precheck(env, baseFee));
        } catch (e) {
          results[i] = asPouwError(e);
        }
      }
    }
    if (this.deps.onAdmitted && candidates.length > 0) {
      const admitted = candidates.filter((i) => results[i] === null).map((i) => envs[i]!);
      if (admitted.length > 0) await this.deps.onAdmitted(admitted);
    }
    const m = this.deps.metrics;
    if (m) {
      for (const r of results) m.mempoolAdmitted.inc({ result: r ? r.code : "ADMITTED" });
      this.gauges();
    }
    return results;
  }

  /**
   * Candidates for the next block at `baseFee`, best first: a heap over each
   * sender's next ready transaction by effective tip, then arrival. A sender
   * whose next transaction cannot pay the base fee waits.
   */
  *pending(baseFee: bigint): Generator<TxEnvelope> {
    type Head = { e: Entry; q: Map<bigint, Entry>; eff: bigint };
    const better = (a: Head, b: Head) => (a.eff !== b.eff ? a.eff > b.eff : a.e.seq < b.e.seq);
    const heads: Head[] = [];
    for (const [sender, q] of this.bySender) {
      const e = q.get(this.deps.view.account(sender)?.nonce ?? 0n);
      if (e && e.maxFee >= baseFee) heads.push({ e, q, eff: effectiveTip(e.maxFee, e.tip, baseFee) });
    }
    const heap = new Heap(better, heads);
    for (let h = heap.pop(); h; h = heap.pop()) {
      yield h.e.env;
      const next = h.q.get(h.e.nonce + 1n);
      if (next && next.maxFee >= baseFee && this.byHash.get(next.env.hashHex) === next) heap.push({ e: next, q: h.q, eff: effectiveTip(next.maxFee, next.tip, baseFee) });
    }
  }

  /** True if `pending(baseFee)` would yield anything: some sender's next nonce waits, paying at least `baseFee`. */
  hasReady(baseFee: bigint): boolean {
    for (const [sender, q] of this.bySender) {
      const e = q.get(this.deps.view.account(sender)?.nonce ?? 0n);
      if (e && e.maxFee >= baseFee) return true;
    }
    return false;
  }

  /** Every transaction held, in arrival order. */
  *all(): Generator<TxEnvelope> {
    for (const e of this.byHash.values()) yield e.env;
  }

  /**
   * After a block commits: drops its transactions and every waiting one its
   * senders' nonces have passed. A waiting one whose sender and nonce the
   * block included under another hash is remembered as replaced by it.
   */
  removeCommitted(envs: Iterable<TxEnvelope>): void {
    const senders = new Set<string>();
    const included = new Map<string, string>();
    for (const env of envs) {
      this.removeEntry(this.byHash.get(env.hashHex));
      senders.add(env.senderHex);
      included.set(`${env.senderHex}:${env.signed.tx.nonce}`, env.hashHex);
    }
    for (const sender of senders) {
      const q = this.bySender.get(sender);
      if (!q) continue;
      const nonce = this.deps.view.account(sender)?.nonce ?? 0n;
      for (const e of [...q.values()]) {
        if (e.nonce >= nonce) continue;
        const by = included.get(`${sender}:${e.nonce}`);
        if (by !== undefined && by !== e.env.hashHex) this.remember(e, by);
        this.removeEntry(e);
      }
    }
    this.gauges();
  }

  /** Removes one transaction (e.g. found invalid while building a block). Later nonces of its sender stay queued. */
  remove(hashHex: string): boolean {
    const e = this.byHash.get(hashHex);
    this.removeEntry(e);
    this.gauges();
    return e !== undefined;
  }

  /** Every check short of the signature; returns the entry it would replace, if any. */
  private precheck(env: DecodedTx & { hashHex?: string }, baseFee: bigint): Entry | undefined {
    if (env.hashHex !== undefined && this.byHash.has(env.hashHex)) throw new MempoolError(MempoolErrorCode.ALREADY_KNOWN, `transaction ${env.hashHex} is already in the mempool`);
    const { view } = this.deps;
    checkTxStateless(env, view);
    const { tx } = env.signed;
    if (tx.maxFeePerGas < baseFee) throw new TxError(TxErrorCode.FEE_BELOW_BASE_FEE, `maxFeePerGas ${tx.maxFeePerGas} is below the base fee ${baseFee}`, { baseFee });
    const acc = view.account(env.senderHex);
    const nonce = acc?.nonce ?? 0n;
    if (tx.nonce < nonce) throw new TxError(TxErrorCode.NONCE_TOO_LOW, `nonce ${tx.nonce} is below the account nonce ${nonce}`, { expected: nonce });
    if (tx.nonce > nonce + BigInt(this.opts.maxNonceAhead)) {
      throw new MempoolError(MempoolErrorCode.NONCE_TOO_HIGH, `nonce ${tx.nonce} is more than ${this.opts.maxNonceAhead} ahead of the account nonce ${nonce}`, { expected: nonce });
    }
    const cost = maxCost(env);
    const balance = acc?.balance ?? 0n;
    if (balance < cost) throw new TxError(TxErrorCode.INSUFFICIENT_FUNDS, `balance ${balance} cannot pay the maximum cost ${cost} (gasLimit × maxFeePerGas + amount)`, { balance, required: cost });

    const q = this.bySender.get(env.senderHex);
    const old = q?.get(tx.nonce);
    // Not hashed yet (on arrival): the very same bytes are the very same transaction.
    if (old && env.hashHex === undefined && bytesEqual(old.env.bytes, env.bytes)) {
      throw new MempoolError(MempoolErrorCode.ALREADY_KNOWN, `transaction ${old.env.hashHex} is already in the mempool`);
    }
    if (old) {
      const bump = BigInt(100 + this.opts.replaceBumpPercent);
      const minFee = ceilDiv(old.maxFee * bump, 100n);
      const minTip = ceilDiv(old.tip * bump, 100n);
      if (tx.maxFeePerGas < minFee || tx.maxPriorityFeePerGas < minTip) {
        throw new MempoolError(
          MempoolErrorCode.REPLACEMENT_UNDERPRICED,
          `replacing ${old.env.hashHex} needs maxFeePerGas ≥ ${minFee} and maxPriorityFeePerGas ≥ ${minTip} (+${this.opts.replaceBumpPercent}%)`,
          { replaces: old.env.hashHex, minMaxFeePerGas: minFee, minMaxPriorityFeePerGas: minTip },
        );
      }
      return old;
    }
    if ((q?.size ?? 0) >= this.opts.maxPerSender) {
      throw new MempoolError(MempoolErrorCode.SENDER_LIMIT, `sender already has ${this.opts.maxPerSender} transactions waiting`);
    }
    return undefined;
  }

  private insert(env: TxEnvelope, replaces: Entry | undefined): void {
    const { tx } = env.signed;
    const entry: Entry = { env, nonce: tx.nonce, maxFee: tx.maxFeePerGas, tip: tx.maxPriorityFeePerGas, seq: this.seq++ };
    const freed = replaces ? 1 : 0;
    const freedBytes = replaces ? replaces.env.bytes.length : 0;
    if (this.byHash.size - freed + 1 > this.opts.maxTxs || this.totalBytes - freedBytes + env.bytes.length > this.opts.maxBytes) {
      this.makeRoom(entry, freed, freedBytes);
    }
    if (replaces) {
      this.remember(replaces, env.hashHex);
      this.removeEntry(replaces);
    }
    this.replaced.delete(env.hashHex); // taken again: it is pending, not replaced
    let q = this.bySender.get(env.senderHex);
    if (!q) this.bySender.set(env.senderHex, (q = new Map()));
    q.set(entry.nonce, entry);
    this.byHash.set(env.hashHex, entry);
    this.totalBytes += env.bytes.length;
    this.evictHeap.push(entry);
    if (this.evictHeap.size > 2 * this.byHash.size + 1024) this.evictHeap = new Heap(evictFirst, this.byHash.values());
  }

  /** Evicts lower-tip transactions until `entry` fits, or throws MEMPOOL_FULL without evicting anything. */
  private makeRoom(entry: Entry, freed: number, freedBytes: number): void {
    const victims: Entry[] = [];
    const victimSet = new Set<Entry>();
    let count = this.byHash.size - freed + 1;
    let bytes = this.totalBytes - freedBytes + entry.env.bytes.length;
    const popped: Entry[] = [];
    const full = () => count > this.opts.maxTxs || bytes > this.opts.maxBytes;
    while (full()) {
      const v = this.evictHeap.pop();
      if (!v) break;
      if (this.byHash.get(v.env.hashHex) !== v || victimSet.has(v)) continue;
      popped.push(v);
      const sameSenderEarlier = v.env.senderHex === entry.env.senderHex && v.nonce <= entry.nonce;
      if (!evictFirst(v, entry) || v.tip >= entry.tip || sameSenderEarlier) {
        for (const p of popped) this.evictHeap.push(p);
        throw new MempoolError(MempoolErrorCode.MEMPOOL_FULL, `mempool is full (${this.opts.maxTxs} transactions, ${this.opts.maxBytes} bytes) and this transaction's tip ${entry.tip} does not beat the lowest waiting (${v.tip})`);
      }
      // Evicting a nonce makes the sender's later nonces unexecutable: they go too.
      const q = this.bySender.get(v.env.senderHex)!;
      for (const e of q.values()) {
        if (e.nonce >= v.nonce && !victimSet.has(e)) {
          victimSet.add(e);
          victims.push(e);
          count--;
          bytes -= e.env.bytes.length;
        }
      }
    }
    if (full()) throw new MempoolError(MempoolErrorCode.MEMPOOL_FULL, `transaction of ${entry.env.bytes.length} bytes does not fit in the mempool`);
    for (const v of victims) this.removeEntry(v);
    this.deps.onEvicted?.(victims.map((v) => v.env));
  }

  private remember(e: Entry, replacedBy: string): void {
    if (this.opts.maxRemembered === 0) return;
    this.replaced.delete(e.env.hashHex);
    this.replaced.set(e.env.hashHex, { replacedBy, senderHex: e.env.senderHex, nonce: e.nonce });
    if (this.replaced.size > this.opts.maxRemembered) this.replaced.delete(this.replaced.keys().next().value as string);
  }

  private removeEntry(e: Entry | undefined): void {
    if (!e || this.byHash.get(e.env.hashHex) !== e) return;
    this.byHash.delete(e.env.hashHex);
    this.totalBytes -= e.env.bytes.length;
    const q = this.bySender.get(e.env.senderHex);
    if (q?.get(e.nonce) === e) {
      q.delete(e.nonce);
      if (q.size === 0) this.bySender.delete(e.env.senderHex);
    }
  }
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Anything but a coded error is a bug: its text stays out of the answer (the RPC logs the cause). */
function asPouwError(e: unknown): PouwError {
  if (e instanceof PouwError) return e;
  return new PouwError("INTERNAL", "the node failed to check this transaction (an internal error; the node's log has the cause)", {}, { cause: e });
}
