/**
 * pouw_getTransaction over real HTTP for transactions that left the mempool
 * without being included: replaced by a fee bump (before and after the
 * replacement is finalized, along a chain of bumps) and evicted by better-paying ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

describe("pouw_getTransaction for replaced and evicted transactions", () => {
  let net: TestNet;
  let node: PouwNode;
  let client: PouwClient;
  let url: string;

  const getTx = async (hash: string) => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "pouw_getTransaction", params: [hash] }) });
    return ((await res.json()) as { result: Record<string, unknown> | null }).result;
  };
  const transfer = (from: number, nonce: bigint, maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) =>
    signedTransfer(net.accounts[from]!, { nonce, to: net.accounts[3]!.address, amount: 1n, maxFeePerGas, maxPriorityFeePerGas });

  beforeAll(async () => {
    net = makeTestNet({ accounts: 4, balance: 10_000_000_000n });
    // Blocks only when the test steps consensus (the block time and the spacing both a minute); a pool of 3 to reach eviction quickly.
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, blockTimeMs: 60_000, minBlockIntervalMs: 60_000, mempool: { maxTxs: 3 } });
    await node.start();
    url = node.rpcServer!.url;
    client = new PouwClient(url);
  });
  afterAll(async () => {
    await node?.close();
  });

  it("answers replaced with the replacing hash while the bump waits, after it is finalized, and along a chain of bumps", async () => {
    const a = transfer(0, 0n, 10n, 1n);
    const b = transfer(0, 0n, 11n, 2n); // +10 % on both caps, rounded up
    const c = transfer(0, 0n, 20n, 5n);
    const from = net.accounts[0]!.bech32;
    expect(await client.sendRawTransaction(a.bytes)).toBe(a.env.hashHex);
    expect(await getTx(a.env.hashHex)).toMatchObject({ status: "pending" });
    await client.sendRawTransaction(b.bytes);
    expect(await getTx(a.env.hashHex)).toEqual({ hash: a.env.hashHex, status: "replaced", replacedBy: b.env.hashHex, from, nonce: "0" });
    expect(await getTx(b.env.hashHex)).toMatchObject({ status: "pending", hash: b.env.hashHex });
    // The typed client's wait ends on it at once (it used to poll until its timeout).
    expect(await client.waitForTransaction(a.env.hashHex, { timeoutMs: 2_000 })).toMatchObject({ status: "replaced", replacedBy: b.env.hashHex });
    await client.sendRawTransaction(c.bytes);
    expect(await getTx(b.env.hashHex)).toMatchObject({ status: "replaced", replacedBy: c.env.hashHex });
    expect(await getTx(a.env.hashHex)).toMatchObject({ status: "replaced", replacedBy: b.env.hashHex });
    await node.consensus!.step();
    expect(await getTx(c.env.hashHex)).toMatchObject({ status: "finalized", nonce: "0" });
    expect(await getTx(a.env.hashHex)).toEqual({ hash: a.env.hashHex, status: "replaced", replacedBy: b.env.hashHex, from, nonce: "0" });
    expect(await getTx(b.env.hashHex)).toMatchObject({ status: "replaced", replacedBy: c.env.hashHex });
    // The replaced one cannot come back: its nonce is used.
    await expect(client.sendRawTransaction(a.bytes)).rejects.toMatchObject({ code: "NONCE_TOO_LOW" });
    expect(await getTx(a.env.hashHex)).toMatchObject({ status: "replaced" });
  });

  it("answers rejected with EVICTED for a transaction pushed out of the full pool, and null for a hash it never saw", async () => {
    const low = [transfer(1, 0n, 10n, 1n), transfer(2, 0n, 10n, 1n), transfer(1, 1n, 10n, 1n)];
    for (const t of low) await client.sendRawTransaction(t.bytes);
    expect((await client.chainInfo()).mempoolSize).toBe(3);
    const better = transfer(0, 1n, 20n, 5n);
    await client.sendRawTransaction(better.bytes);
    // The lowest tip goes, newest first among equals: account 1's nonce 1.
    expect(await getTx(low[2]!.env.hashHex)).toEqual({
      hash: low[2]!.env.hashHex,
      status: "rejected",
      error: { code: "EVICTED", message: "evicted from the full mempool by transactions paying a higher tip" },
    });
    expect(await getTx(low[0]!.env.hashHex)).toMatchObject({ status: "pending" });
    expect(await getTx("0x" + "42".repeat(32))).toBeNull();
  });
});
