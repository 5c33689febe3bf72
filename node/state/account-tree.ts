/**
 * The accounts of the state in flat typed arrays, with their SSZ Merkle tree
 * kept level by level beside them.
 *
 * An account costs 36 bytes of columns (address, balance, nonce), 64 bytes of
 * tree (its leaf root and its share of the levels above) and 8 bytes of
 * address index: about 110 bytes, against ~2 KB as JS objects in an SSZ
 * ViewDU. The arrays live outside the V8 heap, so the garbage collector never
 * walks them. The root is the SSZ `hash_tree_root` of `List[Account, 2^32]`
 * (DESIGN §5), bit for bit: wallets' proofs do not change.
 *
 * A block's changes are sealed into an `AccountDelta` (the new values and the
 * changed nodes of every level, hashed in batches with the SIMD hasher)
 * without touching the committed arrays; `adopt` writes the delta in when the
 * block commits. A delta is only valid on the tree version it was sealed on.
 */
import { hashInto } from "@chainsafe/hashtree";
import { zeroHash } from "@chainsafe/persistent-merkle-tree";
import { ADDRESS_BYTES } from "../crypto/address.ts";
import type { AccountT } from "./schemas.ts";

export { ADDRESS_BYTES };
/** Depth of the accounts list's tree: `List[Account, 2^32]` has 2^32 leaves. */
export const ACCOUNT_LIST_DEPTH = 32;
const MAX_ACCOUNT_COUNT = 2 ** 32 - 1;

/** The changes of one block to the accounts, sealed on one version of the tree. */
export interface AccountDelta {
  readonly tree: AccountTree;
  readonly version: number;
  /** Number of accounts after the block. */
  readonly count: number;
  /** Changed and created accounts, by index, ascending. */
  readonly values: readonly (readonly [number, AccountT])[];
  /** Per level 0..32: the changed node indices, ascending. */
  readonly nodes: readonly Uint32Array[];
  /** Per level: their hashes, 32 bytes each. */
  readonly hashes: readonly Uint8Array[];
  /** Root of the accounts list (the length mixed in). */
  readonly root: Uint8Array;
}

/** The columns of an account tree (views, not copies): what a snapshot stores. */
export interface AccountColumns {
  count: number;
  addresses: Uint8Array;
  balances: BigUint64Array;
  nonces: BigUint64Array;
}

/** An account's SSZ encoding: address ‖ balance (u64 LE) ‖ nonce (u64 LE). */
export const ACCOUNT_BYTES = ADDRESS_BYTES + 16;

/** Writes account `i` of the columns at `out[at..]` in its SSZ encoding (`dv` views `out`'s buffer). */
export function encodeAccountAt(c: AccountColumns, i: number, out: Uint8Array, dv: DataView, at: number): void {
  out.set(c.addresses.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES), at);
  dv.setBigUint64(out.byteOffset + at + ADDRESS_BYTES, c.balances[i]!, true);
  dv.setBigUint64(out.byteOffset + at + ADDRESS_BYTES + 8, c.nonces[i]!, true);
}

/** New columns of room for `cap` accounts holding the first `c.count` of `c` (count stays `c.count`). */
export function resizedColumns(c: AccountColumns, cap: number): AccountColumns {
  const addresses = new Uint8Array(cap * ADDRESS_BYTES);
  addresses.set(c.addresses.subarray(0, c.count * ADDRESS_BYTES));
  const balances = new BigUint64Array(cap);
  balances.set(c.balances.subarray(0, c.count));
  const nonces = new BigUint64Array(cap);
  nonces.set(c.nonces.subarray(0, c.count));
  return { count: c.count, addresses, balances, nonces };
}

/** Room for 1/8 more accounts before the arrays are copied into bigger ones. */
const withSlack = (n: number): number => Math.max(1024, n + (n >> 3));

const nodeCount = (level: number, count: number): number => (level >= 32 ? (count > 0 ? 1 : 0) : Math.ceil(count / 2 ** level));

/** The 32-byte little-endian length chunk of an SSZ list. */
export function lengthChunk(count: number): Uint8Array {
  const c = new Uint8Array(32);
  new DataView(c.buffer).setBigUint64(0, BigInt(count), true);
  return c;
}

