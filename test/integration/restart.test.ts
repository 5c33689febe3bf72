/** Restart on classic-level: the chain continues from the same head and state root. */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../node/node.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

describe("restart on disk", () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-restart-"));
  const net = makeTestNet({ accounts: 4 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const open = () => PouwNode.create({ dataDir: dir, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: null, blockTimeMs: 50 });
  const waitHeight = async (node: PouwNode, h: number) => {
    while (node.chain.head.header.height < h) await new Promise((r) => setTimeout(r, 20));
  };

  it("continues from the same head, state root and balances", async () => {
    let node = await open();
    await node.start();
    for (let i = 0; i < 8; i++) {
      await node.submitTransaction(signedTransfer(net.accounts[i % 4]!, { nonce: BigInt(i >> 2), to: net.accounts[(i + 1) % 4]!.address, amount: 7n }).bytes);
    }
    await waitHeight(node, 5);
    while (node.mempool.size > 0) await new Promise((r) => setTimeout(r, 20));
    await node.close();
    const head = node.chain.head;
    const root = toHex(node.chain.world.root);
    const balances = net.accounts.map((k) => node.chain.world.getAccount(k.address)?.balance);
    expect(toHex(head.header.stateRoot)).toBe(root);

    node = await open();
    expect(node.chain.head.header.height).toBe(head.header.height);
    expect(toHex(node.chain.head.hash)).toBe(toHex(head.hash));
    expect(toHex(node.chain.world.root)).toBe(root);
    expect(net.accounts.map((k) => node.chain.world.getAccount(k.address)?.balance)).toEqual(balances);
    await node.start();
    await waitHeight(node, head.header.height + 3);
    const next = await node.chain.store.getBlock(head.header.height + 1);
    expect(toHex(next!.header.lastBlockHash)).toBe(toHex(head.hash));
    await node.close();
  });

  it("keeps accepted transactions across a restart (mempool journal), then finalizes them", async () => {
    const home = mkdtempSync(join(tmpdir(), "pouw-journal-"));
    try {
      // A follower (no validator key) accepts transactions but never includes them.
      const follower = () => PouwNode.create({ dataDir: home, genesisJson: net.genesisJson, validatorKey: null, rpc: null, blockTimeMs: 50 });
      let node = await follower();
      await node.start();
      const txs = net.accounts.map((k, i) => signedTransfer(k, { nonce: 0n, to: net.accounts[(i + 1) % 4]!.address, amount: 3n }));
      for (const t of txs) await node.submitTransaction(t.bytes);
      // A nonce too high is accepted (queued) as well; a torn frame at the end of the journal is ignored.
      await node.submitTransaction(signedTransfer(net.accounts[0]!, { nonce: 1n, to: net.accounts[1]!.address, amount: 1n }).bytes);
      expect(node.mempool.size).toBe(5);
      await node.close();
      appendFileSync(join(home, "mempool.journal"), Buffer.from([200, 1, 0, 0, 1, 2, 3]));

      node = await follower();
      await node.start();
      expect(node.mempool.size).toBe(5);
      for (const t of txs) expect(node.pendingTx(t.env.hashHex)).toBeDefined();
      await node.close();

      // The validator (same chain, its own home) gets them from the journal too when it is that home's node.
      node = await PouwNode.create({ dataDir: home, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: null, blockTimeMs: 50 });
      await node.start();
      while (node.mempool.size > 0) await new Promise((r) => setTimeout(r, 20));
      for (const t of txs) expect((await node.chain.store.getTxLocation(t.env.hash)) !== undefined).toBe(true);
      await node.close();
      // What was included is gone from the journal after the next restart's rewrite.
      node = await follower();
      await node.start();
      expect(node.mempool.size).toBe(0);
      await node.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("refuses a data directory initialised with another genesis", async () => {
    const other = makeTestNet({ accounts: 4, chainId: "pouw-other-1" });
    await expect(PouwNode.create({ dataDir: dir, genesisJson: other.genesisJson, validatorKey: other.validator, rpc: null })).rejects.toMatchObject({ code: "GENESIS_MISMATCH" });
  });
});
