/**
 * State sync over real libp2p on 127.0.0.1 into a real LevelDB home (issue
 * 14): three peers serve a chain (built by a ChainDriver with four
 * validators) and its state snapshots through the node's own serving code. A
 * fresh node given a trusted block restores the snapshot below it, fetching
 * chunks from several peers, block-syncs to the head and restarts from disk.
 * A peer that serves a tampered chunk, a manifest with a wrong state root, a
 * commit without quorum or a broken chain to the trusted block is dropped,
 * and the node still finishes from the honest ones.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { genesisFileHash } from "../../node/chain/blockchain.ts";
import { encodeAddress } from "../../node/crypto/address.ts";
import { sha256 } from "../../node/crypto/hash.ts";
import { PouwNode } from "../../node/node.ts";
import { StateSnapshots } from "../../node/sync/snapshot-store.ts";
import { StateSyncError } from "../../node/sync/state-sync.ts";
import { Block, Commit } from "../../node/types/block.ts";
import { bytesEqual } from "../../node/util/hex.ts";
import { capturingLogger } from "../../node/util/logger.ts";
import { ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createStatePeer, type StatePeerHooks } from "../helpers/state-peer.ts";
import { signedTransfer } from "../helpers/tx.ts";

const EVERY = 20;
const HEIGHT = 70; // snapshots at 20, 40, 60; the last two kept
const EXTRA = 10_000; // accounts without keys: three chunks of 4,096

function genesis() {
  const net = makeTestNet({ label: "state-sync", validators: 4, accounts: 4 });
  const json = JSON.parse(net.genesisJson) as { accounts: { address: string; balance: string }[] };
  for (let i = 0; i < EXTRA; i++) json.accounts.push({ address: encodeAddress(sha256(Uint8Array.of(i >> 16, (i >> 8) & 255, i & 255)).subarray(0, 20)), balance: String(1000 + i) });
  return { ...net, genesisJson: JSON.stringify(json) };
}

const net = genesis();
const genesisHash = genesisFileHash(net.genesisJson);
const dirs: string[] = [];
const tmp = (label: string) => {
  const d = mkdtempSync(join(tmpdir(), `pouw-state-sync-${label}-`));
  dirs.push(d);
  return d;
};

let driver: ChainDriver;
let snapshots: StateSnapshots;
type Peer = Awaited<ReturnType<typeof createStatePeer>>;
const peers: Peer[] = [];

beforeAll(async () => {
  const dir = tmp("source");
  driver = await ChainDriver.open(net.genesisJson, net.validators, { dbDir: join(dir, "data"), blocksDir: join(dir, "blocks") });
  snapshots = new StateSnapshots(join(dir, "sync"), { every: EVERY, keep: 2 });
  driver.chain.onAdopt((h, hash) => snapshots.due(h) && snapshots.capture(driver.chain.world, h, hash));
  const nonces = net.accounts.map(() => 0n);
  for (let h = 1; h <= HEIGHT; h++) {
    // Transfers between the keyed accounts and to new ones: the state changes every block.
    const txs = net.accounts.map((k, i) => signedTransfer(k, { nonce: nonces[i]!++, to: i === 0 ? sha256(Uint8Array.of(9, h)).subarray(0, 20) : net.accounts[(i + 1) % 4]!.address, amount: BigInt(h), chainId: net.chainId }).env);
    await driver.next(txs);
    await snapshots.idle();
  }
  expect(snapshots.list().map((s) => s.height)).toEqual([60, 40]);
}, 120_000);

afterAll(async () => {
  for (const p of peers) await p.stop();
  await driver?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function peer(hooks: StatePeerHooks = {}): Promise<Peer> {
  const p = await createStatePeer(driver.chain, genesisHash, snapshots, hooks);
  peers.push(p);
  return p;
}

async function headHash(height: number): Promise<Uint8Array> {
  return blockHash((await driver.chain.store.getBlock(height))!.header);
}

async function syncingNode(home: string, bootstrap: Peer[], trust: { height: number; hash: Uint8Array } | null) {
  const { logger, lines } = capturingLogger("info");
  const node = await PouwNode.create({
    dataDir: home,
    genesisJson: net.genesisJson,
    validatorKey: null,
    rpc: null,
    verifierThreads: 1,
    logger,
    metrics: true,
    network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: bootstrap.map((p) => p.address), addressBook: null },
    stateSync: trust ? { trust: { ...trust, source: "test" }, opts: { settleMs: 1500, timeoutMs: 30_000 } } : null,
    stateSnapshots: { every: EVERY, keep: 2 },
  });
  return { node, lines };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dropsOf = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === "State sync: dropped a peer that served bad data");

describe("state sync from peers", () => {
  it("restores the snapshot below the trusted block from several peers, block-syncs to the head and restarts from disk", async () => {
    const honest = [await peer(), await peer(), await peer()];
    const home = tmp("join");
    const T = 65;
    const { node, lines } = await syncingNode(home, honest, { height: T, hash: await headHash(T) });
    try {
      // The newest snapshot at or below 65 is 60; nothing below 61 is held.
      expect(node.chain.accountsSource).toBe("state-sync");
      expect(node.chain.head.header.height).toBe(60);
      expect(node.chain.store.floor).toBe(61);
      const restored = lines.find((l) => l.msg === "State sync: restored the state of the snapshot; block sync takes it to the head")!;
      expect(restored.peers).toBeGreaterThanOrEqual(2); // chunks came from more than one peer
      expect(dropsOf(lines)).toHaveLength(0);
      await node.start();
      await until(() => node.chain.head.header.height === HEIGHT, 20_000, "block sync to the head");
      expect(bytesEqual(node.chain.head.hash, driver.chain.head.hash)).toBe(true);
      expect(bytesEqual(node.chain.world.root, driver.chain.world.root)).toBe(true);
      expect(node.chain.world.accounts.count).toBe(driver.chain.world.accounts.count);
      const metrics = await node.metrics!.registry.metrics();
      expect(metrics).toMatch(/pouw_state_sync_snapshot_height 60/);
      expect(metrics).toMatch(/pouw_state_sync_chunks_total\{result="ok"\} 3/);
    } finally {
      await node.close();
    }
    // A restart opens the home like any other: no state sync, the same head and root.
    const again = await syncingNode(home, honest, null);
    try {
      expect(again.node.chain.head.header.height).toBe(HEIGHT);
      expect(bytesEqual(again.node.chain.world.root, driver.chain.world.root)).toBe(true);
    } finally {
      await again.node.close();
    }
  }, 90_000);

  it("a peer that tampers with chunks is dropped and the chunks are fetched from the others", async () => {
    const liar = await peer({ chunk: (_h, _i, bytes) => Uint8Array.from(bytes, (b, j) => (j === 40 ? b ^ 1 : b)) });
    const honest = [await peer(), await peer()];
    const { node, lines } = await syncingNode(tmp("tamper"), [liar, ...honest], { height: 60, hash: await headHash(60) });
    try {
      expect(node.chain.head.header.height).toBe(60);
      expect(bytesEqual(node.chain.world.root, (await driver.chain.store.getBlock(60))!.header.stateRoot)).toBe(true);
      // Three chunks and a worker per peer taking turns: the liar served one, which did not match its root.
      const drops = dropsOf(lines);
      expect(drops.map((d) => d.peer)).toEqual([liar.id]);
      expect(String(drops[0]!.why)).toMatch(/state chunk \d of height 60 does not match its root/);
      expect(await node.metrics!.registry.metrics()).toMatch(/pouw_state_sync_chunks_total\{result="bad"\} [1-9]/);
    } finally {
      await node.close();
    }
  }, 60_000);

  it("a manifest that does not give the trusted state root is refused; the honest peers' is used", async () => {
    let liarAsked = false;
    // The honest peers hold back their manifest until the liar has been asked, so the liar is always tried.
    const gate = { manifest: (m: { head: Uint8Array; rest: Uint8Array }) => (liarAsked ? m : null) };
    const liar = await peer({
      manifest: (m) => {
        liarAsked = true;
        const rest = new Uint8Array(m.rest);
        rest[rest.length - 1]! ^= 1;
        return { head: m.head, rest };
      },
    });
    const honest = [await peer(gate), await peer(gate)];
    const { node, lines } = await syncingNode(tmp("manifest"), [liar, ...honest], { height: 60, hash: await headHash(60) });
    try {
      expect(liarAsked).toBe(true);
      expect(node.chain.head.header.height).toBe(60);
      const drops = dropsOf(lines);
      expect(drops.map((d) => d.peer)).toEqual([liar.id]);
      expect(String(drops[0]!.why)).toMatch(/bad state manifest/);
    } finally {
      await node.close();
    }
  }, 60_000);

  it("a commit for the snapshot block without a quorum is refused; an honest peer's is used", async () => {
    let liarAsked = false;
    const stripped = (out: Uint8Array[]) => {
      const c = Commit.deserialize(out[out.length - 1]!);
      c.signatures = c.signatures.slice(0, 2); // 2 of 4 equal powers: not more than 2/3
      return [...out.slice(0, -1), Commit.serialize(c)];
    };
    // Trust block 60 itself: its commit comes alone (no successor's lastCommit covers it).
    const liar = await peer({
      range: (start, out) => {
        if (start !== 60) return out;
        liarAsked = true;
        return stripped(out);
      },
    });
    const gate = { range: (start: number, out: Uint8Array[]) => (start === 60 && !liarAsked ? stripped(out) : out) };
    const honest = [await peer(gate), await peer(gate)];
    const { node, lines } = await syncingNode(tmp("commit"), [liar, ...honest], { height: 60, hash: await headHash(60) });
    try {
      expect(liarAsked).toBe(true);
      expect(node.chain.head.header.height).toBe(60);
      const stored = await node.chain.store.getCommit(60);
      expect(stored!.signatures.length).toBeGreaterThanOrEqual(3);
      expect(dropsOf(lines).some((d) => String(d.why).includes("without a quorum"))).toBe(true);
    } finally {
      await node.close();
    }
  }, 60_000);

  it("a peer whose blocks do not lead to the trusted block is dropped; a trusted height below every snapshot is one clear error", async () => {
    let liarAsked = false;
    const liar = await peer({
      range: (start, out) => {
        liarAsked = true;
        // Another block 61 in place of the real one (a later time): block 62 does not name it, the hash chain breaks.
        const i = 61 - start;
        if (i < 0 || i >= out.length - 1) return out;
        const b = Block.deserialize(out[i]!);
        b.header.time += 1;
        return [...out.slice(0, i), Block.serialize(b), ...out.slice(i + 1)];
      },
    });
    const gate = { range: (_start: number, out: Uint8Array[]) => (liarAsked ? out : []) };
    const honest = [await peer(gate), await peer(gate)];
    const { node, lines } = await syncingNode(tmp("chain"), [liar, ...honest], { height: 65, hash: await headHash(65) });
    try {
      expect(node.chain.head.header.height).toBe(60);
      expect(dropsOf(lines).map((d) => d.peer)).toContain(liar.id);
    } finally {
      await node.close();
    }
    const err = await syncingNode(tmp("too-old"), [honest[0]!], { height: 30, hash: await headHash(30) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StateSyncError);
    expect((err as StateSyncError).code).toBe("TRUST_TOO_OLD");
    expect((err as Error).message).toMatch(/trusted height 30 is below every snapshot peers serve \(the oldest is 40\)/);
  }, 90_000);

  it("a trusted hash no peer has (a typo) is one clear error naming the hash the peers agree on; the peers are not penalised", async () => {
    const honest = [await peer(), await peer()];
    const wrong = new Uint8Array(await headHash(65));
    wrong[0]! ^= 1;
    const { logger, lines } = capturingLogger("info");
    const err = await PouwNode.create({
      dataDir: tmp("typo"),
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      verifierThreads: 1,
      logger,
      network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: honest.map((p) => p.address), addressBook: null },
      stateSync: { trust: { height: 65, hash: wrong, source: "test" }, opts: { settleMs: 1500, timeoutMs: 30_000 } },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StateSyncError);
    expect((err as StateSyncError).code).toBe("TRUST_MISMATCH");
    const real = Buffer.from(await headHash(65)).toString("hex");
    expect((err as Error).message).toContain(`they have 0x${real} (2 peers)`);
    expect(dropsOf(lines)).toHaveLength(0);
  }, 60_000);
});
