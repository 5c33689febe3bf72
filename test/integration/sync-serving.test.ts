/**
 * Block sync against a peer we control over real libp2p on 127.0.0.1: a
 * `blocks_by_range` response is the blocks then the last one's commit, and
 * block h is proven by block h+1's lastCommit. A peer that serves a tampered
 * final commit or a range with a hole gets only what is provably finalized
 * imported, is penalised, and the node catches up once it serves the truth.
 */
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { genesisFileHash } from "../../node/chain/blockchain.ts";
import { protocolId, serve } from "../../node/network/reqresp.ts";
import { PouwNode } from "../../node/node.ts";
import { BlocksByRangeRequest, StatusMessage } from "../../node/sync/messages.ts";
import { Commit } from "../../node/types/block.ts";
import { bytesEqual } from "../../node/util/hex.ts";
import { ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";
import { signedTransfer } from "../helpers/tx.ts";

const HEIGHT = 40;
const net = makeTestNet({ label: "sync-serving", validators: 4, accounts: 4 });

type Mode = "honest" | "bad-final-commit" | "hole";

describe("blocks_by_range served by a peer we control", () => {
  let driver: ChainDriver;
  let peer: Awaited<ReturnType<typeof createGossipPeer>>;
  let mode: Mode = "bad-final-commit";
  const served: { start: number; count: number }[] = [];

  beforeAll(async () => {
    driver = await ChainDriver.open(net.genesisJson, net.validators);
    const nonces = net.accounts.map(() => 0n);
    for (let h = 1; h <= HEIGHT; h++) {
      const i = h % net.accounts.length;
      const tx = signedTransfer(net.accounts[i]!, { nonce: nonces[i]!++, to: net.accounts[(i + 1) % net.accounts.length]!.address, amount: 1n, chainId: net.chainId });
      await driver.next([tx.env]);
    }
    peer = await createGossipPeer();
    const chainId = net.chainId;
    const store = driver.chain.store;
    await serve(peer, protocolId(chainId, "status"), { maxResponseBytes: 1024, timeoutMs: 5000 }, async () => [
      StatusMessage.serialize({ height: HEIGHT, headHash: driver.chain.head.hash, genesisHash: genesisFileHash(net.genesisJson) }),
    ]);
    await serve(peer, protocolId(chainId, "blocks_by_range"), { maxResponseBytes: 4 << 20, timeoutMs: 5000 }, async (req) => {
      const r = BlocksByRangeRequest.deserialize(req);
      served.push({ start: r.startHeight, count: r.count });
      const last = Math.min(HEIGHT, r.startHeight + r.count - 1);
      const out: Uint8Array[] = [];
      for (let h = r.startHeight; h <= last; h++) {
        if (mode === "hole" && h === 12) continue;
        out.push((await store.getBlockBytes(h))!);
      }
      const commit = Commit.deserialize((await store.getCommitBytes(last))!);
      if (mode === "bad-final-commit") commit.signatures[0]!.signature = new Uint8Array(commit.signatures[0]!.signature).fill(7, 0, 32);
      out.push(Commit.serialize(commit));
      return out;
    });
  });

  afterAll(async () => {
    await peer?.stop();
  });

  async function syncingNode(): Promise<PouwNode> {
    const addr = peer.getMultiaddrs().find((a) => a.toString().includes("127.0.0.1"))!;
    const node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: null, rpc: null, verifierThreads: 1, network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [multiaddr(addr).toString()] } });
    await node.start();
    return node;
  }

  async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("imports the blocks proven by their successors' lastCommits, not the one with a bad final commit, then recovers", async () => {
    mode = "bad-final-commit";
    const node = await syncingNode();
    try {
      await until(() => served.length >= 2, 15_000, "two range requests");
      // Blocks 1..39 are each proven by the next block's lastCommit; block 40's only proof is the tampered commit.
      await until(() => node.chain.head.header.height === HEIGHT - 1, 15_000, "blocks 1..39");
      await new Promise((r) => setTimeout(r, 2500)); // more sync rounds: still no block 40
      expect(node.chain.head.header.height).toBe(HEIGHT - 1);
      expect(bytesEqual(node.chain.head.hash, blockHash((await driver.chain.store.getBlock(HEIGHT - 1))!.header))).toBe(true);
      // The commit stored for block 39 is block 40's lastCommit: a valid commit for it.
      const stored = await node.chain.store.getCommit(HEIGHT - 1);
      const b40 = await driver.chain.store.getBlock(HEIGHT);
      expect(Buffer.from(Commit.serialize(stored!)).equals(Buffer.from(Commit.serialize(b40!.body.lastCommit)))).toBe(true);
      mode = "honest";
      await until(() => node.chain.head.header.height === HEIGHT, 15_000, "block 40 from the honest responses");
      expect(bytesEqual(node.chain.head.hash, driver.chain.head.hash)).toBe(true);
      expect(bytesEqual(node.chain.world.root, driver.chain.world.root)).toBe(true);
    } finally {
      await node.close();
    }
  }, 60_000);

  it("a range with a hole: only the blocks before it that a following lastCommit proves are imported", async () => {
    mode = "hole";
    const node = await syncingNode();
    try {
      // Served 1..11, 13..: block 11's "commit" (block 13's lastCommit) is for block 12, so 1..10 are imported.
      await until(() => node.chain.head.header.height >= 10, 15_000, "blocks 1..10");
      await new Promise((r) => setTimeout(r, 2500));
      expect(node.chain.head.header.height).toBe(10);
      mode = "honest";
      await until(() => node.chain.head.header.height === HEIGHT, 15_000, "the rest from the honest responses");
      expect(bytesEqual(node.chain.head.hash, driver.chain.head.hash)).toBe(true);
    } finally {
      await node.close();
    }
  }, 60_000);
});
