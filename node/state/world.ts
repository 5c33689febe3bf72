/**
 * The world state: accounts, staking records, the active validator set and
 * totals.
 *
 * Reads come from memory. The accounts, the one part that grows with users,
 * are flat typed arrays with their Merkle levels beside them (AccountTree,
 * ~110 bytes per account, outside the V8 heap); the other records are plain
 * arrays plus index maps, authenticated by an SSZ ViewDU whose accounts field
 * stays empty: the state root is that view's root with the accounts field
 * replaced by the AccountTree's root, which is the SSZ `hash_tree_root` of
 * the whole State (DESIGN §5). A block of N transfers costs N index lookups
 * and the touched tree paths, not 2N database reads. On disk every record is
 * one key (its bucket and index), written in the block's batch; account
 * writes also mark the account as touched in the current snapshot
 * generation, so a restart reads the account snapshot file plus only the
 * accounts touched since (node/state/account-snapshot.ts).
 */
import { LeafNode, ProofType, createProof, setNodeAtDepth, type SingleProof } from "@chainsafe/persistent-merkle-tree";
import { ByteArrayType, type CompositeViewDU, type ValueOf } from "@chainsafe/ssz";
import { Bucket, bucketKey, getBytes, iterateBucket, u32Key, type BatchOp, type BucketId, type Level } from "../db/database.ts";
import { ValidatorSet, type ValidatorSetT } from "../types/validator.ts";
import { bytesEqual } from "../util/hex.ts";
import {
  Account,
  Delegation,
  EpochCheckpoint,
  Job,
  Proof,
  SigningInfo,
  StakingValidator,
  State,
  StateMeta,
  UnbondingEntry,
  Withdrawal,
  type AccountT,
  type DelegationT,
  type EpochCheckpointT,
  type JobT,
  type ProofT,
  type SigningInfoT,
  type StakingValidatorT,
  type TotalsT,
  type UnbondingEntryT,
  type WithdrawalT,
  isVacantJob,
  isVacantProof,
  vacantJob,
  vacantProof,
  ProofStatus,
} from "./schemas.ts";
import { jobArchiveOps, type LeftJob } from "./job-archive.ts";
import { TableOverlay, loadTable, tablePutOp, type TableSpec } from "./table.ts";
import { ACCOUNT_BYTES, ADDRESS_BYTES, AccountTree, encodeAccountAt, resizedColumns, type AccountColumns, type AccountDelta } from "./account-tree.ts";
import type { JobWakeChanges, JobWakes } from "./job-wakes.ts";
import type { GenesisAccounts } from "../types/genesis.ts";

const META_KEY = new Uint8Array(0);

export const addrKey = (address: Uint8Array): string => Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString("hex");
export const delegationKey = (delegatorHex: string, validator: number): string => `${delegatorHex}/${validator}`;

export type StateView = CompositeViewDU<typeof State>;

export const STAKING: TableSpec<StakingValidatorT> = { type: StakingValidator, bucket: Bucket.stakingValidator, copy: (v) => ({ ...v }) };
// `new Uint8Array(x)` copies; records loaded from the database hold Buffers, whose slice() would share memory.
export const SIGNING: TableSpec<SigningInfoT> = { type: SigningInfo, bucket: Bucket.signingInfo, copy: (s) => ({ ...s, missed: new Uint8Array(s.missed) }) };
export const DELEGATIONS: TableSpec<DelegationT> = { type: Delegation, bucket: Bucket.delegation, copy: (d) => ({ ...d }) };
export const UNBONDING: TableSpec<UnbondingEntryT> = { type: UnbondingEntry, bucket: Bucket.unbonding, copy: (u) => ({ ...u }) };
export const JOBS: TableSpec<JobT> = { type: Job, bucket: Bucket.job, copy: (j) => ({ ...j }) };
export const PROOFS: TableSpec<ProofT> = { type: Proof, bucket: Bucket.proof, copy: (p) => ({ ...p, attesters: [...p.attesters], dissenters: [...p.dissenters] }) };
export const WITHDRAWALS: TableSpec<WithdrawalT> = { type: Withdrawal, bucket: Bucket.withdrawal, copy: (w) => ({ ...w }) };
export const CHECKPOINTS: TableSpec<EpochCheckpointT> = { type: EpochCheckpoint, bucket: Bucket.checkpoint, copy: (c) => ({ ...c, members: [...c.members] }) };
export const idKey = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");

/** The staking records of genesis (built by the chain from the genesis validators). */
export interface GenesisStaking {
  staking: StakingValidatorT[];
  signingInfos: SigningInfoT[];
  delegations: DelegationT[];
  validators: ValidatorSetT;
}

interface StateParts {
  accounts: AccountTree;
  staking: StakingValidatorT[];
  signingInfos: SigningInfoT[];
  delegations: DelegationT[];
  unbonding: UnbondingEntryT[];
  validators: ValidatorSetT;
  lastValidators: ValidatorSetT;
  priorities: bigint[];
  totals: TotalsT;
  jobs: JobT[];
  proofs: ProofT[];
  withdrawals: WithdrawalT[];
  checkpoints: EpochCheckpointT[];
}

