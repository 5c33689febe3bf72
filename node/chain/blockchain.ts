/**
 * The chain service: the committed head, the world state and the store, and
 * the one place where a block becomes committed. Consensus decides what to
 * commit; this writes it atomically and tells listeners. A commit or import
 * the disk refused (a StorageFault) is thrown AND handed to the
 * `onStorageFault` listeners, so the node stops whatever the caller makes of
 * the error: the in-memory head may be ahead of the disk by then.
 */
import { sha256 } from "../crypto/hash.ts";
import type { Level } from "../db/database.ts";
import { PouwError } from "../util/errors.ts";
import { asStorageFault, isStorageFault, StorageFault, type StorageFaultHandler } from "../util/storage-fault.ts";
import { bytesEqual, fromHex, toHex, utf8 } from "../util/hex.ts";
import type { BlockT, CommitT, ReceiptT } from "../types/block.ts";
import type { Genesis } from "../types/genesis.ts";
import type { Params } from "../types/params.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import { Bucket, bucketKey, dbLocation, iterateBucket, type BatchOp } from "../db/database.ts";
import { UintNum64 } from "../types/primitives.ts";
import { evidenceHash } from "./evidence.ts";
import { genesisStaking } from "./staking.ts";
import { genesisJobs } from "./jobs.ts";
import { SnapshotMismatch, TouchedRecords, WorldState, accountTouchedKey, adoptSealed, sealedWriteOps } from "../state/world.ts";
import { SnapshotDamaged, readAccountSnapshot, writeAccountSnapshot, type AccountSnapshot } from "../state/account-snapshot.ts";
import { blockHash, buildBlock, datasetMap, genesisHeader, verifyBlock, type BuildInput, type BuiltBlock, type ChainContext, type Head } from "./block.ts";
import { emptyCommit, verifyCommit } from "./commit.ts";
import type { ExecutionResult } from "./execute.ts";
import { ChainStore } from "./store.ts";

export class ChainStartError extends PouwError<"GENESIS_MISMATCH" | "STATE_CORRUPT"> {}

export interface CommittedBlock {
  block: BlockT;
  hash: Uint8Array;
  commit: CommitT;
  txs: TxEnvelope[];
  receipts: ReceiptT[];
}

export type CommitListener = (c: CommittedBlock) => void;
/** Called as each block's state is adopted, before the next block runs (a state snapshot is taken here): the state is the block's. */
export type AdoptListener = (height: number, hash: Uint8Array) => void;

export interface ChainOpenOptions {
  /** Size of a block segment file. */
  maxFileBytes?: number;
  /** Where the account snapshot file lives (node/state/account-snapshot.ts); none for in-memory nodes. */
  accountSnapshot?: string;
  /** Told about what is worth a log line but not an error: a snapshot that did not fit, a snapshot write that failed. */
  warn?: (msg: string, err?: unknown) => void;
}

/** A snapshot is written once this many account writes were adopted since the last (or at close). */
export const snapshotEvery = (accounts: number): number => Math.max(65_536, accounts >> 3);

export class Blockchain {
  readonly store: ChainStore;
  readonly world: WorldState;
  readonly ctx: ChainContext;
  readonly genesis: Genesis;
  head: Head;
  /** The commit of the head block (empty for genesis); the next block carries it as lastCommit. */
  headCommit: CommitT;
  private readonly listeners = new Set<CommitListener>();
  private readonly adoptListeners = new Set<AdoptListener>();
  private readonly faultListeners = new Set<StorageFaultHandler>();
  /** Evidence included in committed blocks (hash hex → height): a block may not include it again. */
  readonly includedEvidence = new Map<string, number>();
  private snapshotPath: string | null = null;
  private warn: (msg: string, err?: unknown) => void = () => {};
  private snapshotting: Promise<void> | null = null;
  /** Where the accounts came from at open: genesis, the snapshot file, or every database record (slow). */
  accountsSource: "genesis" | "snapshot" | "database" | "state-sync" = "genesis";
  /** Commits and imports between their first adopt and their database write (no snapshot may be taken then). */
  private writing = 0;