function hash64(a: Uint8Array, b: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(a, 0);
  input.set(b, 32);
  const out = new Uint8Array(32);
  hashInto(input, out);
  return out;
}

/** Leaf roots of accounts: `Account.hashTreeRoot` for each, in batches (3 SHA-256 blocks per account). */
function leafRoots(n: number, fill: (k: number, block: Uint8Array, view: DataView, at: number) => void): Uint8Array {
  const input = new Uint8Array(n * 128);
  const view = new DataView(input.buffer);
  for (let k = 0; k < n; k++) fill(k, input, view, k * 128);
  const mid = new Uint8Array(n * 64);
  hashInto(input, mid);
  const out = new Uint8Array(n * 32);
  hashInto(mid, out);
  return out;
}

/** Writes the two 64-byte blocks of an account's container: [address | balance], [nonce | zero]. */
function putAccountBlocks(block: Uint8Array, at: number, address: Uint8Array, addressAt: number, balance: bigint, nonce: bigint, view: DataView): void {
  block.set(address.subarray(addressAt, addressAt + ADDRESS_BYTES), at);
  view.setBigUint64(at + 32, balance, true);
  view.setBigUint64(at + 64, nonce, true);
}

export class AccountTree {
  private cap = 0;
  private n = 0;
  private addr: Uint8Array = new Uint8Array(0);
  private bal: BigUint64Array = new BigUint64Array(0);
  private non: BigUint64Array = new BigUint64Array(0);
  /** levels[k]: nodes of level k (level 0 = account roots), 32 bytes each; valid below nodeCount(k, n). */
  private levels: Uint8Array[] = [];
  /** Open-addressing address index: slot → account index, -1 empty. */
  private slots = new Int32Array(0);
  private readonly seed: number;
  private readonly scratch = Buffer.alloc(ADDRESS_BYTES);
  /** Bumped by every adopt: a delta applies only to the version it was sealed on. */
  version = 0;

  private constructor() {
    // The index's hash is keyed per process, so nobody can choose addresses that collide (it is not consensus).
    this.seed = (Math.random() * 2 ** 32) | 0;
  }

  static empty(): AccountTree {
    const t = new AccountTree();
    t.grow(1024);
    return t;
  }

  /** A tree of these accounts, hashed in batches. */
  static fromAccounts(accounts: readonly AccountT[]): AccountTree {
    const t = new AccountTree();
    t.grow(withSlack(accounts.length));
    accounts.forEach((a, i) => {
      if (a.address.length !== ADDRESS_BYTES) throw new RangeError(`account ${i} address is ${a.address.length} bytes`);
      t.addr.set(a.address, i * ADDRESS_BYTES);
      t.bal[i] = a.balance;
      t.non[i] = a.nonce;
    });
    t.n = accounts.length;
    t.rebuild();
    return t;
  }

  /**
   * A tree of these columns (copied), e.g. read from a snapshot. `leaves`:
   * the accounts' roots when known (a snapshot stores them; its checksum
   * vouches for them), else they are hashed here; `fresh` lists accounts
   * whose stored leaf is out of date (touched since the snapshot).
   */
  static fromColumns(c: AccountColumns, leaves?: { roots: Uint8Array; fresh: Iterable<number> }): AccountTree {
    const t = new AccountTree();
    t.grow(withSlack(c.count));
    t.addr.set(c.addresses.subarray(0, c.count * ADDRESS_BYTES));
    t.bal.set(c.balances.subarray(0, c.count));
    t.non.set(c.nonces.subarray(0, c.count));
    t.n = c.count;
    t.rebuild(leaves);
    return t;
  }

  /** The committed accounts' leaf roots (32 bytes each, a view valid until the next adopt): what a snapshot stores. */
  leafRoots(): Uint8Array {
    return this.levels[0]!.subarray(0, this.n * 32);
  }

  get count(): number {
    return this.n;
  }

  /** Views of the committed columns; valid until the next adopt. */
  columns(): AccountColumns {
    return { count: this.n, addresses: this.addr.subarray(0, this.n * ADDRESS_BYTES), balances: this.bal.subarray(0, this.n), nonces: this.non.subarray(0, this.n) };
  }

