/**
 * Sync of blocks larger than libp2p's default 4 MiB read buffer, between two
 * real nodes over libp2p on 127.0.0.1: four blocks of ~5 MB (1,400 transfers
 * each, ML-DSA signatures and keys make a transfer ~3.8 KB) and small ones
 * around them. The server sends at most MAX_RANGE_RESPONSE_BYTES of blocks per
 * response (here the range comes back short) and the requester asks again for
 * the rest. (A response is sent whole and the reader's libp2p byte stream
 * held at most 4 MiB unread: a restarted validator under transfer load, its
 * ranges of a dozen ~450 KB blocks, failed every one with "Read buffer
 * overflow - 5803561 > 4194304" and never caught up.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../node/node.ts";
import { MAX_RANGE_RESPONSE_BYTES } from "../../node/sync/messages.ts";
import { capturingLogger } from "../../node/util/logger.ts";
import { toHex } from "../../node/util/hex.ts";
import { ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";
import { freshSyncingNode } from "../helpers/sync-peer.ts";
import { until } from "../helpers/until.ts";

const net = makeTestNet({ label: "sync-large-blocks", validators: 4, accounts: 8, balance: 10n ** 15n });
const LARGE = 4;
const PER_BLOCK = 1400;

describe("sync of blocks larger than 4 MiB", () => {
  let driver: ChainDriver;
  let server: PouwNode;
  const sizes: number[] = [];

  beforeAll(async () => {
    driver = await ChainDriver.open(net.genesisJson, net.validators);
    const nonces = net.accounts.map(() => 0n);
    const transfers = (n: number) =>
      Array.from({ length: n }, (_, k) => {
        const i = k % net.accounts.length;
        return signedTransfer(net.accounts[i]!, { nonce: nonces[i]!++, to: net.accounts[(i + 1) % net.accounts.length]!.address, amount: 1n, chainId: net.chainId }).env;
      });
    await driver.next(transfers(3));
    for (let b = 0; b < LARGE; b++) await driver.next(transfers(PER_BLOCK));
    await driver.next(transfers(3));
    await driver.next([]);
    server = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: null, rpc: null, verifierThreads: 1, network: { listen: ["/ip4/127.0.0.1/tcp/0"] } });
    const items = [];
    for (let h = 1; h <= driver.height; h++) {
      const bytes = (await driver.chain.store.getBlockBytes(h))!;
      sizes.push(bytes.length);
      items.push({ block: (await driver.chain.store.getBlock(h))!, commit: (await driver.chain.store.getCommit(h))! });
    }
    expect(await server.consensus!.importBlocks(items)).toBe(items.length);
    await server.start();
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await driver?.close();
  });

  it("a fresh node imports every block, over short ranges, with no peer penalised", async () => {
    // The premise: single blocks past libp2p's default buffer, and a range of them past the server's response budget.
    const large = sizes.filter((s) => s > 4 * 1024 * 1024);
    expect(large.length).toBe(LARGE);
    expect(large.reduce((a, b) => a + b, 0)).toBeGreaterThan(MAX_RANGE_RESPONSE_BYTES);
    const { logger, lines } = capturingLogger("info");
    const node = await freshSyncingNode(net.genesisJson, server, logger);
    try {
      await node.start();
      await until(() => node.chain.head.header.height, (h) => h === driver.height, 90_000, `height ${driver.height}`);
      expect(toHex(node.chain.head.hash)).toBe(toHex(driver.chain.head.hash));
      expect(toHex(node.chain.world.root)).toBe(toHex(driver.chain.world.root));
      const complaints = lines.filter((l) => /invalid block|Disconnecting a peer|request to a peer failed|wrong range|stopped short/.test(String(l.msg)));
      expect(complaints, JSON.stringify(complaints).slice(0, 2000)).toEqual([]);
    } finally {
      await node.close();
    }
  }, 120_000);
});
