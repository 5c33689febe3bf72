/** Restart on classic-level: the chain continues from the same head and state root. */
import { mkdtempSync, rmSync } from "node:fs";
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

  it("refuses a data directory initialised with another genesis", async () => {
    const other = makeTestNet({ accounts: 4, chainId: "pouw-other-1" });
    await expect(PouwNode.create({ dataDir: dir, genesisJson: other.genesisJson, validatorKey: other.validator, rpc: null })).rejects.toMatchObject({ code: "GENESIS_MISMATCH" });
  });
});
