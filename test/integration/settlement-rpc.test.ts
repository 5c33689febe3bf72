/**
 * Settlement over JSON-RPC on an in-process validator (5-block epochs):
 * `pouw_getWithdrawalProof` is "pending" until the epoch ends and then gives
 * a proof that verifies against the checkpoint's withdrawals root;
 * `pouw_getCheckpoint` serves the checkpoint whose digest the validator's
 * anchor key signed; `pouw_subscribe("checkpoints")` pushes each one that
 * reaches a quorum; bad parameters get specific errors.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { bytesToHex, pad, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoverSigner } from "../../node/anchor/checkpoint.ts";
import { blockHash } from "../../node/chain/block.ts";
import { PouwClient, PouwRpcError, type CheckpointInfo } from "../../node/client/client.ts";
import { signAndSubmit } from "../../node/client/send.ts";
import { AnchorKey } from "../../node/crypto/anchor-key.ts";
import { PouwNode } from "../../node/node.ts";
import { chainIdHash, checkpointDigest, withdrawalLeafHash, WITHDRAWAL_LEAF_TYPES, ZERO32 } from "../../node/types/settlement.ts";
import { TxSelector } from "../../node/types/transaction.ts";
import { makeTestNet } from "../helpers/genesis.ts";

const net = makeTestNet({ accounts: 2, label: "settle-rpc", params: { epochLength: 5 } });
const DOMAIN = `0x${"ab".repeat(32)}` as Hex;
const RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Hex;

async function rpcError(p: Promise<unknown>): Promise<PouwRpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PouwRpcError) return e;
    throw e;
  }
  throw new Error("expected an RPC error");
}

describe("settlement over JSON-RPC", { timeout: 60_000 }, () => {
  let node: PouwNode;
  let client: PouwClient;
  const pushed: CheckpointInfo[] = [];
  let unsubscribe: () => void = () => undefined;

  beforeAll(async () => {
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, blockTimeMs: 100 });
    await node.start();
    client = new PouwClient(node.rpcServer!.url);
    unsubscribe = await client.subscribeCheckpoints((c) => pushed.push(c));
  });
  afterAll(async () => {
    unsubscribe();
    await node?.close();
  });

  it("a withdrawal is pending until its epoch ends, then its proof verifies against the checkpoint", async () => {
    const amount = 7n * 1_000_000_000n;
    const { hash } = await signAndSubmit(client, net.accounts[0]!, {
      selector: TxSelector.Withdraw,
      value: { domain: Buffer.from(DOMAIN.slice(2), "hex"), recipient: Buffer.from(pad(RECIPIENT, { size: 32 }).slice(2), "hex"), amount },
    });
    const done = await client.waitForTransaction(hash, { timeoutMs: 20_000, intervalMs: 50 });
    expect(done.status === "finalized" && done.receipt.status).toBe("success");
    const height = done.status === "finalized" ? done.blockHeight : 0;
    const epoch = Math.floor((height - 1) / 5) + 1;
    const early = await client.getWithdrawalProof(hash);
    if (height % 5 !== 0 && node.chain.head.header.height < epoch * 5) expect(early).toMatchObject({ status: "pending", proof: null, checkpointHeight: epoch * 5 });
    let p = early;
    for (let i = 0; i < 100 && p.status !== "checkpointed"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      p = await client.getWithdrawalProof(hash);
    }
    expect(p.status).toBe("checkpointed");
    const leaf = { ...p.leaf, epoch: BigInt(p.leaf.epoch), index: BigInt(p.leaf.index), amount: BigInt(p.leaf.amount) };
    expect(leaf).toMatchObject({ chainId: chainIdHash(net.chainId), epoch: BigInt(epoch), index: 0n, domain: DOMAIN, recipient: pad(RECIPIENT, { size: 32 }).toLowerCase(), token: ZERO32, amount });
    expect(p.leafHash).toBe(withdrawalLeafHash(leaf));
    const c = await client.getCheckpoint(epoch);
    expect(p.withdrawalsRoot).toBe(c.withdrawalsRoot);
    expect(c.withdrawals).toBe(1);
    // OpenZeppelin's own verifier accepts the proof against the anchored root.
    const tuple = [leaf.chainId, leaf.epoch, leaf.index, leaf.domain, leaf.recipient, leaf.token, leaf.amount];
    expect(StandardMerkleTree.verify(c.withdrawalsRoot, [...WITHDRAWAL_LEAF_TYPES], tuple, p.proof!)).toBe(true);
    expect(StandardMerkleTree.verify(c.withdrawalsRoot, [...WITHDRAWAL_LEAF_TYPES], [...tuple.slice(0, 6), leaf.amount + 1n], p.proof!)).toBe(false);
    // The same leaf by epoch and index.
    expect(await client.getWithdrawalProof({ epoch, index: 0 })).toEqual(p);
  });

  it("serves checkpoints signed by the validator's anchor key and pushes them to subscribers", async () => {
    const c = await client.getCheckpoint("latest");
    const digest = checkpointDigest({ ...c, epoch: BigInt(c.epoch), height: BigInt(c.height) });
    expect(c.digest).toBe(digest);
    const anchor = AnchorKey.fromSeed(net.validator.seed).address;
    expect(c.validators).toEqual([{ address: anchor, power: "100", signature: expect.stringMatching(/^0x[0-9a-f]{130}$/) }]);
    expect(await recoverSigner(digest, c.validators[0]!.signature!)).toBe(anchor);
    expect(c).toMatchObject({ quorum: true, signedPower: "100", totalPower: "100", height: c.epoch * 5 });
    const block = (await node.chain.store.getBlock(c.height))!;
    expect(c.blockHash).toBe(bytesToHex(blockHash(block.header)));
    expect(c.stateRoot).toBe(bytesToHex(block.header.stateRoot));
    for (let i = 0; i < 50 && pushed.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(pushed.length).toBeGreaterThan(0);
    expect(pushed[0]).toEqual(await client.getCheckpoint(pushed[0]!.epoch));
    expect(pushed.map((x) => x.epoch)).toEqual(pushed.map((_, i) => pushed[0]!.epoch + i));
  });

  it("refuses bad parameters with specific errors", async () => {
    expect((await rpcError(client.getCheckpoint(0))).code).toBe("INVALID_PARAMS");
    expect((await rpcError(client.getCheckpoint(10_000))).code).toBe("NOT_FOUND");
    expect((await rpcError(client.getWithdrawalProof("0x1234"))).code).toBe("INVALID_PARAMS");
    expect((await rpcError(client.getWithdrawalProof(`0x${"00".repeat(32)}`))).code).toBe("NOT_FOUND");
    expect((await rpcError(client.getWithdrawalProof({ epoch: 1, index: 99 }))).code).toBe("NOT_FOUND");
    expect((await rpcError(client.getWithdrawalProof({ epoch: 1, index: -1 }))).code).toBe("INVALID_PARAMS");
    expect((await rpcError(client.getWithdrawalProof({ index: 0 } as { epoch: number; index: number }))).code).toBe("INVALID_PARAMS");
  });
});
