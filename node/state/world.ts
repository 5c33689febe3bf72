/**
 * The world state: accounts, validator set and totals.
 *
 * Reads come from memory (a plain array of accounts plus an address → index
 * map); the authenticated tree is an SSZ ViewDU that is only touched for the
 * accounts a block changed, so a block of N transfers costs N map lookups and
 * about 2N tree updates, not 2N database reads. On disk every account is one
 * key (its index), written in the block's batch.
 */
import type { CompositeViewDU } from "@chainsafe/ssz";
import { Bucket, bucketKey, getBytes, iterateBucket, u32Key, type BatchOp, type Level } from "../db/database.ts";
import type { ValidatorSetT } from "../types/validator.ts";
import { Account, State, StateMeta, type AccountT, type TotalsT } from "./schemas.ts";

const META_KEY = new Uint8Array(0);

export const addrKey = (address: Uint8Array): string => Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString("hex");

export type StateView = CompositeViewDU<typeof State>;

export class WorldState {
  /** Committed accounts by index (index = order of creation). */
  readonly accounts: AccountT[];
  readonly index: Map<string, number>;
  validators: ValidatorSetT;
  totals: TotalsT;
  view: StateView;

  private constructor(accounts: AccountT[], validators: ValidatorSetT, totals: TotalsT) {
    this.accounts = accounts;
    this.validators = validators;
    this.totals = totals;
    this.index = new Map(accounts.map((a, i) => [addrKey(a.address), i]));
    this.view = State.toViewDU({ accounts, validators, totals });
    this.view.commit();
  }

  static fromGenesis(accounts: { address: Uint8Array; balance: bigint }[], validators: ValidatorSetT): WorldState {
    const list = accounts.map((a) => ({ address: a.address, balance: a.balance, nonce: 0n }));
    const supply = list.reduce((s, a) => s + a.balance, 0n);
    return new WorldState(list, validators, { supply, burned: 0n, pouwPool: 0n });
  }

  /** Loads the committed state; `null` when the database holds none. */
  static async load(db: Level): Promise<WorldState | null> {
    const metaBytes = await getBytes(db, Bucket.stateMeta, META_KEY);
    if (!metaBytes) return null;
    const meta = StateMeta.deserialize(metaBytes);
    const accounts: AccountT[] = [];
    for await (const [id, v] of iterateBucket(db, Bucket.account)) {
      const i = new DataView(id.buffer, id.byteOffset, 4).getUint32(0);
      if (i !== accounts.length) throw new Error(`state corrupt: account ${accounts.length} missing`);
      accounts.push(Account.deserialize(v));
    }
    if (BigInt(accounts.length) !== meta.accountCount) throw new Error(`state corrupt: ${accounts.length} accounts, meta says ${meta.accountCount}`);
    return new WorldState(accounts, meta.validators, meta.totals);
  }

  get root(): Uint8Array {
    return this.view.hashTreeRoot();
  }

  getAccount(address: Uint8Array): AccountT | undefined {
    const i = this.index.get(addrKey(address));
    return i === undefined ? undefined : this.accounts[i];
  }

  /** Batch operations that write the whole state (genesis). */
  fullWriteOps(): BatchOp[] {
    const ops: BatchOp[] = this.accounts.map((a, i) => ({ type: "put", key: bucketKey(Bucket.account, u32Key(i)), value: Account.serialize(a) }));
    ops.push(this.metaOp());
    return ops;
  }

  metaOp(): BatchOp {
    return {
      type: "put",
      key: bucketKey(Bucket.stateMeta, META_KEY),
      value: StateMeta.serialize({ validators: this.validators, totals: this.totals, accountCount: BigInt(this.accounts.length) }),
    };
  }
}

/**
 * The changes of one block on top of a committed `WorldState`. Execution
 * reads and writes here; `seal()` computes the new root without touching the
 * committed state; `WorldState` adopts it only when the block commits.
 */
export class StateOverlay {
  readonly base: WorldState;
  private readonly dirty = new Map<string, AccountT>();
  /** Accounts created by this block, in creation order. */
  private readonly created: string[] = [];
  totals: TotalsT;

  constructor(base: WorldState) {
    this.base = base;
    this.totals = { ...base.totals };
  }

  /** The account as this block sees it, or undefined. Do not mutate: use `mutable`. */
  get(key: string): AccountT | undefined {
    const d = this.dirty.get(key);
    if (d) return d;
    const i = this.base.index.get(key);
    return i === undefined ? undefined : this.base.accounts[i];
  }

  /** A writable copy of the account, created empty if it does not exist. */
  mutable(key: string, address: Uint8Array): AccountT {
    let d = this.dirty.get(key);
    if (d) return d;
    const i = this.base.index.get(key);
    if (i === undefined) {
      d = { address: address.slice(), balance: 0n, nonce: 0n };
      this.created.push(key);
    } else {
      const a = this.base.accounts[i]!;
      d = { address: a.address, balance: a.balance, nonce: a.nonce };
    }
    this.dirty.set(key, d);
    return d;
  }

  /** Computes the state root of base + changes. The base is untouched. */
  seal(): SealedState {
    const view = this.base.view.clone(true);
    const accounts = view.accounts;
    let next = this.base.accounts.length;
    const updates: [number, AccountT][] = [];
    for (const [key, acc] of this.dirty) {
      const i = this.base.index.get(key);
      if (i !== undefined) {
        updates.push([i, acc]);
        accounts.set(i, Account.toViewDU(acc));
      }
    }
    const createdIdx: [string, number][] = [];
    for (const key of this.created) {
      const acc = this.dirty.get(key)!;
      accounts.push(Account.toViewDU(acc));
      updates.push([next, acc]);
      createdIdx.push([key, next]);
      next++;
    }
    view.totals = State.fields.totals.toViewDU(this.totals);
    view.commit();
    return { view, root: view.hashTreeRoot(), updates, created: createdIdx, totals: this.totals };
  }
}

export interface SealedState {
  view: StateView;
  root: Uint8Array;
  updates: [number, AccountT][];
  created: [string, number][];
  totals: TotalsT;
}

/** The batch operations that persist `sealed` on top of `world` (nothing is changed yet). */
export function sealedWriteOps(world: WorldState, sealed: SealedState): BatchOp[] {
  const ops: BatchOp[] = [];
  for (const [i, acc] of sealed.updates) ops.push({ type: "put", key: bucketKey(Bucket.account, u32Key(i)), value: Account.serialize(acc) });
  ops.push({
    type: "put",
    key: bucketKey(Bucket.stateMeta, META_KEY),
    value: StateMeta.serialize({
      validators: world.validators,
      totals: sealed.totals,
      accountCount: BigInt(world.accounts.length + sealed.created.length),
    }),
  });
  return ops;
}

/** Makes `sealed` the committed state (after its write ops are on disk). */
export function adoptSealed(world: WorldState, sealed: SealedState): void {
  for (const [key, i] of sealed.created) world.index.set(key, i);
  for (const [i, acc] of sealed.updates) world.accounts[i] = acc;
  world.totals = sealed.totals;
  world.view = sealed.view;
}
