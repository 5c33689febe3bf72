/**
 * State-sync chunks: a manifest reproduces the state root it was made at;
 * each account chunk checks on its own against its subtree root (a tampered
 * chunk is caught and the others still pass); a tampered manifest (a chunk
 * root, the count, the rest of the state) is refused against the trusted
 * root; the restored state has the same root, accounts and records.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { genesisStaking } from "../../../node/chain/staking.ts";
import { ACCOUNTS_PER_CHUNK, StateChunkError, accountChunk, makeStateManifest, restoreState, verifyAccountChunk, verifyStateManifest } from "../../../node/state/state-chunks.ts";
import { StateOverlay, WorldState, adoptSealed, addrKey } from "../../../node/state/world.ts";
import { DEFAULT_PARAMS } from "../../../node/types/params.ts";

const SEED = 20261203;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const staking = genesisStaking(
  [{ name: "v", address: new Uint8Array(20).fill(0xaa), publicKey: new Uint8Array(1312).fill(0xbb), anchorAddress: new Uint8Array(20).fill(1), power: 100n, commissionBps: 0 }],
  DEFAULT_PARAMS,
);
const addr = (n: number) => {
  const a = new Uint8Array(20);
  new DataView(a.buffer).setUint32(0, n + 1);
  return a;
};

/** A world of `n` genesis accounts after one block that changes a few and creates `created` more. */
function world(n: number, created: number): WorldState {
  const w = WorldState.fromGenesis(Array.from({ length: n }, (_, i) => ({ address: addr(i), balance: BigInt(1000 + i) })), staking);
  const o = new StateOverlay(w);
  for (let i = 0; i < Math.min(n, 5); i++) o.mutable(addrKey(addr(i * 997 % n)), addr(i * 997 % n)).nonce = 3n;
  for (let c = 0; c < created; c++) o.mutable(addrKey(addr(n + c)), addr(n + c)).balance = 1n;
  o.totals = { ...o.totals, supply: o.totals.supply + BigInt(created) };
  adoptSealed(w, o.seal());
  return w;
}

const chunksOf = (w: WorldState) => Array.from({ length: Math.ceil(w.accounts.count / ACCOUNTS_PER_CHUNK) }, (_, k) => accountChunk(w, k));

describe("state chunks", () => {
  it("property: a manifest and its chunks verify against the state root and restore the same state", () => {
    fc.assert(
      fc.property(fc.nat({ max: 9000 }), fc.nat({ max: 50 }), (n, created) => {
        const w = world(n, created);
        const m = makeStateManifest(w, 7);
        const root = w.root;
        expect(() => verifyStateManifest(m, root)).not.toThrow();
        const chunks = chunksOf(w);
        chunks.forEach((c, k) => expect(verifyAccountChunk(m, k, c)).toBe(true));
        const back = restoreState(m, chunks, root);
        expect(hex(back.root)).toBe(hex(root));
        expect(back.accounts.count).toBe(w.accounts.count);
        expect(back.getAccount(addr(n + created - 1))?.balance).toBe(w.getAccount(addr(n + created - 1))?.balance);
        expect(back.staking).toEqual(w.staking);
        expect(back.totals).toEqual(w.totals);
      }),
      { seed: SEED, numRuns: 12 },
    );
  });

  it("a tampered chunk fails its own check and the restore; the other chunks still pass", () => {
    const w = world(10_000, 3);
    const m = makeStateManifest(w, 1);
    const chunks = chunksOf(w);
    expect(chunks.length).toBe(3);
    for (const at of [0, 20, 28, chunks[1]!.length - 1]) {
      const bad = chunks[1]!.slice();
      bad[at] ^= 1;
      expect(verifyAccountChunk(m, 1, bad), `byte ${at}`).toBe(false);
      expect(verifyAccountChunk(m, 0, chunks[0]!)).toBe(true);
      expect(verifyAccountChunk(m, 2, chunks[2]!)).toBe(true);
      expect(() => restoreState(m, [chunks[0]!, bad, chunks[2]!], w.root)).toThrow(/chunk 1 does not match/);
    }
    // A chunk served for another index, a short one, one with an extra account.
    expect(verifyAccountChunk(m, 0, chunks[1]!)).toBe(false);
    expect(verifyAccountChunk(m, 1, chunks[1]!.subarray(36))).toBe(false);
    expect(verifyAccountChunk(m, 2, new Uint8Array([...chunks[2]!, ...chunks[2]!.subarray(0, 36)]))).toBe(false);
    expect(verifyAccountChunk(m, 3, chunks[2]!)).toBe(false);
  });

  it("a manifest with a wrong chunk root, count or rest of the state is refused against the trusted root", () => {
    const w = world(9000, 1);
    const m = makeStateManifest(w, 1);
    const root = w.root;
    const swapped = { ...m, accountChunkRoots: [m.accountChunkRoots[1]!, m.accountChunkRoots[0]!, m.accountChunkRoots[2]!] };
    expect(() => verifyStateManifest(swapped, root)).toThrow(StateChunkError);
    expect(() => verifyStateManifest({ ...m, accountCount: m.accountCount - 1 }, root)).toThrow(/state root/);
    expect(() => verifyStateManifest({ ...m, accountCount: m.accountCount + ACCOUNTS_PER_CHUNK }, root)).toThrow(/chunk roots for/);
    const rest = m.rest.slice();
    rest[rest.length - 1] ^= 1;
    expect(() => verifyStateManifest({ ...m, rest }, root)).toThrow(StateChunkError);
    expect(() => verifyStateManifest({ ...m, rest: m.rest.subarray(0, 10) }, root)).toThrow(/does not decode/);
    const other = world(9000, 2);
    expect(() => verifyStateManifest(makeStateManifest(other, 1), root)).toThrow(/trusted header says/);
  });
});