  private constructor(store: ChainStore, world: WorldState, genesis: Genesis, head: Head, headCommit: CommitT) {
    this.store = store;
    this.world = world;
    this.genesis = genesis;
    this.ctx = { chainId: utf8(genesis.chainId), params: genesis.params, datasets: datasetMap(genesis.datasets) };
    this.head = head;
    this.headCommit = headCommit;
  }

  get params(): Params {
    return this.ctx.params;
  }

  /** Opens the chain in `db`, writing genesis first if the database is empty. */
  /** `blocksDir`: where block bodies are appended on disk; null keeps them in `db` (in-memory nodes). */
  static async open(db: Level, genesis: Genesis, genesisHash: Uint8Array, blocksDir: string | null = null, opts: ChainOpenOptions = {}): Promise<Blockchain> {
    const store = await ChainStore.open(db, blocksDir, opts.maxFileBytes === undefined ? {} : { maxFileBytes: opts.maxFileBytes });
    const chain = await Blockchain.openStore(store, db, genesis, genesisHash, opts);
    chain.snapshotPath = opts.accountSnapshot ?? null;
    if (opts.warn) chain.warn = opts.warn;
    // A new chain, or one whose accounts were read from the database: the next restart should not have to.
    if (chain.snapshotPath !== null && chain.accountsSource !== "snapshot") await chain.snapshotAccounts();
    return chain;
  }

  /**
   * Opens a chain in an empty database from a state-synced snapshot: the
   * state after block S (checked by the caller against S's header), block S
   * and its commit. Nothing below S is held: the lowest retained height is
   * S+1 (S's own receipts were not fetched), as on a pruned node.
   */
  static async openRestored(
    db: Level,
    genesis: Genesis,
    genesisHash: Uint8Array,
    blocksDir: string | null,
    opts: ChainOpenOptions,
    restored: { world: WorldState; block: BlockT; hash: Uint8Array; commit: CommitT },
  ): Promise<Blockchain> {
    const store = await ChainStore.open(db, blocksDir, opts.maxFileBytes === undefined ? {} : { maxFileBytes: opts.maxFileBytes });
    if (await store.getHead()) throw new ChainStartError("STATE_CORRUPT", "state sync into a database that already holds a chain");
    const { world, block, hash, commit } = restored;
    const S = block.header.height;
    if (!bytesEqual(world.root, block.header.stateRoot)) throw new ChainStartError("STATE_CORRUPT", `the restored state does not give block ${S}'s state root`);
    const txs = block.body.txs.map((t) => envelopeFromSigned(t));
    await writeFreshChain(store, world, [...(await store.blockOps(block, hash, commit, [], txs)), store.floorOp(S + 1), store.genesisOp(genesisHash)]);
    store.floor = S + 1;
    const chain = new Blockchain(store, world, genesis, { header: block.header, hash }, commit);
    chain.accountsSource = "state-sync";
    chain.snapshotPath = opts.accountSnapshot ?? null;
    if (opts.warn) chain.warn = opts.warn;
    if (chain.snapshotPath !== null) await chain.snapshotAccounts();
    return chain;
  }