export class WorldState {
  /** Committed accounts by index (index = order of creation), with their address index and Merkle levels. */
  readonly accounts: AccountTree;
  /** Generation of the account snapshot that account writes are marked under (Bucket.accountTouched). */
  accountGen = 0;
  /** Account writes adopted since the last snapshot (an upper bound: an account touched twice counts twice). */
  touchedSinceSnapshot = 0;
  readonly staking: StakingValidatorT[];
  readonly signingInfos: SigningInfoT[];
  readonly delegations: DelegationT[];
  readonly unbonding: UnbondingEntryT[];
  readonly jobs: JobT[];
  readonly proofs: ProofT[];
  readonly withdrawals: WithdrawalT[];
  /** One per finished epoch: `checkpoints[e - 1]` is epoch e's. */
  readonly checkpoints: EpochCheckpointT[];
  /** Job id hex → index in `jobs` (live jobs only: not vacant slots). */
  readonly jobIndex: Map<string, number>;
  /** Proof id hex → index in `proofs` (live proofs only). */
  readonly proofIndex: Map<string, number>;
  /** Vacant job slots, ascending: new jobs take the lowest first (decision 0010). Derived from the records. */
  readonly freeJobSlots: number[];
  /** Vacant proof slots, ascending. */
  readonly freeProofSlots: number[];
  /** Job index → indices of its proofs in `proofs` (every proof it had, decided ones too, until it leaves). */
  readonly proofsOfJob: Map<number, number[]>;
  /** Proofs still pending or accepted (what verifiers and logs watch). */
  readonly openProofs: Set<number>;
  /** Jobs by the height their bookkeeping is due (derived, not hashed); null until a block first needs it. */
  jobWakes: JobWakes | null = null;
  /** Validator address hex → index in `staking`. */
  readonly validatorIndex: Map<string, number>;
  /** Operator address hex → index in `staking` (one validator per operator). */
  readonly operatorIndex: Map<string, number>;
  /** `delegationKey(delegator, validator)` → index in `delegations`. */
  readonly delegationIndex: Map<string, number>;
  /** Delegator address hex → indices in `delegations`. */
  readonly delegationsOf: Map<string, number[]>;
  /** First unbonding entry not yet paid (entries mature in index order). */
  unbondingCursor: number;
  /** The active set of the next height. */
  validators: ValidatorSetT;
  /** The set that signed the head (verifies the next block's lastCommit). */
  lastValidators: ValidatorSetT;
  /** Proposer priorities of `validators` before the next height's increment (i64). */
  priorities: bigint[];
  totals: TotalsT;
  /** Every State field but the accounts, which stays an empty list here (see `stateRoot`). */
  view: StateView;

  private constructor(p: StateParts, height: number) {
    this.accounts = p.accounts;
    this.staking = p.staking;
    this.signingInfos = p.signingInfos;
    this.delegations = p.delegations;
    this.unbonding = p.unbonding;
    this.jobs = p.jobs;
    this.proofs = p.proofs;
    this.withdrawals = p.withdrawals;
    this.checkpoints = p.checkpoints;
    this.jobIndex = new Map();
    this.freeJobSlots = [];
    p.jobs.forEach((j, i) => (isVacantJob(j) ? this.freeJobSlots.push(i) : this.jobIndex.set(idKey(j.id), i)));
    this.proofIndex = new Map();
    this.freeProofSlots = [];
    this.proofsOfJob = new Map();
    this.openProofs = new Set();
    p.proofs.forEach((x, i) => {
      if (isVacantProof(x)) this.freeProofSlots.push(i);
      else indexProof(this, x, i);
    });
    this.validators = p.validators;
    this.lastValidators = p.lastValidators;
    this.priorities = p.priorities;
    this.totals = p.totals;
    this.validatorIndex = new Map(p.staking.map((v, i) => [addrKey(v.address), i]));
    this.operatorIndex = new Map(p.staking.map((v, i) => [addrKey(v.operator), i]));
    this.delegationIndex = new Map();
    this.delegationsOf = new Map();
    p.delegations.forEach((d, i) => indexDelegation(this.delegationIndex, this.delegationsOf, d, i));
    this.unbondingCursor = 0;
    while (this.unbondingCursor < p.unbonding.length && p.unbonding[this.unbondingCursor]!.completionHeight <= height) this.unbondingCursor++;
    this.view = State.toViewDU({ ...p, accounts: [], priorities: p.priorities.map(toU64) });
    this.view.commit();
  }

  static fromGenesis(accounts: GenesisAccounts | { address: Uint8Array; balance: bigint }[], staking: GenesisStaking, jobs: JobT[] = []): WorldState {
    let list: AccountTree;
    try {
      list = Array.isArray(accounts)
        ? AccountTree.fromAccounts(accounts.map((a) => ({ address: a.address, balance: a.balance, nonce: 0n })))
        : AccountTree.fromColumns({ ...accounts, nonces: new BigUint64Array(accounts.count) });
    } catch (e) {
      throw new TypeError(`invalid genesis: ${(e as Error).message}`);
    }
    const staked = staking.staking.reduce((s, v) => s + v.tokens, 0n);
    const escrowed = jobs.reduce((s, j) => s + j.reward, 0n);
    let balances = 0n;
    for (const a of list.columns().balances) balances += a;
    const supply = balances + staked + escrowed;
    return new WorldState(
      {
        accounts: list,
        ...staking,
        unbonding: [],
        jobs,
        proofs: [],
        withdrawals: [],
        checkpoints: [],
        lastValidators: staking.validators,
        priorities: staking.validators.map(() => 0n),
        totals: { supply, burned: 0n, pouwPool: 0n, staked, rewardsOutstanding: 0n, escrowed, withdrawn: 0n },
      },
      0,
    );
  }

  /**
   * Loads the committed state at `height`; `null` when the database holds
   * none. With `snapshot` (the account snapshot file's contents and
   * generation), the accounts are the snapshot plus those touched in its
   * generation or later; without, every account is read from the database.
   */
  static async load(db: Level, height: number, snapshot: { columns: AccountColumns; leaves: Uint8Array; gen: number } | null = null): Promise<WorldState | null> {
    const metaBytes = await getBytes(db, Bucket.stateMeta, META_KEY);
    if (!metaBytes) return null;
    const meta = StateMeta.deserialize(metaBytes);
    const count = Number(meta.accountCount);
    const accounts = snapshot ? await accountsFromSnapshot(db, snapshot.columns, snapshot.leaves, snapshot.gen, count) : await accountsFromDb(db, count);
    const staking = await loadTable(db, STAKING, Number(meta.stakingCount), "validator");
    const world = new WorldState(
      {
        accounts,
        staking,
        signingInfos: await loadTable(db, SIGNING, staking.length, "signing info"),
        delegations: await loadTable(db, DELEGATIONS, Number(meta.delegationCount), "delegation"),
        unbonding: await loadTable(db, UNBONDING, Number(meta.unbondingCount), "unbonding"),
        jobs: await loadTable(db, JOBS, Number(meta.jobCount), "job"),
        proofs: await loadTable(db, PROOFS, Number(meta.proofCount), "proof"),
        // Keyed by global number and epoch: old ones may have left from the front (decision 0010).
        withdrawals: await loadTable(db, WITHDRAWALS, Number(meta.withdrawalCount), "withdrawal", { windowed: true }),
        checkpoints: await loadTable(db, CHECKPOINTS, Number(meta.checkpointCount), "checkpoint", { windowed: true }),
        validators: meta.validators,
        // One object when equal, so sealing does not re-hash an unchanged set every block.
        lastValidators: bytesEqual(ValidatorSet.serialize(meta.lastValidators), ValidatorSet.serialize(meta.validators)) ? meta.validators : meta.lastValidators,
        priorities: meta.priorities.map(toI64),
        totals: meta.totals,
      },
      height,
    );
    if (snapshot) world.accountGen = snapshot.gen;
    return world;
  }

