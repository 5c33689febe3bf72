/**
 * The state at a height as a manifest and content-addressed chunks: what
 * state sync serves and fetches (docs/decisions/0011; the network side is
 * still to come).
 *
 * The accounts are cut into chunks of 2^ACCOUNT_CHUNK_LEVEL (4,096)
 * consecutive accounts, 36 bytes each (their SSZ encoding). Each chunk is a
 * whole subtree of the accounts list, so the manifest lists the subtrees'
 * roots: a chunk is checked on its own against its root (a peer that serves
 * a bad one is caught at once), and the roots together with the rest of the
 * state (every other field, one SSZ State whose accounts list is empty)
 * reproduce the state root, which the node trusts from a verified header.
 */
import { Account, State } from "./schemas.ts";
import { ACCOUNT_BYTES, ADDRESS_BYTES, AccountTree, accountChunkRoot, accountsRootFromSubtrees, encodeAccountAt, type AccountColumns } from "./account-tree.ts";
import { WorldState, stateRoot } from "./world.ts";
import { bytesEqual, toHex } from "../util/hex.ts";

export const ACCOUNT_CHUNK_LEVEL = 12;
export const ACCOUNTS_PER_CHUNK = 2 ** ACCOUNT_CHUNK_LEVEL;

export interface StateManifest {
  height: number;
  accountCount: number;
  /** Root of each chunk's subtree, chunk k holding accounts [k·4096, (k+1)·4096). */
  accountChunkRoots: Uint8Array[];
  /** SSZ State with an empty accounts list: validators, staking, jobs, proofs, totals… */
  rest: Uint8Array;
}

export class StateChunkError extends Error {}

export const accountChunkCount = (accounts: number): number => Math.ceil(accounts / ACCOUNTS_PER_CHUNK);

export function makeStateManifest(world: WorldState, height: number): StateManifest {
  const n = world.accounts.count;
  const accountChunkRoots = Array.from({ length: accountChunkCount(n) }, (_, k) => world.accounts.subtreeRoot(ACCOUNT_CHUNK_LEVEL, k));
  return { height, accountCount: n, accountChunkRoots, rest: world.view.serialize() };
}

/** Chunk `k` of the accounts: their SSZ encodings, back to back. */
export function accountChunk(world: WorldState, k: number): Uint8Array {
  return encodeAccountChunk(world.accounts.columns(), k);
}

/** Chunk `k` of `columns` (accounts [4096·k, 4096·(k+1)) encoded back to back), into `out` when given (a chunk-sized buffer reused). */
export function encodeAccountChunk(columns: AccountColumns, k: number, out?: Uint8Array): Uint8Array {
  const count = columns.count;
  const from = k * ACCOUNTS_PER_CHUNK;
  if (!Number.isInteger(k) || k < 0 || from >= count) throw new RangeError(`no account chunk ${k} of ${accountChunkCount(count)}`);
  const to = Math.min(count, from + ACCOUNTS_PER_CHUNK);
  const buf = out ?? new Uint8Array((to - from) * ACCOUNT_BYTES);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = from; i < to; i++) encodeAccountAt(columns, i, buf, dv, (i - from) * ACCOUNT_BYTES);
  return buf.subarray(0, (to - from) * ACCOUNT_BYTES);
}

/** Throws unless the manifest reproduces `trustedRoot` (the state root of a verified header at its height). */
export function verifyStateManifest(m: StateManifest, trustedRoot: Uint8Array): void {
  if (!Number.isSafeInteger(m.accountCount) || m.accountCount < 0 || m.accountCount > 2 ** 32 - 1) throw new StateChunkError(`bad account count ${m.accountCount}`);
  if (m.accountChunkRoots.length !== accountChunkCount(m.accountCount)) throw new StateChunkError(`${m.accountChunkRoots.length} chunk roots for ${m.accountCount} accounts`);
  if (m.accountChunkRoots.some((r) => r.length !== 32)) throw new StateChunkError("a chunk root is not 32 bytes");
  let rest;
  try {
    rest = State.deserializeToViewDU(m.rest);
  } catch (e) {
    throw new StateChunkError(`the rest of the state does not decode: ${(e as Error).message}`);
  }
  if (rest.accounts.length !== 0) throw new StateChunkError("the rest of the state lists accounts");
  const root = stateRoot(rest, accountsRootFromSubtrees(ACCOUNT_CHUNK_LEVEL, m.accountChunkRoots, m.accountCount));
  if (!bytesEqual(root, trustedRoot)) throw new StateChunkError(`the manifest gives state root ${toHex(root)}, the trusted header says ${toHex(trustedRoot)}`);
}

/** Whether `bytes` is chunk `k` of a (verified) manifest: its size and its subtree root. */
export function verifyAccountChunk(m: StateManifest, k: number, bytes: Uint8Array): boolean {
  const root = m.accountChunkRoots[k];
  if (!root) return false;
  const expected = Math.min(ACCOUNTS_PER_CHUNK, m.accountCount - k * ACCOUNTS_PER_CHUNK);
  if (bytes.length !== expected * ACCOUNT_BYTES) return false;
  return bytesEqual(accountChunkRoot(ACCOUNT_CHUNK_LEVEL, bytes), root);
}

/** The state of a verified manifest and its verified chunks (in order). The root is checked again. */
export function restoreState(m: StateManifest, chunks: readonly Uint8Array[], trustedRoot: Uint8Array): WorldState {
  verifyStateManifest(m, trustedRoot);
  if (chunks.length !== m.accountChunkRoots.length) throw new StateChunkError(`${chunks.length} chunks, the manifest has ${m.accountChunkRoots.length}`);
  const n = m.accountCount;
  const addresses = new Uint8Array(n * ADDRESS_BYTES);
  const balances = new BigUint64Array(n);
  const nonces = new BigUint64Array(n);
  chunks.forEach((bytes, k) => {
    if (!verifyAccountChunk(m, k, bytes)) throw new StateChunkError(`account chunk ${k} does not match its root`);
    for (let j = 0; j < bytes.length / ACCOUNT_BYTES; j++) {
      const a = Account.deserialize(bytes.subarray(j * ACCOUNT_BYTES, (j + 1) * ACCOUNT_BYTES));
      const i = k * ACCOUNTS_PER_CHUNK + j;
      addresses.set(a.address, i * ADDRESS_BYTES);
      balances[i] = a.balance;
      nonces[i] = a.nonce;
    }
  });
  let tree: AccountTree;
  try {
    tree = AccountTree.fromColumns({ count: n, addresses, balances, nonces });
  } catch (e) {
    throw new StateChunkError(`the accounts do not form a state: ${(e as Error).message}`);
  }
  const world = WorldState.fromParts(State.deserialize(m.rest), tree, m.height);
  if (!bytesEqual(world.root, trustedRoot)) throw new StateChunkError("the restored state does not give the trusted root");
  return world;
}
