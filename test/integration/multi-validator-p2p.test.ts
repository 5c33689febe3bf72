/**
 * Four validators in one process on real libp2p sockets (TCP on 127.0.0.1,
 * Noise, yamux, gossipsub): they finalize the same blocks, a transaction sent
 * to one is gossiped and finalized everywhere, and a hostile peer flooding
 * invalid votes is disconnected while the validators keep committing.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { topicNames } from "../../node/network/topics.ts";
import { PouwNode } from "../../node/node.ts";
import { Vote, VoteType } from "../../node/types/block.ts";
import { voteSigningMessage } from "../../node/chain/commit.ts";
import { AccountKey } from "../../node/crypto/keys.ts";
import { fromHex, toHex } from "../../node/util/hex.ts";
import { AnchorKey } from "../../node/crypto/anchor-key.ts";
import { checkpointDigest, hasQuorum, recoverSigner, signDigest } from "../../node/anchor/checkpoint.ts";
import { AnchorSignatureMessage } from "../../node/types/settlement.ts";
import { freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";
import { signedTransfer } from "../helpers/tx.ts";

const net = makeTestNet({ validators: 4, accounts: 4, label: "multi-p2p", params: { epochLength: 5 } });
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
          network: { listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`], bootstrap: addrs.filter((_, j) => j !== i), peerKey: keys[i]!.raw, maxInvalid: 20 },
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

  it("each validator signs every epoch's checkpoint with its anchor key and gathers the others' signatures over gossip", async () => {
    await until(() => nodes.every((n) => n.checkpoints.lastEpoch >= 1), 60_000, "epoch 1 to finish everywhere");
    const full = async () => (await Promise.all(nodes.map((n) => n.checkpoints.get(1)))).every((c) => c!.signatures.every((x) => x !== null));
    const end = Date.now() + 20_000;
    while (!(await full())) {
      if (Date.now() > end) throw new Error("timed out waiting for four anchor signatures on every node");
      await new Promise((r) => setTimeout(r, 50));
    }
    const c = (await nodes[0]!.checkpoints.get(1))!;
    const digest = checkpointDigest(c.checkpoint);
    // The members are the validators' anchor keys; each signature recovers to its member.
    expect(c.members.map((m) => m.address).sort()).toEqual(net.validators.map((k) => AnchorKey.fromSeed(k.seed).address).sort());
    for (const [i, m] of c.members.entries()) expect(await recoverSigner(digest, c.signatures[i]!)).toBe(m.address);
    expect(c.checkpoint.blockHash).toBe(toHex(blockHash((await nodes[2]!.chain.store.getBlock(5))!.header)));
    expect(hasQuorum(c)).toBe(true);
    // Gossip verdicts: garbage and a stranger's signature are rejected (count against the peer), a known one is ignored.
    const book = nodes[1]!.checkpoints;
    expect(await book.onGossip(new Uint8Array([1, 2, 3]))).toBe("reject");
    const stranger = await signDigest(digest, AnchorKey.fromSeed(new Uint8Array(32).fill(7)).privateKey);
    expect(await book.onGossip(AnchorSignatureMessage.serialize({ epoch: 1, signature: fromHex(stranger) }))).toBe("reject");
    expect(await book.onGossip(AnchorSignatureMessage.serialize({ epoch: 1, signature: fromHex(c.signatures[0]!) }))).toBe("ignore");
    expect(await book.onGossip(AnchorSignatureMessage.serialize({ epoch: 999, signature: fromHex(c.signatures[0]!) }))).toBe("ignore");
  });

  it("gossips a transaction from the node that received it and finalizes it everywhere", async () => {
    const [a, b] = net.accounts as [typeof net.accounts[0], typeof net.accounts[0]];
    await nodes[3]!.submitTransaction(signedTransfer(a, { nonce: 0n, to: b.address, amount: 4242n }).bytes);
    await until(() => nodes.slice(0, 3).some((n) => n.mempool.size > 0 || n.chain.world.getAccount(a.address)!.nonce === 1n), 10_000, "the tx to reach another node");
    await until(() => nodes.every((n) => n.chain.world.getAccount(a.address)!.nonce === 1n), 30_000, "the transfer on all nodes");
  });

  it("rejects each kind of bad gossip, disconnects a peer that floods 10,000 invalid messages, and keeps committing", async () => {
    const hostile = await createGossipPeer();
    try {
      const topics = topicNames(net.chainId);
      for (const t of Object.values(topics)) hostile.services.pubsub.subscribe(t);
      await hostile.dial(multiaddr(addrs[0]!));
      await until(() => nodes[0]!.network!.peerCount >= 4, 10_000, "the hostile peer to connect");
      // Publish only once node 0's subscriptions reached the hostile peer (under load this takes a heartbeat or more).
      const node0 = nodes[0]!.network!.peerId;
      await until(() => Object.values(topics).every((t) => hostile.services.pubsub.getSubscribers(t).some((p) => p.toString() === node0)), 20_000, "node 0's subscriptions");
      await new Promise((r) => setTimeout(r, 1500)); // mesh heartbeat
      const target = nodes[0]!.network!;
      const count = (kind: string, v: "accept" | "reject" | "ignore") => target.verdicts.get(kind)?.[v] ?? 0;
      const before = { voteReject: count("vote", "reject"), voteIgnore: count("vote", "ignore"), txReject: count("tx", "reject"), proposalReject: count("proposal", "reject") };
      const h0 = height(0);
      const stranger = AccountKey.fromLabel("multi-p2p/stranger");
      const v0 = net.validators[0]!;
      const chainId = new TextEncoder().encode(net.chainId);
      // Votes for the height node 0 is deciding (one that has passed by the time they arrive is only ignored).
      const forHeight = (h: number): [string, Uint8Array][] => {
        const vote = (over: Partial<ReturnType<typeof Vote.defaultValue>>) => Vote.serialize({ ...Vote.defaultValue(), type: VoteType.Prevote, height: h, validator: v0.address, ...over });
        return [
          [topics.vote, vote({ signature: new Uint8Array(2420).fill(3) })], // bad signature
          [topics.vote, vote({ validator: stranger.address, signature: stranger.sign(voteSigningMessage(chainId, VoteType.Prevote, h, 0, new Uint8Array(32))) })], // not a validator
          [topics.vote, vote({ signature: v0.sign(voteSigningMessage(new TextEncoder().encode("other-chain"), VoteType.Prevote, h, 0, new Uint8Array(32))) })], // wrong chain id
        ];
      };
      const bad: [string, Uint8Array][] = [
        [topics.vote, new Uint8Array([1, 2, 3])], // malformed SSZ
        [topics.proposal, new Uint8Array(100).fill(9)], // malformed SSZ
        [topics.tx, new Uint8Array(50).fill(1)], // malformed SSZ
        [topics.vote, new Uint8Array(100_000)], // oversized for the vote topic
        ...forHeight(h0 + 1),
        [topics.tx, signedTransfer(net.accounts[0]!, { chainId: "other-chain", nonce: 0n, to: net.accounts[1]!.address, amount: 1n }).bytes], // wrong chain id
        [topics.vote, Vote.serialize({ ...Vote.defaultValue(), type: VoteType.Prevote, height: h0 + 1000, validator: v0.address, signature: v0.sign(voteSigningMessage(chainId, VoteType.Prevote, h0 + 1000, 0, new Uint8Array(32))) })], // far future
      ];
      for (const [t, data] of bad) await hostile.services.pubsub.publish(t, data).catch(() => undefined);
      const allRejected = () => count("vote", "reject") >= before.voteReject + 5 && count("tx", "reject") >= before.txReject + 2 && count("proposal", "reject") >= before.proposalReject + 1;
      // Under load node 0 may commit h0 + 1 before it gets to them: then they are sent again for its new height (twice at most).
      for (let retry = 0; retry < 2 && !(await until(allRejected, 10_000, "").then(() => true, () => false)); retry++) {
        for (const [t, data] of forHeight(height(0) + 1)) await hostile.services.pubsub.publish(t, data).catch(() => undefined);
      }
      await until(allRejected, 10_000, "each bad message to be rejected");
      await until(() => count("vote", "ignore") >= before.voteIgnore + 1, 30_000, "the far-future vote to be ignored");
      expect(target.isBanned(hostile.peerId.toString())).toBe(false); // 8 rejections so far (14 with both retries): under the limit

      // The flood.
      for (let i = 0; i < 10_000 && hostile.getConnections().length > 0; i++) {
        const g = new Uint8Array(8);
        new DataView(g.buffer).setUint32(0, i); // distinct messages (gossip drops duplicates)
        void hostile.services.pubsub.publish(topics.vote, g).catch(() => undefined);
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
      await until(() => hostile.getConnections().length === 0, 20_000, "the flooding peer to be disconnected");
      expect(target.isBanned(hostile.peerId.toString())).toBe(true);
      await until(() => nodes.every((_, i) => height(i) >= h0 + 2), 30_000, "commits after the flood");
      // Refused while banned: the node does not keep a new connection from it.
      await hostile.dial(multiaddr(addrs[0]!)).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      expect(nodes[0]!.network!.libp2p.getConnections().some((c) => c.remotePeer.toString() === hostile.peerId.toString())).toBe(false);
    } finally {
      await hostile.stop();
    }
  });
});