  /**
   * A state put together from a state-sync snapshot: every field but the
   * accounts from `rest` (a State value whose accounts list is empty), the
   * accounts from their tree. The caller checks the root.
   */
  static fromParts(rest: ValueOf<typeof State>, accounts: AccountTree, height: number): WorldState {
    if (rest.accounts.length !== 0) throw new RangeError("the rest of the state must not list accounts");
    return new WorldState({ ...rest, accounts, priorities: rest.priorities.map(toI64) }, height);
  }

  get root(): Uint8Array {
    return stateRoot(this.view, this.accounts.root);
  }

  /** Epoch of `checkpoints[0]`: 1 until old ones leave the live state (decision 0010). */
  get checkpointBase(): number {
    return this.checkpoints[0]?.epoch ?? 1;
  }

  /** Global number of `withdrawals[0]`: the first retained checkpoint's first withdrawal (0 until old ones leave). */
  get withdrawalBase(): number {
    return this.checkpoints[0]?.firstWithdrawal ?? 0;
  }

  /** The last finished epoch (0 before the first). */
  get lastEpoch(): number {
    return this.checkpointBase - 1 + this.checkpoints.length;
  }

  /** Epoch `epoch`'s checkpoint record while it is in the live state. */
  checkpointOf(epoch: number): EpochCheckpointT | undefined {
    const i = epoch - this.checkpointBase;
    return i >= 0 ? this.checkpoints[i] : undefined;
  }

  /** Withdrawal number `n` (global, as checkpoints' `firstWithdrawal` counts) while it is in the live state. */
  withdrawalAt(n: number): WithdrawalT | undefined {
    const i = n - this.withdrawalBase;
    return i >= 0 ? this.withdrawals[i] : undefined;
  }

  getAccount(address: Uint8Array): AccountT | undefined {
    const i = this.accounts.indexOf(address);
    return i === undefined ? undefined : this.accounts.get(i);
  }

  /** Sibling hashes from account `index` up to the state root, bottom-up (DESIGN §5 account proofs). */
  accountWitnesses(index: number): Uint8Array[] {
    this.view.hashTreeRoot();
    const field = createProof(this.view.node, { type: ProofType.single, gindex: BigInt(2 ** State.depth + ACCOUNTS_FIELD) }) as SingleProof;
    return [...this.accounts.witnesses(index), ...field.witnesses];
  }

  getValidator(address: Uint8Array): StakingValidatorT | undefined {
    const i = this.validatorIndex.get(addrKey(address));
    return i === undefined ? undefined : this.staking[i];
  }

  /** Batch operations that write accounts [from, to) (genesis writes millions in batches of a bounded size). */
  accountWriteOps(from: number, to: number): BatchOp[] {
    // Keys and values are views into one buffer: a million genesis accounts as two million small
    // ArrayBuffers leave a quarter gigabyte of freed-but-kept malloc memory behind.
    const end = Math.min(to, this.accounts.count);
    const n = Math.max(0, end - from);
    const KEY = 5;
    const VALUE = ACCOUNT_BYTES;
    const buf = new Uint8Array(n * (KEY + VALUE));
    const dv = new DataView(buf.buffer);
    const columns = this.accounts.columns();
    const ops: BatchOp[] = [];
    for (let k = 0; k < n; k++) {
      const i = from + k;
      const at = k * (KEY + VALUE);
      buf[at] = Bucket.account;
      dv.setUint32(at + 1, i);
      encodeAccountAt(columns, i, buf, dv, at + KEY);
      ops.push({ type: "put", key: buf.subarray(at, at + KEY), value: buf.subarray(at + KEY, at + KEY + VALUE) });
    }
    return ops;
  }

  /** Batch operations that write the whole state (genesis); `accounts: false` leaves the accounts to `accountWriteOps`. */
  fullWriteOps(opts: { accounts?: boolean } = {}): BatchOp[] {
    const ops: BatchOp[] = opts.accounts === false ? [] : this.accountWriteOps(0, this.accounts.count);
    this.staking.forEach((v, i) => ops.push(tablePutOp(STAKING, i, v)));
    this.signingInfos.forEach((s, i) => ops.push(tablePutOp(SIGNING, i, s)));
    this.delegations.forEach((d, i) => ops.push(tablePutOp(DELEGATIONS, i, d)));
    this.unbonding.forEach((u, i) => ops.push(tablePutOp(UNBONDING, i, u)));
    this.jobs.forEach((j, i) => ops.push(tablePutOp(JOBS, i, j)));
    this.proofs.forEach((p, i) => ops.push(tablePutOp(PROOFS, i, p)));
    const wb = this.withdrawalBase;
    const cb = this.checkpointBase - 1;
    this.withdrawals.forEach((w, i) => ops.push(tablePutOp(WITHDRAWALS, wb + i, w)));
    this.checkpoints.forEach((c, i) => ops.push(tablePutOp(CHECKPOINTS, cb + i, c)));
    ops.push(metaOp(this.validators, this.lastValidators, this.priorities, this.totals, countsOf(this)));
    return ops;
  }
}

