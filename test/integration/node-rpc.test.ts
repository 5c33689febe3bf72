/**
 * An in-process validator on memory-level with real RPC over HTTP: 200
 * transfers from 10 accounts reach `finalized` with correct balances and fee burn.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { DEFAULT_PARAMS } from "../../node/types/params.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

describe("in-process node over JSON-RPC", () => {
  let net: TestNet;
  let node: PouwNode;
  let client: PouwClient;

  beforeAll(async () => {
    net = makeTestNet({ accounts: 10 });
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, blockTimeMs: 100 });
    await node.start();
    client = new PouwClient(node.rpcServer!.url);
  });
  afterAll(async () => {
    await node?.close();
  });

  it("finalizes 200 transfers from 10 accounts with exact balances and burn", async () => {
    const before = await Promise.all(net.accounts.map((k) => client.getAccount(k.bech32)));
    const info0 = await client.chainInfo();
    const hashes: string[] = [];
    const sent = new Map<number, bigint>(); // account index -> net change in amount only
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10; i++) {
        const to = (i + 1 + round) % 10 === i ? (i + 1) % 10 : (i + 1 + round) % 10;
        const amount = BigInt(1000 + round * 10 + i);
        const { bytes } = signedTransfer(net.accounts[i]!, { nonce: BigInt(round), to: net.accounts[to]!.address, amount, maxFeePerGas: 100n, maxPriorityFeePerGas: 2n });
        hashes.push(await client.sendRawTransaction(bytes));
        sent.set(i, (sent.get(i) ?? 0n) - amount);
        sent.set(to, (sent.get(to) ?? 0n) + amount);
      }
    }
    const finals = await Promise.all(hashes.map((h) => client.waitForTransaction(h, { timeoutMs: 60_000, intervalMs: 100 })));
    let fees = new Map<string, bigint>();
    let burned = 0n;
    let tips = 0n;
    for (const f of finals) {
      expect(f.status).toBe("finalized");
      if (f.status !== "finalized") continue;
      expect(f.receipt.status).toBe("success");
      burned += BigInt(f.receipt.feeBurned);
      tips += BigInt(f.receipt.tip);
      fees.set(f.from, (fees.get(f.from) ?? 0n) + BigInt(f.receipt.feeBurned) + BigInt(f.receipt.tip));
    }
    const after = await Promise.all(net.accounts.map((k) => client.getAccount(k.bech32)));
    for (let i = 0; i < 10; i++) {
      expect(after[i]!.nonce).toBe("20");
      const expected = BigInt(before[i]!.balance) + sent.get(i)! - fees.get(net.accounts[i]!.bech32)!;
      expect(BigInt(after[i]!.balance)).toBe(expected);
    }
    const validator = await client.getAccount(net.validator.bech32);
    expect(BigInt(validator.balance)).toBe(tips);
    const info = await client.chainInfo();
    expect(BigInt(info.totals.burned) - BigInt(info0.totals.burned)).toBe(burned);
    // Supply: minus the burn, plus one block reward per block committed in between.
    const issued = BigInt(info.height - info0.height) * DEFAULT_PARAMS.blockReward;
    expect(BigInt(info.totals.supply)).toBe(BigInt(info0.totals.supply) - burned + issued);
    expect(burned).toBeGreaterThan(0n);
  });

  it("serves a block with its commit and an account proof that verifies", async () => {
    const block = await client.getBlock("latest", { fullTransactions: true });
    expect(block.commit?.blockHash).toBe(block.hash);
    const acc = await client.getAccount(net.accounts[0]!.bech32);
    expect(acc.proof).not.toBeNull();
    const { verifyAccountProof } = await import("../../node/state/proof.ts");
    const { decodeAddress } = await import("../../node/crypto/address.ts");
    const { fromHex } = await import("../../node/util/hex.ts");
    const account = { address: decodeAddress(acc.address), balance: BigInt(acc.balance), nonce: BigInt(acc.nonce) };
    const proof = { index: acc.proof!.index, gindex: BigInt(acc.proof!.gindex), witnesses: acc.proof!.witnesses.map(fromHex) };
    expect(verifyAccountProof(fromHex(acc.stateRoot), account, proof)).toBe(true);
    expect(verifyAccountProof(fromHex(acc.stateRoot), { ...account, balance: account.balance + 1n }, proof)).toBe(false);
  });

  it("pushes new heads over WebSocket", async () => {
    const heads: number[] = [];
    const close = await client.subscribeNewHeads((h) => heads.push(h.height));
    await new Promise((r) => setTimeout(r, 450));
    close();
    expect(heads.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < heads.length; i++) expect(heads[i]).toBe(heads[i - 1]! + 1);
  });
});