  private static async openStore(store: ChainStore, db: Level, genesis: Genesis, genesisHash: Uint8Array, opts: ChainOpenOptions): Promise<Blockchain> {
    const pointer = await store.getHead();
    if (!pointer) {
      const world = WorldState.fromGenesis(genesis.accounts(), genesisStaking(genesis.validators, genesis.params), genesisJobs(genesis));
      const ctx = { chainId: utf8(genesis.chainId), params: genesis.params, datasets: datasetMap(genesis.datasets) };
      const header = genesisHeader(world, ctx, genesis.genesisTime);
      const hash = blockHash(header);
      const block: BlockT = { header, body: { txs: [], attestations: [], evidence: [], lastCommit: emptyCommit() } };
      await writeFreshChain(store, world, [...(await store.blockOps(block, hash, null, [], [])), store.genesisOp(genesisHash)]);
      return new Blockchain(store, world, genesis, { header, hash }, emptyCommit());
    }
    const stored = await store.getGenesisHash();
    if (!stored || !bytesEqual(stored, genesisHash)) {
      throw new ChainStartError("GENESIS_MISMATCH", "the data directory was initialised with a different genesis file");
    }
    const block = await store.getBlock(pointer.height);
    if (!block) throw new ChainStartError("STATE_CORRUPT", `head ${pointer.height} has no block`);
    const { world, fromSnapshot } = await loadWorld(db, pointer.height, block.header.stateRoot, opts);
    if (!world) throw new ChainStartError("STATE_CORRUPT", `head ${pointer.height} has no state`);
    if (!bytesEqual(world.root, block.header.stateRoot)) {
      throw new ChainStartError("STATE_CORRUPT", `state root ${toHex(world.root)} does not match head ${pointer.height} (${toHex(block.header.stateRoot)})`);
    }
    const commit = pointer.height === 0 ? emptyCommit() : await store.getCommit(pointer.height);
    if (!commit) throw new ChainStartError("STATE_CORRUPT", `head ${pointer.height} has no commit`);
    const chain = new Blockchain(store, world, genesis, { header: block.header, hash: pointer.hash }, commit);
    chain.accountsSource = fromSnapshot ? "snapshot" : "database";
    for await (const [id, v] of iterateBucket(db, Bucket.evidence)) chain.includedEvidence.set(toHex(id), UintNum64.deserialize(v));
    return chain;
  }

  /** Writes a last account snapshot (when accounts changed since the one before), then closes the store. */
  async close(): Promise<void> {
    await this.snapshotting;
    if (this.world.touchedSinceSnapshot > 0) await this.snapshotAccounts();
    await this.store.close();
  }

  /**
   * Writes the committed accounts to the snapshot file and moves account
   * writes to the next generation; once the file is durable, the marks of
   * older generations are deleted. Only between blocks (nothing adopted and
   * unwritten). A failure is only a warning: the database still holds every
   * account, and the marks stay until a snapshot succeeds.
   */
  snapshotAccounts(): Promise<void> {
    if (this.snapshotPath === null || this.writing > 0) return Promise.resolve();
    if (this.snapshotting) return this.snapshotting;
    const w = this.world;
    const c = w.accounts.columns();
    const columns = { count: c.count, addresses: c.addresses.slice(), balances: c.balances.slice(), nonces: c.nonces.slice() };
    const leaves = w.accounts.leafRoots().slice();
    const gen = w.accountGen + 1;
    const height = this.head.header.height;
    const path = this.snapshotPath;
    w.accountGen = gen;
    w.touchedSinceSnapshot = 0;
    const run = (async () => {
      try {
        await writeAccountSnapshot(path, { gen, height, columns, leaves });
        await this.store.db.clear({ gte: accountTouchedKey(0, 0), lt: accountTouchedKey(gen, 0) });
      } catch (e) {
        this.warn(`account snapshot at height ${height} not written (the database still has every account)`, e);
      } finally {
        this.snapshotting = null;
      }
    })();
    this.snapshotting = run;
    return run;
  }

  private maybeSnapshot(): void {
    if (this.world.touchedSinceSnapshot >= snapshotEvery(this.world.accounts.count)) void this.snapshotAccounts();
  }

  onAdopt(listener: AdoptListener): () => void {
    this.adoptListeners.add(listener);
    return () => this.adoptListeners.delete(listener);
  }