function indexProof(world: WorldState, p: ProofT, i: number): void {
  world.proofIndex.set(idKey(p.id), i);
  const l = world.proofsOfJob.get(p.job);
  if (l) l.push(i);
  else world.proofsOfJob.set(p.job, [i]);
  if (isOpenProof(p)) world.openProofs.add(i);
}

function unindexProof(world: WorldState, p: ProofT, i: number): void {
  world.proofIndex.delete(idKey(p.id));
  const l = world.proofsOfJob.get(p.job);
  if (l) {
    const k = l.indexOf(i);
    if (k >= 0) l.splice(k, 1);
    if (l.length === 0) world.proofsOfJob.delete(p.job);
  }
  world.openProofs.delete(i);
}

const isOpenProof = (p: ProofT): boolean => p.status === ProofStatus.Pending || p.status === ProofStatus.Accepted;

/** Inserts `i` into the ascending list `l` (no duplicates). */
function insertSorted(l: number[], i: number): void {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (l[mid]! < i) lo = mid + 1;
    else hi = mid;
  }
  if (l[lo] !== i) l.splice(lo, 0, i);
}

function removeSorted(l: number[], i: number): void {
  const k = l.indexOf(i);
  if (k >= 0) l.splice(k, 1);
}

function indexDelegation(byKey: Map<string, number>, of: Map<string, number[]>, d: DelegationT, i: number): void {
  const hex = addrKey(d.delegator);
  byKey.set(delegationKey(hex, d.validator), i);
  const l = of.get(hex);
  if (l) l.push(i);
  else of.set(hex, [i]);
}

const toU64 = (p: bigint): bigint => BigInt.asUintN(64, p);
const toI64 = (p: bigint): bigint => BigInt.asIntN(64, p);

/** Lengths of the index-addressed lists, in StateMeta's order. */
type Counts = [accounts: number, staking: number, delegations: number, unbonding: number, jobs: number, proofs: number, withdrawals: number, checkpoints: number];

const countsOf = (w: WorldState): Counts => [
  w.accounts.count,
  w.staking.length,
  w.delegations.length,
  w.unbonding.length,
  w.jobs.length,
  w.proofs.length,
  w.withdrawals.length,
  w.checkpoints.length,
];

function metaOp(validators: ValidatorSetT, lastValidators: ValidatorSetT, priorities: bigint[], totals: TotalsT, counts: Counts): BatchOp {
  return {
    type: "put",
    key: bucketKey(Bucket.stateMeta, META_KEY),
    value: StateMeta.serialize({
      validators,
      lastValidators,
      priorities: priorities.map(toU64),
      totals,
      accountCount: BigInt(counts[0]),
      stakingCount: BigInt(counts[1]),
      delegationCount: BigInt(counts[2]),
      unbondingCount: BigInt(counts[3]),
      jobCount: BigInt(counts[4]),
      proofCount: BigInt(counts[5]),
      withdrawalCount: BigInt(counts[6]),
      checkpointCount: BigInt(counts[7]),
    }),
  };
}

/**
 * The changes of one block on top of a committed `WorldState`. Execution
 * reads and writes here; `seal()` computes the new root without touching the
 * committed state; `WorldState` adopts it only when the block commits.
 */
export class StateOverlay {
  readonly base: WorldState;
  private readonly dirty = new Map<string, AccountT>();
  /** Base index of each dirty account that already existed (looked up once, in `mutable`). */
  private readonly dirtyIndex = new Map<string, number>();
  /** Accounts created by this block, in creation order. */
  private readonly created: string[] = [];
  totals: TotalsT;
  readonly staking: TableOverlay<StakingValidatorT>;
  readonly signingInfos: TableOverlay<SigningInfoT>;
  readonly delegations: TableOverlay<DelegationT>;
  readonly unbonding: TableOverlay<UnbondingEntryT>;
  readonly jobs: TableOverlay<JobT>;
  readonly proofs: TableOverlay<ProofT>;
  readonly withdrawals: TableOverlay<WithdrawalT>;
  readonly checkpoints: TableOverlay<EpochCheckpointT>;
  private readonly newJobs = new Map<string, number>();
  private readonly newProofs = new Map<string, number>();
  /** Free slots of the base taken by this block's new jobs and proofs (the first ones of each list). */
  private jobsReused = 0;
  private proofsReused = 0;
  /** Jobs (with their proofs) that leave the live state at the end of this block. */
  private readonly left: LeftJob[] = [];
  private readonly goneIds = new Set<string>();
  private readonly newValidators = new Map<string, number>();
  private readonly newOperators = new Map<string, number>();
  private readonly newDelegations = new Map<string, number>();
  private readonly newDelegationsOf = new Map<string, number[]>();
  unbondingCursor: number;
  validators: ValidatorSetT;
  lastValidators: ValidatorSetT;
  priorities: bigint[];
  /** Set by the end-of-block job bookkeeping: what it adds to the base's `jobWakes`. */
  jobWakes: JobWakeChanges | null = null;

  constructor(base: WorldState) {
    this.base = base;
    this.totals = { ...base.totals };
    this.staking = new TableOverlay(STAKING, base.staking);
    this.signingInfos = new TableOverlay(SIGNING, base.signingInfos);
    this.delegations = new TableOverlay(DELEGATIONS, base.delegations);
    this.unbonding = new TableOverlay(UNBONDING, base.unbonding);
    this.jobs = new TableOverlay(JOBS, base.jobs);
    this.proofs = new TableOverlay(PROOFS, base.proofs);
    this.withdrawals = new TableOverlay(WITHDRAWALS, base.withdrawals);
    this.checkpoints = new TableOverlay(CHECKPOINTS, base.checkpoints);
    this.unbondingCursor = base.unbondingCursor;
    this.validators = base.validators;
    this.lastValidators = base.lastValidators;
    this.priorities = base.priorities;
  }