  get(i: number): AccountT | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) return undefined;
    return { address: this.addr.slice(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES), balance: this.bal[i]!, nonce: this.non[i]! };
  }

  indexOf(address: Uint8Array): number | undefined {
    if (address.length !== ADDRESS_BYTES) return undefined;
    const i = this.slots[this.find(address, 0)]!;
    return i < 0 ? undefined : i;
  }

  /** The index of the account whose address is this 40-character hex key. */
  indexOfKey(hex: string): number | undefined {
    if (hex.length !== ADDRESS_BYTES * 2 || this.scratch.write(hex, "hex") !== ADDRESS_BYTES) return undefined;
    return this.indexOf(this.scratch);
  }

  *[Symbol.iterator](): IterableIterator<AccountT> {
    for (let i = 0; i < this.n; i++) yield this.get(i)!;
  }

  /** A copy of node `j` of `level` (level 0: account roots; zero subtrees past the end). */
  subtreeRoot(level: number, j: number): Uint8Array {
    if (!Number.isInteger(level) || level < 0 || level > ACCOUNT_LIST_DEPTH) throw new RangeError(`no level ${level}`);
    return this.node(level, j, this.n).slice();
  }

  /** Root of the committed accounts list. */
  get root(): Uint8Array {
    return mixIn(this.node(ACCOUNT_LIST_DEPTH, 0, this.n), this.n);
  }

  /** Sibling hashes from account `i` up to the list root (33: 32 levels, then the length chunk), bottom-up. */
  witnesses(i: number): Uint8Array[] {
    if (!Number.isInteger(i) || i < 0 || i > MAX_ACCOUNT_COUNT) throw new RangeError(`no account position ${i}`);
    const out: Uint8Array[] = [];
    for (let k = 0; k < ACCOUNT_LIST_DEPTH; k++) {
      const j = Math.floor(i / 2 ** k);
      out.push(this.node(k, j % 2 === 0 ? j + 1 : j - 1, this.n).slice());
    }
    out.push(lengthChunk(this.n));
    return out;
  }

  /**
   * Seals changes: `values` are [index, account] with index < count for
   * updates and the new accounts at count, count+1, … (any order). The tree
   * is not touched.
   */
  seal(values: (readonly [number, AccountT])[]): AccountDelta {
    const sorted = [...values].sort((a, b) => a[0] - b[0]);
    let count = this.n;
    for (let k = 0; k < sorted.length; k++) {
      const i = sorted[k]![0];
      if (k > 0 && sorted[k - 1]![0] === i) throw new RangeError(`account ${i} sealed twice`);
      if (i >= this.n) {
        if (i !== count) throw new RangeError(`new account at ${i}, expected ${count}`);
        count++;
      }
    }
    if (count > MAX_ACCOUNT_COUNT) throw new RangeError("accounts list full");
    let idx = Uint32Array.from(sorted, (v) => v[0]);
    let hs = leafRoots(sorted.length, (k, block, view, at) => {
      const [, a] = sorted[k]!;
      if (a.address.length !== ADDRESS_BYTES) throw new RangeError(`account ${sorted[k]![0]} address is ${a.address.length} bytes`);
      putAccountBlocks(block, at, a.address, 0, a.balance, a.nonce, view);
    });
    const nodes: Uint32Array[] = [idx];
    const hashes: Uint8Array[] = [hs];
    for (let level = 0; level < ACCOUNT_LIST_DEPTH; level++) {
      let parents = 0;
      for (let t = 0; t < idx.length; t++) if (t === 0 || idx[t]! >>> 1 !== idx[t - 1]! >>> 1) parents++;
      const pIdx = new Uint32Array(parents);
      const input = new Uint8Array(parents * 64);
      let t = 0;
      for (let p = 0; p < parents; p++) {
        const parent = idx[t]! >>> 1;
        pIdx[p] = parent;
        const left = parent * 2;
        if (idx[t] === left) {
          input.set(hs.subarray(t * 32, t * 32 + 32), p * 64);
          t++;
        } else input.set(this.node(level, left, this.n), p * 64);
        if (t < idx.length && idx[t] === left + 1) {
          input.set(hs.subarray(t * 32, t * 32 + 32), p * 64 + 32);
          t++;
        } else input.set(this.node(level, left + 1, this.n), p * 64 + 32);
      }
      const out = new Uint8Array(parents * 32);
      if (parents > 0) hashInto(input, out);
      idx = pIdx;
      hs = out;
      nodes.push(idx);
      hashes.push(hs);
    }
    const top = idx.length > 0 ? hs.subarray(0, 32) : this.node(ACCOUNT_LIST_DEPTH, 0, this.n);
    return { tree: this, version: this.version, count, values: sorted, nodes, hashes, root: mixIn(count === 0 ? zeroHash(ACCOUNT_LIST_DEPTH) : top, count) };
  }

  /** Makes a delta sealed on this version the committed accounts. */
  adopt(d: AccountDelta): void {
    if (d.tree !== this || d.version !== this.version) throw new Error(`account delta of version ${d.version} adopted on version ${this.version}`);
    if (d.count > this.cap) this.grow(d.count + (d.count >> 2));
    for (const [i, a] of d.values) {
      if (i >= this.n) {
        this.addr.set(a.address, i * ADDRESS_BYTES);
        this.insert(i);
      }
      this.bal[i] = a.balance;
      this.non[i] = a.nonce;
    }
    for (let level = 0; level <= ACCOUNT_LIST_DEPTH; level++) {
      const idx = d.nodes[level]!;
      const hs = d.hashes[level]!;
      const arr = this.levels[level]!;
      for (let t = 0; t < idx.length; t++) arr.set(hs.subarray(t * 32, t * 32 + 32), idx[t]! * 32);
    }
    this.n = d.count;
    this.version++;
  }

  /** Node `j` of `level` in a tree of `count` accounts whose nodes below `nodeCount` are in the arrays. */
  private node(level: number, j: number, count: number): Uint8Array {
    if (j >= nodeCount(level, count)) return zeroHash(level);
    const arr = this.levels[level]!;
    return arr.subarray(j * 32, j * 32 + 32);
  }

  /** Hashes every level from the columns (the leaves from `known` where it has them). */
  private rebuild(known?: { roots: Uint8Array; fresh: Iterable<number> }): void {
    const n = this.n;
    const BATCH = 65_536;
    const leaves = this.levels[0]!;
    const hashLeaves = (list: ArrayLike<number>) => {
      for (let from = 0; from < list.length; from += BATCH) {
        const m = Math.min(BATCH, list.length - from);
        const roots = leafRoots(m, (k, block, view, at) => {
          const i = list[from + k]!;
          putAccountBlocks(block, at, this.addr, i * ADDRESS_BYTES, this.bal[i]!, this.non[i]!, view);
        });
        for (let k = 0; k < m; k++) leaves.set(roots.subarray(k * 32, k * 32 + 32), list[from + k]! * 32);
      }
    };
    if (known) {
      const have = Math.min(n, known.roots.length / 32);
      leaves.set(known.roots.subarray(0, have * 32));
      const rest = new Set(known.fresh);
      for (let i = have; i < n; i++) rest.add(i);
      hashLeaves(Uint32Array.from(rest));
    } else {
      for (let from = 0; from < n; from += BATCH) {
        const m = Math.min(BATCH, n - from);
        const roots = leafRoots(m, (k, block, view, at) => putAccountBlocks(block, at, this.addr, (from + k) * ADDRESS_BYTES, this.bal[from + k]!, this.non[from + k]!, view));
        leaves.set(roots, from * 32);
      }
    }
    for (let level = 0; level < ACCOUNT_LIST_DEPTH; level++) {
      const below = nodeCount(level, n);
      const pairs = Math.ceil(below / 2);
      if (pairs === 0) continue;
      const out = this.levels[level + 1]!;
      // Pairs are adjacent in a level: hash them in place; an odd last node pairs with the zero subtree.
      const even = below - (below % 2);
      if (even > 0) hashInto(this.levels[level]!.subarray(0, even * 32), out.subarray(0, (even / 2) * 32));
      if (below % 2 === 1) out.set(hash64(this.levels[level]!.subarray(even * 32, below * 32), zeroHash(level)), (pairs - 1) * 32);
    }
    this.slots.fill(-1);
    for (let i = 0; i < n; i++) {
      const slot = this.find(this.addr, i * ADDRESS_BYTES);
      if (this.slots[slot]! >= 0) throw new Error(`account ${i} repeats an address`);
      this.slots[slot] = i;
    }
  }

  private grow(cap: number): void {
    const { addresses: addr, balances: bal, nonces: non } = resizedColumns(this.columns(), cap);
    const levels: Uint8Array[] = [];
    for (let k = 0; k <= ACCOUNT_LIST_DEPTH; k++) {
      const a = new Uint8Array(Math.max(1, nodeCount(k, cap)) * 32);
      const old = this.levels[k];
      if (old) a.set(old.subarray(0, nodeCount(k, this.n) * 32));
      levels.push(a);
    }
    this.addr = addr;
    this.bal = bal;
    this.non = non;
    this.levels = levels;
    this.cap = cap;
    let size = 1;
    while (size < cap * 2) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    for (let i = 0; i < this.n; i++) this.insert(i);
  }

  private hashOf(a: Uint8Array, at: number): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let k = 0; k < ADDRESS_BYTES; k += 4) {
      const w = a[at + k]! | (a[at + k + 1]! << 8) | (a[at + k + 2]! << 16) | (a[at + k + 3]! << 24);
      h = Math.imul(h ^ w, 0x9e3779b1);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The slot holding the address at `a[at..]`, or the empty slot where it would go. */
  private find(a: Uint8Array, at: number): number {
    const mask = this.slots.length - 1;
    let s = this.hashOf(a, at) & mask;
    for (;;) {
      const i = this.slots[s]!;
      if (i < 0) return s;
      const o = i * ADDRESS_BYTES;
      let same = true;
      for (let k = 0; k < ADDRESS_BYTES; k++) {
        if (this.addr[o + k] !== a[at + k]) {
          same = false;
          break;
        }
      }
      if (same) return s;
      s = (s + 1) & mask;
    }
  }

  private insert(i: number): void {
    this.slots[this.find(this.addr, i * ADDRESS_BYTES)] = i;
  }
}