  private adopted(height: number, hash: Uint8Array): void {
    for (const l of this.adoptListeners) l(height, hash);
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Told when a commit or import fails because the disk refused the write. */
  onStorageFault(listener: StorageFaultHandler): () => void {
    this.faultListeners.add(listener);
    return () => this.faultListeners.delete(listener);
  }

  /** `e` as a StorageFault when it is one (telling the listeners), else unchanged. */
  private storageFault(e: unknown): unknown {
    const f = asStorageFault(e, "chain database", dbLocation(this.store.db));
    if (f instanceof StorageFault) for (const l of this.faultListeners) l(f);
    return f;
  }

  /**
   * Adds a precommit for the head block that arrived after it was committed
   * (the caller checked its signature, round and block): the next block's
   * lastCommit carries it. Kept in memory only; the stored commit is the one
   * that finalized the block.
   */
  addHeadCommitSignature(validator: Uint8Array, signature: Uint8Array): void {
    const hc = this.headCommit;
    if (hc.signatures.some((s) => bytesEqual(s.validator, validator))) return;
    this.headCommit = { ...hc, signatures: [...hc.signatures, { validator: new Uint8Array(validator), signature }] };
  }

  build(input: Omit<BuildInput, "lastCommit" | "evidenceIncluded">): BuiltBlock {
    return buildBlock(this.world, this.head, this.ctx, { ...input, lastCommit: this.headCommit, evidenceIncluded: (h) => this.includedEvidence.has(h) });
  }

  verify(block: BlockT, txs: TxEnvelope[], now: number, verified?: (env: TxEnvelope) => boolean, lastCommitSignaturesChecked = false): ExecutionResult {
    return verifyBlock(this.world, this.head, block, this.ctx, {
      now,
      txs,
      verified,
      lastCommitSignaturesChecked,
      evidenceIncluded: (h) => this.includedEvidence.has(h),
    });
  }

  private evidenceOps(block: BlockT): BatchOp[] {
    return block.body.evidence.map((ev) => ({ type: "put" as const, key: bucketKey(Bucket.evidence, fromHex(evidenceHash(ev))), value: UintNum64.serialize(block.header.height) }));
  }

  private noteEvidence(block: BlockT): void {
    for (const ev of block.body.evidence) this.includedEvidence.set(evidenceHash(ev), block.header.height);
  }

  /** Writes the block, its receipts, index and state in one synced batch, then makes it the head. */
  async commit(block: BlockT, hash: Uint8Array, result: ExecutionResult, commit: CommitT): Promise<CommittedBlock> {
    if (block.header.height !== this.head.header.height + 1) throw new Error(`commit of height ${block.header.height} on head ${this.head.header.height}`);
    try {
      const ops = [
        ...(await this.store.blockOps(block, hash, commit, result.receipts, result.txs)),
        ...sealedWriteOps(this.world, result.sealed),
        ...this.evidenceOps(block),
      ];
      this.writing++;
      try {
        await this.store.write(ops);
      } finally {
        this.writing--;
      }
    } catch (e) {
      throw this.storageFault(e);
    }
    adoptSealed(this.world, result.sealed);
    this.maybeSnapshot();
    this.noteEvidence(block);
    this.head = { header: block.header, hash };
    this.headCommit = commit;
    this.adopted(block.header.height, hash);
    const committed: CommittedBlock = { block, hash, commit, txs: result.txs, receipts: result.receipts };
    for (const l of this.listeners) l(committed);
    return committed;
  }

  /**
   * Imports finalized blocks (sync) in one go: each commit is checked against
   * the validator set and each block verified on the state the previous one
   * left, then all bodies are synced once and everything is written in ONE
   * LevelDB batch. Stops at the first invalid block, keeping those before it,
   * and reports the error. `signaturesChecked`: the commit and transaction
   * signatures were already verified (e.g. in the worker pool).
   */
  async importBatch(
    items: readonly { block: BlockT; commit: CommitT; envs?: TxEnvelope[]; encoded?: { block: Uint8Array; commit: Uint8Array } }[],
    opts: { now: number; signaturesChecked?: boolean },
  ): Promise<{ imported: number; error?: unknown }> {
    const ops: BatchOp[] = [];
    const done: CommittedBlock[] = [];
    const touched = new TouchedRecords();
    let error: unknown;
    this.writing++;
    try {
    for (const { block, commit, envs: given, encoded } of items) {
      const h = block.header.height;
      if (h <= this.head.header.height) continue;
      try {
        if (h !== this.head.header.height + 1) throw new Error(`block ${h} does not follow the head ${this.head.header.height}`);
        const hash = blockHash(block.header);
        verifyCommit(commit, this.world.validators, this.ctx.chainId, h, hash, { signaturesChecked: opts.signaturesChecked });
        const envs = given ?? block.body.txs.map((t) => envelopeFromSigned(t));
        const result = this.verify(block, envs, opts.now, opts.signaturesChecked ? () => true : undefined, opts.signaturesChecked);
        ops.push(...(await this.store.blockOps(block, hash, commit, result.receipts, result.txs, { syncBody: false, encoded })), ...this.evidenceOps(block));
        touched.add(result.sealed, this.world);
        adoptSealed(this.world, result.sealed);
        this.noteEvidence(block);
        this.head = { header: block.header, hash };
        this.headCommit = commit;
        this.adopted(h, hash);
        done.push({ block, hash, commit, txs: result.txs, receipts: result.receipts });
      } catch (e) {
        // The disk, not the block: nothing of this batch is written (the blocks before it are in memory only).
        if (isStorageFault(e)) throw this.storageFault(e);
        error = e;
        break;
      }
    }
    if (done.length > 0) {
      try {
        await this.store.syncBodies();
        await this.store.write([...lastPerKey(ops), ...touched.writeOps(this.world)]);
      } catch (e) {
        throw this.storageFault(e);
      }
    }
    } finally {
      this.writing--;
    }
    if (done.length > 0) {
      this.maybeSnapshot();
      for (const c of done) for (const l of this.listeners) l(c);
    }
    return error === undefined ? { imported: done.length } : { imported: done.length, error };
  }
}

/**
 * Writes a whole state into an empty store (genesis, a state-synced
 * snapshot): the accounts first, in bounded batches (one batch of a million
 * puts costs LevelDB a gigabyte of memory), then everything else with `head`
 * (the block and head pointer): a crash before that leaves no head, and the
 * next start begins again.
 */
async function writeFreshChain(store: ChainStore, world: WorldState, head: BatchOp[]): Promise<void> {
  const BATCH = 20_000;
  for (let i = 0; i < world.accounts.count; i += BATCH) await store.write(world.accountWriteOps(i, i + BATCH));
  await store.write([...world.fullWriteOps({ accounts: false }), ...head]);
}

/** The ops with only the last put of each key (a batch of blocks rewrites the head pointer and state meta once per block). */
function lastPerKey(ops: BatchOp[]): BatchOp[] {
  const seen = new Set<string>();
  const out: BatchOp[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const k = Buffer.from(ops[i]!.key).toString("latin1");
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(ops[i]!);
  }
  return out.reverse();
}

/** Hash of a genesis file's canonical JSON, pinned in the data directory. */
export function genesisFileHash(json: string): Uint8Array {
  return sha256(utf8(JSON.stringify(JSON.parse(json))));
}

/**
 * The state at the head: from the account snapshot when it fits the
 * database and the head's state root, else from the database alone.
 */
async function loadWorld(db: Level, height: number, stateRoot: Uint8Array, opts: ChainOpenOptions): Promise<{ world: WorldState | null; fromSnapshot: boolean }> {
  let snap: AccountSnapshot | null = null;
  try {
    snap = opts.accountSnapshot ? readAccountSnapshot(opts.accountSnapshot) : null;
  } catch (e) {
    if (!(e instanceof SnapshotDamaged)) throw e;
    opts.warn?.(`account snapshot damaged (${e.message}); reading every account from the database`);
  }
  if (snap) {
    try {
      const world = await WorldState.load(db, height, { columns: snap.columns, leaves: snap.leaves, gen: snap.gen });
      if (world && bytesEqual(world.root, stateRoot)) return { world, fromSnapshot: true };
      opts.warn?.(`account snapshot of height ${snap.height} does not give the head's state root; reading every account from the database`);
    } catch (e) {
      if (!(e instanceof SnapshotMismatch)) throw e;
      opts.warn?.(`account snapshot of height ${snap.height} does not fit the database (${e.message}); reading every account from the database`);
    }
  }
  const world = await WorldState.load(db, height);
  // Later than any generation the unusable snapshot's marks used, so all of them are deleted with the next snapshot.
  if (world && snap) world.accountGen = snap.gen + 1;
  return { world, fromSnapshot: false };
}