  /** Global number of `withdrawals.get(0)` during this block (the committed state's; a trim takes effect at seal). */
  get withdrawalBase(): number {
    return this.base.withdrawalBase;
  }

  /** Epoch of `checkpoints.get(0)` during this block. */
  get checkpointBase(): number {
    return this.base.checkpointBase;
  }

  /** The account as this block sees it, or undefined. Do not mutate: use `mutable`. */
  get(key: string): AccountT | undefined {
    const d = this.dirty.get(key);
    if (d) return d;
    const i = this.base.accounts.indexOfKey(key);
    return i === undefined ? undefined : this.base.accounts.get(i);
  }

  /** A writable copy of the account, created empty if it does not exist. */
  mutable(key: string, address: Uint8Array): AccountT {
    let d = this.dirty.get(key);
    if (d) return d;
    const i = this.base.accounts.indexOfKey(key);
    if (i === undefined) {
      if (address.length !== ADDRESS_BYTES) throw new RangeError(`account address is ${address.length} bytes`);
      d = { address: new Uint8Array(address), balance: 0n, nonce: 0n };
      this.created.push(key);
    } else {
      d = this.base.accounts.get(i)!;
      this.dirtyIndex.set(key, i);
    }
    this.dirty.set(key, d);
    return d;
  }

  validatorIndexOf(addressHex: string): number | undefined {
    return this.base.validatorIndex.get(addressHex) ?? this.newValidators.get(addressHex);
  }

  operatorIndexOf(operatorHex: string): number | undefined {
    return this.base.operatorIndex.get(operatorHex) ?? this.newOperators.get(operatorHex);
  }

  delegationIndexOf(delegatorHex: string, validator: number): number | undefined {
    const k = delegationKey(delegatorHex, validator);
    return this.base.delegationIndex.get(k) ?? this.newDelegations.get(k);
  }

  delegationIndicesOf(delegatorHex: string): number[] {
    return [...(this.base.delegationsOf.get(delegatorHex) ?? []), ...(this.newDelegationsOf.get(delegatorHex) ?? [])];
  }

  /** Registers a validator with its (empty) signing info; returns its index. */
  addValidator(v: StakingValidatorT, info: SigningInfoT): number {
    const i = this.staking.push(v);
    this.signingInfos.push(info);
    this.newValidators.set(addrKey(v.address), i);
    this.newOperators.set(addrKey(v.operator), i);
    return i;
  }

  jobIndexOf(idHex: string): number | undefined {
    if (this.goneIds.has(idHex)) return undefined;
    return this.base.jobIndex.get(idHex) ?? this.newJobs.get(idHex);
  }

  proofIndexOf(idHex: string): number | undefined {
    if (this.goneIds.has(idHex)) return undefined;
    return this.base.proofIndex.get(idHex) ?? this.newProofs.get(idHex);
  }

  /** Adds a job in the lowest vacant slot, or at the end; returns its index. */
  addJob(j: JobT): number {
    const slot = this.base.freeJobSlots[this.jobsReused];
    let i: number;
    if (slot === undefined) i = this.jobs.push(j);
    else {
      this.jobsReused++;
      this.jobs.replace(slot, j);
      i = slot;
    }
    this.newJobs.set(idKey(j.id), i);
    return i;
  }

  /** Adds a proof in the lowest vacant slot, or at the end; returns its index. */
  addProof(p: ProofT): number {
    const slot = this.base.freeProofSlots[this.proofsReused];
    let i: number;
    if (slot === undefined) i = this.proofs.push(p);
    else {
      this.proofsReused++;
      this.proofs.replace(slot, p);
      i = slot;
    }
    this.newProofs.set(idKey(p.id), i);
    return i;
  }

  /**
   * Job `ji` and every proof it had leave the live state (decision 0010):
   * their slots become vacant (reused from the next block on) and the records
   * go to the archive in the block's batch. Only for an ended job of an
   * earlier block, whose proofs are all in the committed state.
   */
  vacateJob(ji: number): void {
    const job = this.jobs.get(ji);
    if (!job || isVacantJob(job)) throw new RangeError(`job ${ji} is not in the state`);
    const pis = this.base.proofsOfJob.get(ji) ?? [];
    const proofs = pis.map((pi) => this.proofs.get(pi)!);
    this.left.push({ job, proofs });
    this.goneIds.add(idKey(job.id));
    this.jobs.replace(ji, vacantJob());
    pis.forEach((pi, k) => {
      this.goneIds.add(idKey(proofs[k]!.id));
      this.proofs.replace(pi, vacantProof());
    });
  }

  addDelegation(d: DelegationT): number {
    const i = this.delegations.push(d);
    indexDelegation(this.newDelegations, this.newDelegationsOf, d, i);
    return i;
  }

