/**
 * Four validators in one process over an in-memory gossip bus: they finalize
 * blocks together, rotate proposers, finalize a transaction sent to any of
 * them, keep going with one cut off and stop (without forking) with two.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
import { voteSigningMessage } from "../../node/chain/commit.ts";
import { Vote, VoteType } from "../../node/types/block.ts";
import { PouwNode } from "../../node/node.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { LocalBus } from "../helpers/local-bus.ts";
import { signedTransfer } from "../helpers/tx.ts";

const net = makeTestNet({ validators: 4, accounts: 4, label: "multi-local" });
const TIMEOUTS = { proposeMs: 600, proposeDeltaMs: 200, prevoteMs: 300, prevoteDeltaMs: 100, precommitMs: 300, precommitDeltaMs: 100 };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("four validators over an in-memory bus", () => {
  const bus = new LocalBus();
  const nodes: PouwNode[] = [];
  const ids = net.validators.map((v) => toHex(v.address));
  const height = (i: number) => nodes[i]!.chain.head.header.height;

  beforeAll(async () => {
    for (const [i, key] of net.validators.entries()) {
      nodes.push(await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: key, rpc: null, blockTimeMs: 100, timeouts: TIMEOUTS, transport: bus.transport(ids[i]!), verifierThreads: 0 }));
    }
    await Promise.all(nodes.map((n) => n.start()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("finalizes the same blocks on every node, with > 2/3 signatures and rotating proposers", async () => {
    await until(() => nodes.every((_, i) => height(i) >= 8), 30_000, "height 8 on all nodes");
    const proposers = new Set<string>();
    for (let h = 1; h <= 8; h++) {
      const blocks = await Promise.all(nodes.map((n) => n.chain.store.getBlock(h)));
      const hashes = new Set(blocks.map((b) => toHex(blockHash(b!.header))));
      expect(hashes.size, `height ${h}`).toBe(1);
      proposers.add(toHex(blocks[0]!.header.proposer));
      const commit = await nodes[0]!.chain.store.getCommit(h);
      expect(commit!.signatures.length).toBeGreaterThanOrEqual(3);
    }
    expect(proposers.size).toBeGreaterThanOrEqual(3);
  });

  it("finalizes a transaction sent to any validator, with the same balances everywhere", async () => {
    const [a, b] = net.accounts as [typeof net.accounts[0], typeof net.accounts[0]];
    const tx = signedTransfer(a, { nonce: 0n, to: b.address, amount: 777n });
    await nodes[2]!.submitTransaction(tx.bytes);
    await until(() => nodes.every((n) => n.chain.world.getAccount(a.address)!.nonce === 1n), 30_000, "the transfer on all nodes");
    const balances = nodes.map((n) => n.chain.world.getAccount(b.address)!.balance);
    expect(new Set(balances).size).toBe(1);
  });

  it("keeps finalizing with one validator cut off, and stops without forking with two", async () => {
    bus.setUp(ids[3]!, false);
    const h0 = height(0);
    await until(() => [0, 1, 2].every((i) => height(i) >= h0 + 3), 30_000, "3 more blocks without validator 3");
    bus.setUp(ids[2]!, false);
    await new Promise((r) => setTimeout(r, 500)); // let a height in flight finish
    const stuck = [0, 1].map(height);
    await new Promise((r) => setTimeout(r, 2000));
    expect([0, 1].map(height)).toEqual(stuck);
    // Whatever each node has, no two disagree at any height.
    const top = Math.min(...nodes.map((_, i) => height(i)));
    for (let h = 1; h <= top; h++) {
      const roots = await Promise.all(nodes.map((n) => n.chain.store.getBlock(h).then((b) => toHex(b!.header.stateRoot) + toHex(b!.header.lastBlockHash))));
      expect(new Set(roots).size, `height ${h}`).toBe(1);
    }
    // Reconnected, the three that were at the same height finish it and go on.
    bus.setUp(ids[2]!, true);
    await until(() => [0, 1, 2].every((i) => height(i) >= stuck[0]! + 2), 30_000, "progress after reconnecting validator 2");
  });

  it("turns an equivocation into evidence that a block includes, the same on every node", async () => {
    // Validator 3 is cut off; an attacker holding its key sends two conflicting prevotes.
    const attacker = bus.transport("attacker");
    const h = height(0) + 1;
    const key = net.validators[3]!;
    const chainId = new TextEncoder().encode(net.chainId);
    for (const blockHash of [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]) {
      const signature = key.sign(voteSigningMessage(chainId, VoteType.Prevote, h, 0, blockHash));
      attacker.publishVote(Vote.serialize({ type: VoteType.Prevote, height: h, round: 0, blockHash, validator: key.address, signature }));
    }
    const offender = toHex(key.address);
    const included = () => [0, 1, 2].map((i) => [...nodes[i]!.chain.includedEvidence.keys()]);
    await until(() => included().every((l) => l.length === 1), 30_000, "the evidence in a block on nodes 0-2");
    expect(new Set(included().flat()).size).toBe(1);
    const at = nodes[0]!.chain.includedEvidence.values().next().value!;
    const block = await nodes[0]!.chain.store.getBlock(at);
    expect(block!.body.evidence.map((e) => toHex(e.voteA.validator))).toEqual([offender]);
    // The pools let go of it, and it is never included again.
    const h1 = height(0);
    await until(() => [0, 1, 2].every((i) => height(i) >= h1 + 3), 30_000, "3 more blocks");
    for (let x = at + 1; x <= height(0); x++) expect((await nodes[0]!.chain.store.getBlock(x))!.body.evidence.length).toBe(0);
    expect([0, 1, 2].map((i) => nodes[i]!.consensus!.evidence.size)).toEqual([0, 0, 0]);
  });
});