function mixIn(root: Uint8Array, count: number): Uint8Array {
  return hash64(root, lengthChunk(count));
}

/**
 * The root of a list of `count` accounts whose subtrees of `2^level` accounts
 * have these roots (in order; past the end: zero subtrees). What a state-sync
 * manifest's chunk roots must reproduce.
 */
export function accountsRootFromSubtrees(level: number, roots: readonly Uint8Array[], count: number): Uint8Array {
  let nodes: Uint8Array[] = roots.map((r) => r.slice());
  for (let k = level; k < ACCOUNT_LIST_DEPTH; k++) {
    const next: Uint8Array[] = [];
    for (let j = 0; j < nodes.length; j += 2) next.push(hash64(nodes[j]!, nodes[j + 1] ?? zeroHash(k)));
    nodes = next;
  }
  return mixIn(nodes[0] ?? zeroHash(ACCOUNT_LIST_DEPTH), count);
}

/** The root of the subtree over these serialized accounts (36 bytes each), padded to `2^level` accounts. */
export function accountChunkRoot(level: number, bytes: Uint8Array): Uint8Array {
  const SIZE = ACCOUNT_BYTES;
  if (bytes.length % SIZE !== 0 || bytes.length / SIZE > 2 ** level) throw new RangeError(`${bytes.length} bytes are not at most ${2 ** level} accounts of ${SIZE} bytes`);
  const n = bytes.length / SIZE;
  if (n === 0) return zeroHash(level).slice();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let nodes = leafRoots(n, (k, block, view, at) => putAccountBlocks(block, at, bytes, k * SIZE, dv.getBigUint64(k * SIZE + ADDRESS_BYTES, true), dv.getBigUint64(k * SIZE + ADDRESS_BYTES + 8, true), view));
  let count = n;
  for (let k = 0; k < level; k++) {
    const pairs = Math.ceil(count / 2);
    const input = new Uint8Array(pairs * 64);
    input.set(nodes.subarray(0, count * 32));
    if (count % 2 === 1) input.set(zeroHash(k), count * 32);
    const out = new Uint8Array(pairs * 32);
    hashInto(input, out);
    nodes = out;
    count = pairs;
  }
  return nodes.slice(0, 32);
}