  /** Computes the state root of base + changes. The base is untouched. */
  seal(): SealedState {
    const view = this.base.view.clone(true);
    const values: [number, AccountT][] = [];
    for (const [key, i] of this.dirtyIndex) values.push([i, this.dirty.get(key)!]);
    let next = this.base.accounts.count;
    for (const key of this.created) values.push([next++, this.dirty.get(key)!]);
    const accounts = this.base.accounts.seal(values);
    const tables = {
      staking: applyTable(view.staking, StakingValidator, this.base.staking, this.staking.changes()),
      signingInfos: applyTable(view.signingInfos, SigningInfo, this.base.signingInfos, this.signingInfos.changes()),
      delegations: applyTable(view.delegations, Delegation, this.base.delegations, this.delegations.changes()),
      unbonding: applyTable(view.unbonding, UnbondingEntry, this.base.unbonding, this.unbonding.changes()),
      jobs: applyTable(view.jobs, Job, this.base.jobs, this.jobs.changes(), (a, b) => isVacantJob(a) || isVacantJob(b)),
      proofs: applyTable(view.proofs, Proof, this.base.proofs, this.proofs.changes(), (a, b) => isVacantProof(a) || isVacantProof(b)),
      withdrawals: applyTable(view.withdrawals, Withdrawal, this.base.withdrawals, this.withdrawals.changes()),
      checkpoints: applyTable(view.checkpoints, EpochCheckpoint, this.base.checkpoints, this.checkpoints.changes()),
    };
    // Old settlement records leaving the live state, after the block's own changes (decision 0010).
    const trimmed = { withdrawals: this.withdrawals.trimmed, checkpoints: this.checkpoints.trimmed };
    if (trimmed.withdrawals > 0) view.withdrawals = view.withdrawals.sliceFrom(trimmed.withdrawals);
    if (trimmed.checkpoints > 0) view.checkpoints = view.checkpoints.sliceFrom(trimmed.checkpoints);
    if (this.validators !== this.base.validators) view.validators = State.fields.validators.toViewDU(this.validators);
    if (this.lastValidators !== this.base.lastValidators) view.lastValidators = State.fields.lastValidators.toViewDU(this.lastValidators);
    if (this.priorities !== this.base.priorities) view.priorities = State.fields.priorities.toViewDU(this.priorities.map(toU64));
    view.totals = State.fields.totals.toViewDU(this.totals);
    view.commit();
    return {
      view,
      root: stateRoot(view, accounts.root),
      accounts,
      totals: this.totals,
      tables,
      trimmed,
      left: this.left,
      validators: this.validators,
      lastValidators: this.lastValidators,
      priorities: this.priorities,
      unbondingCursor: this.unbondingCursor,
      jobWakes: this.jobWakes,
    };
  }
}

/**
 * Writes a table's changes into the state view. A changed record only sets
 * the fields that differ from the committed one, so its unchanged subtrees
 * (a validator's 1,312-byte consensus key) are not hashed again.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function applyTable<T>(
  list: any,
  type: { toViewDU(t: T): unknown; fields: Record<string, any> },
  base: readonly T[],
  changes: [number, T][],
  /** A slot emptied or filled again (jobs, proofs): the record is written whole. */
  whole: (prev: T, t: T) => boolean = () => false,
): [number, T][] {
  const keys = Object.keys(type.fields) as (keyof T & string)[];
  // Basic fields and byte arrays are set as values; other composite fields (lists of addresses, containers) as views.
  const asView = keys.map((k) => !type.fields[k].isBasic && !(type.fields[k] instanceof ByteArrayType));
  for (const [i, t] of changes) {
    if (i < base.length && whole(base[i]!, t)) {
      list.set(i, type.toViewDU(t));
    } else if (i < base.length) {
      const prev = base[i]!;
      const view = list.get(i);
      keys.forEach((k, n) => {
        if (t[k] !== prev[k]) view[k] = asView[n] ? type.fields[k].toViewDU(t[k]) : t[k];
      });
    } else {
      list.push(type.toViewDU(t));
    }
  }
  return changes;
}

export interface SealedState {
  view: StateView;
  root: Uint8Array;
  /** The block's account changes, sealed on the committed AccountTree. */
  accounts: AccountDelta;
  totals: TotalsT;
  tables: {
    staking: [number, StakingValidatorT][];
    signingInfos: [number, SigningInfoT][];
    delegations: [number, DelegationT][];
    unbonding: [number, UnbondingEntryT][];
    jobs: [number, JobT][];
    proofs: [number, ProofT][];
    withdrawals: [number, WithdrawalT][];
    checkpoints: [number, EpochCheckpointT][];
  };
  /** Records that left the front of the windowed tables at the end of the block (after `tables` applied, whose indices are the block's start). */
  trimmed: { withdrawals: number; checkpoints: number };
  /** Jobs that left the live state at the end of the block, with their proofs (their slots are vacant in `tables`). */
  left: LeftJob[];
  validators: ValidatorSetT;
  lastValidators: ValidatorSetT;
  priorities: bigint[];
  unbondingCursor: number;
  jobWakes: JobWakeChanges | null;
}

const grown = (base: number, changes: [number, unknown][]): number => changes.reduce((n, [i]) => Math.max(n, i + 1), base);

/** The batch operations that persist `sealed` on top of `world` (nothing is changed yet). */
export function sealedWriteOps(world: WorldState, sealed: SealedState): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const [i, acc] of sealed.accounts.values) ops.push(...accountPutOps(world.accountGen, i, acc));
  const t = sealed.tables;
  for (const [i, v] of t.staking) ops.push(tablePutOp(STAKING, i, v));
  for (const [i, s] of t.signingInfos) ops.push(tablePutOp(SIGNING, i, s));
  for (const [i, d] of t.delegations) ops.push(tablePutOp(DELEGATIONS, i, d));
  for (const [i, u] of t.unbonding) ops.push(tablePutOp(UNBONDING, i, u));
  for (const [i, j] of t.jobs) ops.push(tablePutOp(JOBS, i, j));
  for (const [i, p] of t.proofs) ops.push(tablePutOp(PROOFS, i, p));
  const wb = world.withdrawalBase;
  const cb = world.checkpointBase - 1;
  for (const [i, w] of t.withdrawals) ops.push(tablePutOp(WITHDRAWALS, wb + i, w));
  for (const [i, c] of t.checkpoints) ops.push(tablePutOp(CHECKPOINTS, cb + i, c));
  ops.push(...trimOps(world, sealed.trimmed), ...jobArchiveOps(sealed.left));
  ops.push(
    metaOp(sealed.validators, sealed.lastValidators, sealed.priorities, sealed.totals, [
      sealed.accounts.count,
      grown(world.staking.length, t.staking),
      grown(world.delegations.length, t.delegations),
      grown(world.unbonding.length, t.unbonding),
      grown(world.jobs.length, t.jobs),
      grown(world.proofs.length, t.proofs),
      grown(world.withdrawals.length, t.withdrawals) - sealed.trimmed.withdrawals,
      grown(world.checkpoints.length, t.checkpoints) - sealed.trimmed.checkpoints,
    ]),
  );
  return ops;
}

/**
 * Moving trimmed settlement records out of the state: deleted from their
 * tables, kept under the archive buckets (same keys and values, outside the
 * state root) so withdrawal proofs of old epochs can still be answered.
 * Trimmed records are of finished epochs, so they are `world`'s committed ones.
 */
