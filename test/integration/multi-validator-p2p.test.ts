/**
 * Four validators in one process on real libp2p sockets (TCP on 127.0.0.1,
 * Noise, yamux, gossipsub): they finalize the same blocks, a transaction sent
 * to one is gossiped and finalized everywhere, and a hostile peer flooding
 * invalid votes is disconnected while the validators keep committing.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { topicNames } from "../../node/network/topics.ts";
import { PouwNode } from "../../node/node.ts";
import { Vote } from "../../node/types/block.ts";
import { toHex } from "../../node/util/hex.ts";
import { freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

const net = makeTestNet({ validators: 4, accounts: 4, label: "multi-p2p" });
const TIMEOUTS = { proposeMs: 1500, proposeDeltaMs: 500, prevoteMs: 500, prevoteDeltaMs: 250, precommitMs: 500, precommitDeltaMs: 250 };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("four validators on libp2p", { timeout: 120_000 }, () => {
  const nodes: PouwNode[] = [];
  const addrs: string[] = [];
  const height = (i: number) => nodes[i]!.chain.head.header.height;

  beforeAll(async () => {
    const keys = await Promise.all(net.validators.map(() => generateKeyPair("Ed25519")));
    const ports = await Promise.all(net.validators.map(() => freePort()));
    for (let i = 0; i < 4; i++) addrs.push(`/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${peerIdFromPrivateKey(keys[i]!).toString()}`);
    for (const [i, key] of net.validators.entries()) {
      nodes.push(
        await PouwNode.create({
          dataDir: null,
          genesisJson: net.genesisJson,
          validatorKey: key,
          rpc: null,
          blockTimeMs: 300,
          timeouts: TIMEOUTS,
          verifierThreads: 0,
          network: { listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`], bootstrap: addrs.filter((_, j) => j !== i), peerKey: keys[i]!.raw, maxInvalid: 10 },
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("finalizes the same blocks on every node", async () => {
    await until(() => nodes.every((_, i) => height(i) >= 6), 60_000, "height 6 everywhere");
    for (let h = 1; h <= 6; h++) {
      const hashes = await Promise.all(nodes.map((n) => n.chain.store.getBlock(h).then((b) => toHex(blockHash(b!.header)))));
      expect(new Set(hashes).size, `height ${h}`).toBe(1);
    }
    expect(nodes.every((n) => n.network!.peerCount >= 3)).toBe(true);
  });

  it("gossips a transaction from the node that received it and finalizes it everywhere", async () => {
    const [a, b] = net.accounts as [typeof net.accounts[0], typeof net.accounts[0]];
    await nodes[3]!.submitTransaction(signedTransfer(a, { nonce: 0n, to: b.address, amount: 4242n }).bytes);
    await until(() => nodes.slice(0, 3).some((n) => n.mempool.size > 0 || n.chain.world.getAccount(a.address)!.nonce === 1n), 10_000, "the tx to reach another node");
    await until(() => nodes.every((n) => n.chain.world.getAccount(a.address)!.nonce === 1n), 30_000, "the transfer on all nodes");
  });

  it("disconnects a peer that floods invalid votes, and keeps committing", async () => {
    const hostile = await createLibp2p({
      privateKey: await generateKeyPair("Ed25519"),
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
    });
    try {
      const topic = topicNames(net.chainId).vote;
      hostile.services.pubsub.subscribe(topic);
      await hostile.dial(multiaddr(addrs[0]!));
      await until(() => nodes[0]!.network!.peerCount >= 4, 10_000, "the hostile peer to connect");
      await new Promise((r) => setTimeout(r, 1500)); // mesh heartbeat
      const h0 = height(0);
      const garbage = [new Uint8Array(5).fill(7), Vote.serialize({ ...Vote.defaultValue(), height: h0 + 1, validator: net.validators[0]!.address })];
      for (let i = 0; i < 400 && hostile.getConnections().length > 0; i++) {
        const g = garbage[i % 2]!.slice();
        g[0] ^= i & 0xff; // distinct messages (gossip drops duplicates)
        await hostile.services.pubsub.publish(topic, g).catch(() => undefined);
      }
      await until(() => hostile.getConnections().length === 0, 20_000, "the hostile peer to be disconnected");
      expect(nodes[0]!.network!.isBanned(hostile.peerId.toString())).toBe(true);
      await until(() => nodes.every((_, i) => height(i) >= h0 + 2), 30_000, "commits after the flood");
    } finally {
      await hostile.stop();
    }
  });
});
