/**
 * The blob cache a block's execution reads (a challenge's start checkpoint),
 * over a real LevelDB blob store: what a block or batch needs is pinned by a
 * lease until it is released, so prefetches racing an import never evict
 * it; unpinned entries stay within the budget; a block whose blob nobody has
 * is reported as BLOCK_BLOB_UNAVAILABLE, not as an invalid block.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { BlockErrorCode, isBlobUnavailable } from "../../../node/chain/errors.ts";
import { sha256 } from "../../../node/crypto/hash.ts";
import { BlobStore } from "../../../node/db/blobs.ts";
import { openDb, type Level } from "../../../node/db/database.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { toHex } from "../../../node/util/hex.ts";
import { BlobCache } from "../../../node/work/blob-cache.ts";
import { buildChallengeChain, challengeNet, type ChallengeChain } from "../../helpers/challenge-chain.ts";

const CHALLENGES = 40;
const net = challengeNet("blob-cache");
let built: ChallengeChain;
const dirs: string[] = [];
const dbs: Level[] = [];

beforeAll(async () => {
  built = await buildChallengeChain(net, CHALLENGES, 2);
}, 60_000);

afterAll(async () => {
  await built?.driver.close();
  for (const db of dbs) await db.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh node's chain and blob store on one real LevelDB in a temp dir. */
async function freshNode(): Promise<{ chain: Blockchain; store: BlobStore }> {
  const dir = mkdtempSync(join(tmpdir(), "pouw-blob-cache-"));
  dirs.push(dir);
  const db = await openDb(join(dir, "data"));
  dbs.push(db);
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson), join(dir, "blocks"));
  return { chain, store: new BlobStore(db) };
}

/** The driven chain's blocks 1..head with their commits, as sync hands them to importBatch. */
async function range() {
  const out = [];
  for (let h = 1; h <= built.driver.height; h++) out.push({ block: (await built.driver.chain.store.getBlock(h))!, commit: (await built.driver.chain.store.getCommit(h))! });
  return out;
}

/** `n` blobs that no block needs (other challenges' checkpoints in the mempool, say). */
const others = (n: number, tag: number) => Array.from({ length: n }, (_, i) => new Uint8Array(4096).fill(tag).map((x, j) => (j < 4 ? (i >> (8 * j)) & 0xff : x)));

describe("BlobCache", () => {
  it("a batch needing 40 start checkpoints imports in full while prefetches of 100 other blobs race it (budget 32)", async () => {
    const { chain, store } = await freshNode();
    for (const b of built.blobs) await store.put(b);
    const flood = others(100, 1);
    for (const b of flood) await store.put(b);
    const cache = new BlobCache(store, null, { maxEntries: 32 });
    chain.ctx.blob = (id) => cache.get(id);
    const items = await range();

    // As the engine does for a sync batch: lease first, import, release after.
    const lease = await cache.forBlocks(items.map((i) => i.block));
    expect(lease.missing).toEqual([]);
    // The worst interleaving: a whole flood of prefetches lands between the lease and the import…
    await cache.prefetch(flood.slice(0, 50).map((b) => sha256(b)));
    // …and more run while importBatch awaits the disk between blocks.
    const racing = cache.prefetch(flood.slice(50).map((b) => sha256(b)));
    const res = await chain.importBatch(items, { now: Number.MAX_SAFE_INTEGER });
    await racing;
    expect(res.error).toBeUndefined();
    expect(res.imported).toBe(items.length);
    expect(chain.head.header.height).toBe(built.driver.height);
    expect(Buffer.from(chain.world.root).equals(Buffer.from(built.driver.chain.world.root))).toBe(true);

    // Pinned entries went over the budget; once released the cache is back within it.
    expect(cache.stats().pinned).toBe(CHALLENGES);
    lease.release();
    lease.release(); // idempotent
    expect(cache.stats()).toMatchObject({ pinned: 0, entries: 32 });
  });

  it("leases are reference-counted: a blob stays pinned until the last lease on it is released", async () => {
    const { store } = await freshNode();
    const [a, b] = others(2, 2) as [Uint8Array, Uint8Array];
    await store.put(a);
    await store.put(b);
    const cache = new BlobCache(store, null, { maxEntries: 4 });
    const l1 = await cache.acquire([sha256(a)]);
    const l2 = await cache.acquire([sha256(a), sha256(b), sha256(a)]);
    expect(cache.stats()).toEqual({ entries: 2, pinned: 2, bytes: a.length + b.length });
    const flood = others(20, 3);
    for (const x of flood) await store.put(x);
    await cache.prefetch(flood.map((x) => sha256(x)));
    l2.release();
    await cache.prefetch(flood.map((x) => sha256(x)));
    expect(toHex(cache.get(sha256(a))!)).toBe(toHex(a)); // l1 still holds it
    expect(cache.stats().pinned).toBe(1);
    l1.release();
    await cache.prefetch(flood.slice(0, 4).map((x) => sha256(x)));
    expect(cache.get(sha256(a))).toBeUndefined();
    expect(cache.stats().entries).toBe(4);
  });

  it("the bytes budget bounds unpinned entries too", async () => {
    const { store } = await freshNode();
    const flood = others(10, 4);
    for (const x of flood) await store.put(x);
    const cache = new BlobCache(store, null, { maxEntries: 100, maxBytes: 3 * 4096 });
    await cache.prefetch(flood.map((x) => sha256(x)));
    expect(cache.stats()).toEqual({ entries: 3, pinned: 0, bytes: 3 * 4096 });
    // The most recent ones stay.
    expect(toHex(cache.get(sha256(flood[9]!))!)).toBe(toHex(flood[9]!));
  });

  it("a blob neither the store nor a peer has: the lease names it, and the block needing it is unavailable, not invalid", async () => {
    const { chain, store } = await freshNode();
    // Segment 7's start checkpoint is nowhere; a peer that answers with other bytes does not count.
    const lost = built.blobs[7]!;
    for (const b of built.blobs) if (b !== lost) await store.put(b);
    let asked = 0;
    const cache = new BlobCache(store, async () => {
      asked++;
      return new Uint8Array(10);
    });
    chain.ctx.blob = (id) => cache.get(id);
    const items = await range();
    const lease = await cache.forBlocks(items.map((i) => i.block));
    expect(lease.missing.map(toHex)).toEqual([toHex(sha256(lost))]);
    expect(asked).toBe(1);
    const res = await chain.importBatch(items, { now: Number.MAX_SAFE_INTEGER });
    lease.release();
    expect(isBlobUnavailable(res.error)).toBe(true);
    expect((res.error as { code: string }).code).toBe(BlockErrorCode.BLOB_UNAVAILABLE);
    // The blocks before it are imported; the rest waits for the blob.
    expect(res.imported).toBe(built.challengeHeight - 1);
    await store.put(lost);
    const again = await cache.forBlocks(items.map((i) => i.block));
    const rest = await chain.importBatch(items, { now: Number.MAX_SAFE_INTEGER });
    again.release();
    expect(rest.error).toBeUndefined();
    expect(chain.head.header.height).toBe(built.driver.height);
  });
});
