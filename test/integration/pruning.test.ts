/**
 * Bounded history, short form (decision 0010): a validator on disk keeping
 * the last 50 blocks runs 300 blocks with a transfer in each; its block files
 * and index stay flat after the window; it serves blocks_by_range for its
 * retained range over real libp2p, answers an empty range below it and says
 * its lowest retained height on the history protocol; pouw_getBlock of a
 * pruned height is BLOCK_PRUNED with that height. An archive follower keeps
 * everything and serves old blocks; a fresh node syncs the whole chain with
 * the archive node and the pruned one both as its peers. A job posted every
 * 10 blocks (left to expire) leaves the live state 20 blocks after it ended,
 * and old checkpoints after 2 epochs, so the state's lists stay as short as
 * what is in flight.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { protocolId, request } from "../../node/network/reqresp.ts";
import { PouwNode } from "../../node/node.ts";
import { methods } from "../../node/rpc/methods.ts";
import { BlocksByRangeRequest, HistoryMessage, historyProtocolId } from "../../node/sync/messages.ts";
import { Block } from "../../node/types/block.ts";
import { freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";
import { smallJobSpec } from "../helpers/job-spec.ts";
import { body, signedTransfer, signedTx } from "../helpers/tx.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { toHex } from "../../node/util/hex.ts";

const KEEP = 50;
const HEIGHT = 300;
const JOB_RETENTION = 20;
const data = syntheticDataset({ seed: "pruning-e2e", features: 8, classes: 3, train: 64, validation: 16 });
const net = makeTestNet({
  label: "pruning-e2e",
  accounts: 2,
  params: { epochLength: 20, signedBlocksWindow: 10, attestationDeadline: 4, challengeWindow: 2, jobRetentionBlocks: JOB_RETENTION, settlementRetentionEpochs: 2 },
  datasets: [{ name: data.name, id: toHex(data.id), features: 8, classes: 3, train: 64, validation: 16 }],
});
const [alice, bob] = net.accounts as [NonNullable<(typeof net.accounts)[0]>, NonNullable<(typeof net.accounts)[0]>];

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dirBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((s, e) => s + (e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);

describe("pruning (retention 50 over 300 blocks)", { timeout: 240_000 }, () => {
  let home: string;
  let validator: PouwNode;
  let archive: PouwNode;
  let vAddr: string;
  let aAddr: string;
  const sizes = new Map<number, { blocks: number; files: number }>();
  /** Job slots in the live state (and live jobs) by height, and jobs posted. */
  const jobSlots = new Map<number, { slots: number; live: number }>();
  let jobsPosted = 0;
  const jobIds: Uint8Array[] = [];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "pouw-pruning-e2e-"));
    const vKey = await generateKeyPair("Ed25519");
    const aKey = await generateKeyPair("Ed25519");
    const [vPort, aPort] = [await freePort(), await freePort()];
    vAddr = `/ip4/127.0.0.1/tcp/${vPort}/p2p/${peerIdFromPrivateKey(vKey).toString()}`;
    aAddr = `/ip4/127.0.0.1/tcp/${aPort}/p2p/${peerIdFromPrivateKey(aKey).toString()}`;
    validator = await PouwNode.create({
      dataDir: home,
      genesisJson: net.genesisJson,
      validatorKey: net.validator,
      rpc: null,
      blockTimeMs: 30,
      verifierThreads: 0,
      pruning: { keep: KEEP },
      blockFileBytes: 64 * 1024,
      network: { listen: [`/ip4/127.0.0.1/tcp/${vPort}`], peerKey: vKey.raw },
    });
    archive = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      verifierThreads: 0,
      network: { listen: [`/ip4/127.0.0.1/tcp/${aPort}`], peerKey: aKey.raw, bootstrap: [vAddr] },
    });
    // One transfer per block: each block has a receipt and a tx-index entry to prune.
    let nonce = 0n;
    validator.onCommit(() => {
      if ((validator.chain.world.getAccount(alice.address)?.nonce ?? 0n) !== nonce) return;
      const tx = signedTransfer(alice, { chainId: net.chainId, nonce, to: bob.address, amount: 1n });
      nonce++;
      validator.submitTransaction(tx.bytes).catch(() => nonce--);
    });
    // A job every 10 blocks from bob, left to expire 5 blocks later.
    let jobNonce = 0n;
    validator.onCommit((c) => {
      const h = c.block.header.height;
      if (h % 10 !== 0 || (validator.chain.world.getAccount(bob.address)?.nonce ?? 0n) !== jobNonce) return;
      const tx = signedTx(bob, { chainId: net.chainId, nonce: jobNonce, body: body.createJob(smallJobSpec(data.id, { deadline: h + 5 }), 10n, 1n), gasLimit: 1_000_000 });
      jobNonce++;
      validator.submitTransaction(tx.bytes).then(
        () => {
          jobsPosted++;
          jobIds.push(tx.env.hash);
        },
        () => jobNonce--,
      );
    });
    validator.onCommit((c) => {
      const h = c.block.header.height;
      if (h % 50 === 0) sizes.set(h, { blocks: dirBytes(join(home, "blocks")), files: readdirSync(join(home, "blocks")).length });
      if (h % 10 === 0) jobSlots.set(h, { slots: validator.chain.world.jobs.length, live: validator.chain.world.jobIndex.size });
    });
    await validator.start();
    await archive.start();
    await until(() => validator.chain.head.header.height >= HEIGHT, 200_000, `${HEIGHT} blocks`);
    await until(() => archive.chain.head.header.height >= HEIGHT, 60_000, "the archive follower");
  });

  afterAll(async () => {
    await archive?.close();
    await validator?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("keeps the last 50 blocks and its block files flat after the window", async () => {
    const store = validator.chain.store;
    const head = validator.chain.head.header.height;
    await until(() => store.floor >= Math.min(head - KEEP + 1, validator.chain.world.checkpoints.at(-1)!.height), 10_000, "the pruner to catch up");
    expect(store.floor).toBeGreaterThan(HEIGHT - KEEP - 30);
    expect(await store.getBlockBytes(store.floor - 1)).toBeUndefined();
    expect(await store.getBlockBytes(store.floor)).toBeDefined();
    const transfers = [...sizes.entries()].sort((a, b) => a[0] - b[0]);
    const at100 = transfers.find(([h]) => h === 100)![1];
    const at300 = transfers.find(([h]) => h === 300)![1];
    console.log("block files by height (bytes, files):", JSON.stringify(transfers));
    // Flat: 200 blocks later the pruned node's block files are no bigger than one more segment.
    expect(at300.blocks).toBeLessThanOrEqual(at100.blocks + 64 * 1024);
    expect(at300.files).toBeLessThanOrEqual(at100.files + 1);
  });

  it("keeps the state's job list as short as the jobs in flight: ended jobs leave and their slots are reused", () => {
    const w = validator.chain.world;
    console.log("job slots (slots, live) by height:", JSON.stringify([...jobSlots.entries()].filter(([h]) => h % 50 === 0)));
    // A job lives 5 blocks to its deadline and R more: at most (5 + 1 + R) / 10 + 1 at once, however many were posted.
    const bound = Math.floor((5 + 1 + JOB_RETENTION) / 10) + 1;
    expect(jobsPosted).toBeGreaterThanOrEqual(20);
    expect(w.jobs.length).toBeLessThanOrEqual(bound);
    expect(Math.max(...[...jobSlots.values()].map((x) => x.slots))).toBeLessThanOrEqual(bound);
    expect(w.checkpoints.length).toBeLessThanOrEqual(2);
  });

  it("answers for a job that left the live state from its archive, on the validator and on the archive follower", async () => {
    for (const node of [validator, archive]) {
      expect(node.chain.world.jobIndex.has(toHex(jobIds[0]!).slice(2))).toBe(false);
      expect(node.chain.world.jobs.length).toBeLessThanOrEqual(3);
      expect(await methods.pouw_getJob!(node, [toHex(jobIds[0]!)])).toMatchObject({ id: toHex(jobIds[0]!), status: "expired", archived: true });
    }
  });

  it("answers BLOCK_PRUNED below its window and serves the rest; the archive node serves old blocks", async () => {
    const floor = validator.chain.store.floor;
    // The validator keeps producing blocks, so its floor keeps moving up: compare with the floor read before.
    const e = await Promise.resolve(methods.pouw_getBlock(validator, [1])).catch((x: unknown) => x as { code: string; context: { height: number; lowestRetainedHeight: number } });
    expect(e).toMatchObject({ code: "BLOCK_PRUNED", context: { height: 1 } });
    expect((e as { context: { lowestRetainedHeight: number } }).context.lowestRetainedHeight).toBeGreaterThanOrEqual(floor);
    await expect(methods.pouw_getBlock(validator, [floor - 1])).rejects.toMatchObject({ code: "BLOCK_PRUNED" });
    expect(await methods.pouw_getBlock(validator, [validator.chain.head.header.height - 5])).toBeDefined();
    expect(await methods.pouw_getBlock(archive, [1])).toBeDefined();
    expect(archive.chain.store.floor).toBe(1);
    expect((methods.pouw_chainInfo(archive, []) as { lowestRetainedHeight: number }).lowestRetainedHeight).toBe(0);
    expect((methods.pouw_chainInfo(validator, []) as { lowestRetainedHeight: number }).lowestRetainedHeight).toBeGreaterThanOrEqual(floor);
  });

  it("serves blocks_by_range for its retained range, an empty one below it, and says its lowest height", async () => {
    const peer = await createGossipPeer();
    try {
      await peer.dial(multiaddr(vAddr));
      const vId = vAddr.split("/p2p/")[1]!;
      const floor = validator.chain.store.floor;
      const opts = { maxResponseBytes: 4 << 20, timeoutMs: 10_000 };
      const [hist] = await request(peer, vId, historyProtocolId(net.chainId), new Uint8Array(0), opts);
      const lowest = HistoryMessage.deserialize(hist!).lowestHeight;
      expect(lowest).toBeGreaterThanOrEqual(floor);
      expect(lowest).toBeLessThanOrEqual(validator.chain.store.floor);
      const range = (startHeight: number, count: number) => request(peer, vId, protocolId(net.chainId, "blocks_by_range"), BlocksByRangeRequest.serialize({ startHeight, count }), opts);
      const start = validator.chain.store.floor + 10; // well inside the window, which moves on as we ask
      const got = await range(start, 10);
      expect(got.length).toBe(11);
      expect(Block.deserialize(got[0]!).header.height).toBe(start);
      expect(await range(1, 10)).toEqual([]);
    } finally {
      await peer.stop();
    }
  });

  it("a fresh node syncs the whole chain from the archive node and the pruned one", async () => {
    const fresh = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: null, rpc: null, verifierThreads: 0, network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [vAddr, aAddr] } });
    try {
      await fresh.start();
      await until(() => fresh.chain.head.header.height >= HEIGHT, 90_000, "the fresh node to sync");
      const h = fresh.chain.head.header.height;
      expect(fresh.chain.head.hash).toEqual(blockHash((await validator.chain.store.getBlock(h))!.header));
      // Blocks the pruned validator no longer has came from the archive node.
      expect(validator.chain.store.isPruned(1)).toBe(true);
      expect((await fresh.chain.store.getBlock(1))?.header.height).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
