/**
 * Sync of a range whose one block carries 40 challenges with 40 distinct
 * start checkpoints, between two real nodes over libp2p on 127.0.0.1: the
 * fresh node fetches the checkpoints from its peer, holds them (pinned)
 * until the batch is imported, imports the whole range and never holds the
 * honest peer at fault; a checkpoint no peer can serve yet holds the import
 * at that block, without blaming the peer, until it can be. (The blob cache used to keep 32 entries and the
 * block could never be imported: the peer was penalised and sync stalled.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../node/node.ts";
import { capturingLogger } from "../../node/util/logger.ts";
import { toHex } from "../../node/util/hex.ts";
import { sha256 } from "../../node/crypto/hash.ts";
import { Bucket, bucketKey } from "../../node/db/database.ts";
import { buildChallengeChain, challengeNet, type ChallengeChain } from "../helpers/challenge-chain.ts";
import { freshSyncingNode } from "../helpers/sync-peer.ts";
import { until } from "../helpers/until.ts";

const CHALLENGES = 40;
const net = challengeNet("sync-challenges");

describe("sync of a range with 40 distinct challenge start checkpoints", () => {
  let built: ChallengeChain;
  let server: PouwNode;

  beforeAll(async () => {
    built = await buildChallengeChain(net, CHALLENGES, 3);
    // The serving node: it holds the checkpoints (it got them when the proof was posted) and imported the chain.
    server = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: null, rpc: null, verifierThreads: 1, network: { listen: ["/ip4/127.0.0.1/tcp/0"] } });
    for (const b of built.blobs) await server.blobs.put(b);
    const items = [];
    for (let h = 1; h <= built.driver.height; h++) items.push({ block: (await built.driver.chain.store.getBlock(h))!, commit: (await built.driver.chain.store.getCommit(h))! });
    expect(await server.consensus!.importBlocks(items)).toBe(items.length);
    await server.start();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await built?.driver.close();
  });

  it("imports in full on a fresh node, fetching the checkpoints from the peer, with no peer penalised", async () => {
    const { logger, lines } = capturingLogger("info");
    const node = await freshSyncingNode(net.genesisJson, server, logger);
    try {
      await node.start();
      await until(() => node.chain.head.header.height, (h) => h === built.driver.height, 60_000, `height ${built.driver.height}`);
      expect(toHex(node.chain.head.hash)).toBe(toHex(built.driver.chain.head.hash));
      expect(toHex(node.chain.world.root)).toBe(toHex(built.driver.chain.world.root));
      // The checkpoints came from the peer and are kept in the blob store.
      for (const b of built.blobs.slice(0, CHALLENGES)) expect(await node.blobs.get(sha256(b))).toBeDefined();
      const complaints = lines.filter((l) => /invalid block|Disconnecting a peer|needs a blob/.test(String(l.msg)));
      expect(complaints, JSON.stringify(complaints)).toEqual([]);
    } finally {
      await node.close();
    }
  }, 90_000);

  it("a checkpoint no peer can serve: the blocks before it import, the peer is not penalised, and the rest follows once it can be served", async () => {
    const lost = built.blobs[7]!;
    await server.db.del(bucketKey(Bucket.blob, sha256(lost)));
    const { logger, lines } = capturingLogger("info");
    const node = await freshSyncingNode(net.genesisJson, server, logger);
    try {
      await node.start();
      const waits = () => lines.filter((l) => /needs a blob no peer could serve/.test(String(l.msg)));
      await until(() => waits().length, (n) => n >= 3, 30_000, "three sync rounds that wait for the blob");
      expect(node.chain.head.header.height).toBe(built.challengeHeight - 1);
      expect(node.network!.peerCount).toBe(1);
      await server.blobs.put(lost);
      await until(() => node.chain.head.header.height, (h) => h === built.driver.height, 30_000, `height ${built.driver.height}`);
      expect(toHex(node.chain.world.root)).toBe(toHex(built.driver.chain.world.root));
      const complaints = lines.filter((l) => /invalid block|Disconnecting a peer/.test(String(l.msg)));
      expect(complaints, JSON.stringify(complaints)).toEqual([]);
    } finally {
      await node.close();
    }
  }, 90_000);
});
