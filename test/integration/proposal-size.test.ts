/**
 * Proposals within what the transport delivers. Gossipsub silently drops a
 * message over 4 MiB at the sender, so a block larger than that never
 * reached the other validators and the chain stopped for good once the
 * mempool held more than a proposal's worth of transactions. Here the bus
 * drops messages over 60 KB the same way (about 15 transfers), and 60
 * transfers wait in one validator's mempool: they are spread over blocks
 * that fit and all of them finalize on every node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../node/node.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { LocalBus } from "../helpers/local-bus.ts";
import { signedTransfer } from "../helpers/tx.ts";
import { until } from "../helpers/until.ts";

const net = makeTestNet({ validators: 4, accounts: 4, label: "proposal-size" });
const TIMEOUTS = { proposeMs: 600, proposeDeltaMs: 200, prevoteMs: 300, prevoteDeltaMs: 100, precommitMs: 300, precommitDeltaMs: 100 };
const MAX_MESSAGE = 60_000;

describe("proposals larger than the transport delivers", () => {
  const bus = new LocalBus({ maxMessageBytes: MAX_MESSAGE });
  const nodes: PouwNode[] = [];

  beforeAll(async () => {
    for (const key of net.validators) {
      nodes.push(await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: key, rpc: null, blockTimeMs: 100, timeouts: TIMEOUTS, transport: bus.transport(toHex(key.address)), verifierThreads: 0 }));
    }
    await Promise.all(nodes.map((n) => n.start()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("are never built: a full mempool is spread over blocks that fit, and the chain keeps finalizing", async () => {
    const to = net.accounts[0]!.address;
    const txs = net.accounts.flatMap((a) => Array.from({ length: 15 }, (_, n) => signedTransfer(a, { nonce: BigInt(n), to, amount: 1n }).bytes));
    expect(txs.reduce((s, t) => s + t.length, 0)).toBeGreaterThan(3 * MAX_MESSAGE);
    await Promise.all(txs.map((t) => nodes[1]!.submitTransaction(t)));
    const done = () => nodes.every((n) => net.accounts.every((a) => n.chain.world.getAccount(a.address)!.nonce === 15n));
    await until(done, Boolean, 60_000, "all 60 transfers on every node", 20);
    expect(bus.tooLarge).toBe(0);
    expect(bus.largestProposal).toBeLessThanOrEqual(MAX_MESSAGE);
    // They took several blocks, none over the limit, and every node has the same ones.
    let blocksWithTxs = 0;
    for (let h = 1; h <= nodes[0]!.chain.head.header.height; h++) {
      const blocks = await Promise.all(nodes.map((n) => n.chain.store.getBlock(h)));
      if ((blocks[0]?.body.txs.length ?? 0) > 0) blocksWithTxs++;
      expect(new Set(blocks.map((b) => (b ? toHex(b.header.stateRoot) : "missing"))).size, `height ${h}`).toBe(1);
    }
    expect(blocksWithTxs).toBeGreaterThanOrEqual(4);
  });
});
