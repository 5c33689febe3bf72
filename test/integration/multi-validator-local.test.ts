/**
 * Four validators in one process over an in-memory gossip bus: they finalize
 * blocks together, rotate proposers, finalize a transaction sent to any of
 * them, keep going with one cut off and stop (without forking) with two.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockHash } from "../../node/chain/block.ts";
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
});