function trimOps(world: WorldState, trimmed: { withdrawals: number; checkpoints: number }): BatchOp[] {
  const ops: BatchOp[] = [];
  const move = <T>(spec: TableSpec<T>, archive: BucketId, first: number, records: readonly T[], n: number) => {
    for (let k = 0; k < n; k++) {
      const r = records[k];
      if (r === undefined) throw new RangeError(`trimming ${n} records of ${records.length}: only committed ones may leave`);
      ops.push({ type: "del", key: bucketKey(spec.bucket, u32Key(first + k)) }, { type: "put", key: bucketKey(archive, u32Key(first + k)), value: spec.type.serialize(r as never) });
    }
  };
  move(WITHDRAWALS, Bucket.withdrawalArchive, world.withdrawalBase, world.withdrawals, trimmed.withdrawals);
  move(CHECKPOINTS, Bucket.checkpointArchive, world.checkpointBase - 1, world.checkpoints, trimmed.checkpoints);
  return ops;
}

/**
 * The records a run of sealed blocks changed, written once from the final
 * state: a batch import of 100 blocks that pays the same validators each
 * block serializes each record once, not 100 times.
 */
export class TouchedRecords {
  private readonly accounts = new Set<number>();
  private readonly staking = new Set<number>();
  private readonly signingInfos = new Set<number>();
  private readonly delegations = new Set<number>();
  private readonly unbonding = new Set<number>();
  private readonly jobs = new Set<number>();
  private readonly proofs = new Set<number>();
  private readonly withdrawals = new Set<number>();
  private readonly checkpoints = new Set<number>();
  /** Withdrawals and checkpoints (by global key) that left the state during the run, and jobs archived. */
  private readonly trims: BatchOp[] = [];

  /** Called before `sealed` is adopted into `world` (its table indices are relative to `world`'s windows). */
  add(sealed: SealedState, world: WorldState): void {
    for (const [i] of sealed.accounts.values) this.accounts.add(i);
    const t = sealed.tables;
    for (const [i] of t.staking) this.staking.add(i);
    for (const [i] of t.signingInfos) this.signingInfos.add(i);
    for (const [i] of t.delegations) this.delegations.add(i);
    for (const [i] of t.unbonding) this.unbonding.add(i);
    for (const [i] of t.jobs) this.jobs.add(i);
    for (const [i] of t.proofs) this.proofs.add(i);
    // Withdrawals and checkpoints by global key: a run may move their windows.
    for (const [i] of t.withdrawals) this.withdrawals.add(world.withdrawalBase + i);
    for (const [i] of t.checkpoints) this.checkpoints.add(world.checkpointBase - 1 + i);
    this.trims.push(...trimOps(world, sealed.trimmed), ...jobArchiveOps(sealed.left));
  }

  /** The batch operations that persist these records as `world` now holds them (after `adoptSealed` of every block). */
  writeOps(world: WorldState): BatchOp[] {
    const ops: BatchOp[] = [];
    for (const i of this.accounts) ops.push(...accountPutOps(world.accountGen, i, world.accounts.get(i)!));
    for (const i of this.staking) ops.push(tablePutOp(STAKING, i, world.staking[i]!));
    for (const i of this.signingInfos) ops.push(tablePutOp(SIGNING, i, world.signingInfos[i]!));
    for (const i of this.delegations) ops.push(tablePutOp(DELEGATIONS, i, world.delegations[i]!));
    for (const i of this.unbonding) ops.push(tablePutOp(UNBONDING, i, world.unbonding[i]!));
    for (const i of this.jobs) ops.push(tablePutOp(JOBS, i, world.jobs[i]!));
    for (const i of this.proofs) ops.push(tablePutOp(PROOFS, i, world.proofs[i]!));
    ops.push(...this.trims);
    // Those that left meanwhile are in `trims` (deleted and archived), not put again.
    for (const g of this.withdrawals) {
      const w = world.withdrawalAt(g);
      if (w) ops.push(tablePutOp(WITHDRAWALS, g, w));
    }
    for (const g of this.checkpoints) {
      const c = world.checkpointOf(g + 1);
      if (c) ops.push(tablePutOp(CHECKPOINTS, g, c));
    }
    ops.push(metaOp(world.validators, world.lastValidators, world.priorities, world.totals, countsOf(world)));
    return ops;
  }
}

/** Makes `sealed` the committed state (after its write ops are on disk). */
export function adoptSealed(world: WorldState, sealed: SealedState): void {
  world.accounts.adopt(sealed.accounts);
  world.touchedSinceSnapshot += sealed.accounts.values.length;
  const t = sealed.tables;
  for (const [i, v] of t.staking) {
    if (i === world.staking.length) {
      world.validatorIndex.set(addrKey(v.address), i);
      world.operatorIndex.set(addrKey(v.operator), i);
    }
    world.staking[i] = v;
  }
  for (const [i, s] of t.signingInfos) world.signingInfos[i] = s;
  for (const [i, d] of t.delegations) {
    if (i === world.delegations.length) indexDelegation(world.delegationIndex, world.delegationsOf, d, i);
    world.delegations[i] = d;
  }
  for (const [i, u] of t.unbonding) world.unbonding[i] = u;
  for (const [i, j] of t.jobs) {
    const old = world.jobs[i];
    const wasLive = old !== undefined && !isVacantJob(old);
    const live = !isVacantJob(j);
    if (wasLive && (!live || !bytesEqual(old.id, j.id))) world.jobIndex.delete(idKey(old.id));
    if (live && !(wasLive && bytesEqual(old.id, j.id))) world.jobIndex.set(idKey(j.id), i);
    if (live && old !== undefined && !wasLive) removeSorted(world.freeJobSlots, i);
    if (!live && (old === undefined || wasLive)) insertSorted(world.freeJobSlots, i);
    world.jobs[i] = j;
  }
  for (const [i, p] of t.proofs) {
    const old = world.proofs[i];
    const wasLive = old !== undefined && !isVacantProof(old);
    const live = !isVacantProof(p);
    const same = wasLive && live && bytesEqual(old.id, p.id);
    if (wasLive && !same) unindexProof(world, old, i);
    if (live && !same) indexProof(world, p, i);
    if (same) {
      if (isOpenProof(p)) world.openProofs.add(i);
      else world.openProofs.delete(i);
    }
    if (live && old !== undefined && !wasLive) removeSorted(world.freeProofSlots, i);
    if (!live && (old === undefined || wasLive)) insertSorted(world.freeProofSlots, i);
    world.proofs[i] = p;
  }
  for (const [i, w] of t.withdrawals) world.withdrawals[i] = w;
  for (const [i, c] of t.checkpoints) world.checkpoints[i] = c;
  if (sealed.trimmed.withdrawals > 0) world.withdrawals.splice(0, sealed.trimmed.withdrawals);
  if (sealed.trimmed.checkpoints > 0) world.checkpoints.splice(0, sealed.trimmed.checkpoints);
  adoptJobWakes(world, sealed);
  world.unbondingCursor = sealed.unbondingCursor;
  world.validators = sealed.validators;
  world.lastValidators = sealed.lastValidators;
  world.priorities = sealed.priorities;
  world.totals = sealed.totals;
  world.view = sealed.view;
}

/** Keeps the job index current; a block sealed without the job bookkeeping that changed jobs or proofs leaves it to be rebuilt. */
function adoptJobWakes(world: WorldState, sealed: SealedState): void {
  const w = world.jobWakes;
  if (!w) return;
  const changes = sealed.jobWakes;
  if (!changes) {
    if (sealed.tables.jobs.length > 0 || sealed.tables.proofs.length > 0) world.jobWakes = null;
    return;
  }
  for (const [height, ji] of changes.add) w.add(height, ji);
  w.drop(changes.height);
}

const ACCOUNTS_FIELD = Object.keys(State.fields).indexOf("accounts");

/** The state root: the rest of the state's view with its (empty) accounts field replaced by the accounts' root. */
export function stateRoot(view: StateView, accountsRoot: Uint8Array): Uint8Array {
  view.hashTreeRoot();
  return setNodeAtDepth(view.node, State.depth, ACCOUNTS_FIELD, LeafNode.fromRoot(accountsRoot)).root;
}

/** Key marking account `i` as written in snapshot generation `gen`: u32 gen ‖ u32 index. */
export function accountTouchedKey(gen: number, i: number): Uint8Array {
  const id = new Uint8Array(8);
  const dv = new DataView(id.buffer);
  dv.setUint32(0, gen);
  dv.setUint32(4, i);
  return bucketKey(Bucket.accountTouched, id);
}

function accountPutOps(gen: number, i: number, acc: AccountT): BatchOp[] {
  return [
    { type: "put", key: bucketKey(Bucket.account, u32Key(i)), value: Account.serialize(acc) },
    { type: "put", key: accountTouchedKey(gen, i), value: new Uint8Array(0) },
  ];
}

/** Every account read from the database, into columns (no object per account). */
async function accountsFromDb(db: Level, count: number): Promise<AccountTree> {
  const addresses = new Uint8Array(count * ADDRESS_BYTES);
  const balances = new BigUint64Array(count);
  const nonces = new BigUint64Array(count);
  let n = 0;
  for await (const [id, v] of iterateBucket(db, Bucket.account)) {
    const i = new DataView(id.buffer, id.byteOffset, 4).getUint32(0);
    if (i !== n) throw new Error(`state corrupt: account ${n} missing`);
    if (n >= count) throw new Error(`state corrupt: more than the ${count} accounts meta says`);
    const a = Account.deserialize(v);
    addresses.set(a.address, n * ADDRESS_BYTES);
    balances[n] = a.balance;
    nonces[n] = a.nonce;
    n++;
  }
  if (n !== count) throw new Error(`state corrupt: ${n} accounts, meta says ${count}`);
  return AccountTree.fromColumns({ count, addresses, balances, nonces });
}

/** The snapshot's accounts with those written in generation `gen` or later read back from the database. */
async function accountsFromSnapshot(db: Level, snap: AccountColumns, leaves: Uint8Array, gen: number, count: number): Promise<AccountTree> {
  if (snap.count > count) throw new SnapshotMismatch(`snapshot holds ${snap.count} accounts, the state ${count}`);
  // The snapshot's arrays are this load's own: touched accounts are written into them, copied only when accounts were created since.
  const { addresses, balances, nonces } = snap.count === count ? snap : resizedColumns(snap, count);
  const seen = new Uint8Array(count);
  for (let i = 0; i < snap.count; i++) seen[i] = 1;
  const touched = new Set<number>();
  for await (const key of db.keys({ gte: accountTouchedKey(gen, 0), lt: Uint8Array.of(Bucket.accountTouched + 1) })) {
    touched.add(new DataView(key.buffer, key.byteOffset + 5, 4).getUint32(0));
  }
  const list = [...touched].sort((a, b) => a - b);
  const values = list.length === 0 ? [] : await db.getMany(list.map((i) => bucketKey(Bucket.account, u32Key(i))));
  list.forEach((i, k) => {
    const v = values[k];
    if (i >= count || !v) throw new SnapshotMismatch(`touched account ${i} is not in the state`);
    const a = Account.deserialize(v);
    addresses.set(a.address, i * ADDRESS_BYTES);
    balances[i] = a.balance;
    nonces[i] = a.nonce;
    seen[i] = 1;
  });
  if (seen.indexOf(0) >= 0) throw new SnapshotMismatch(`account ${seen.indexOf(0)} is in neither the snapshot nor the touched set`);
  return AccountTree.fromColumns({ count, addresses, balances, nonces }, { roots: leaves.subarray(0, snap.count * 32), fresh: list });
}

/** The account snapshot does not fit the database (the caller reads every account instead). */
export class SnapshotMismatch extends Error {}
