/** Bad input over RPC: each case gets a specific error code and the node keeps serving. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient, PouwRpcError } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { SignedTransaction } from "../../node/types/transaction.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

describe("RPC bad input", () => {
  let net: TestNet;
  let node: PouwNode;
  let client: PouwClient;
  let url: string;

  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    return { status: res.status, json: (await res.json()) as { error?: { code: number; message: string; data: { code: string } }; result?: unknown } };
  };
  const call = (method: string, params: unknown) => post(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }));
  const expectRejected = async (bytes: Uint8Array, code: string) => {
    const err = await client.sendRawTransaction(bytes).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PouwRpcError);
    expect((err as PouwRpcError).rpcCode).toBe(-32000);
    expect((err as PouwRpcError).code).toBe(code);
  };

  beforeAll(async () => {
    net = makeTestNet({ accounts: 3, balance: 10_000_000n });
    // A slow block time keeps the state still while we probe it.
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 }, blockTimeMs: 60_000 });
    await node.start();
    url = node.rpcServer!.url;
    client = new PouwClient(url);
  });
  afterAll(async () => {
    await node?.close();
  });

  it("rejects protocol-level garbage with the JSON-RPC codes", async () => {
    let r = await post("{not json");
    expect(r.json.error).toMatchObject({ code: -32700, data: { code: "PARSE_ERROR" } });
    r = await call("pouw_noSuchMethod", []);
    expect(r.json.error).toMatchObject({ code: -32601, data: { code: "METHOD_NOT_FOUND" } });
    r = await post(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "pouw_chainInfo" }));
    expect(r.json.error).toMatchObject({ code: -32600, data: { code: "INVALID_REQUEST" } });
    r = await post(JSON.stringify([]));
    expect(r.json.error).toMatchObject({ code: -32600, data: { code: "EMPTY_BATCH" } });
    r = await post("x".repeat(70 * 1024));
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: -32600, data: { code: "BODY_TOO_LARGE" } });
    r = await call("__proto__", []);
    expect(r.json.error).toMatchObject({ code: -32601 });
    r = await call("pouw_subscribe", ["newHeads"]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "SUBSCRIPTIONS_NEED_WEBSOCKET" } });
  });

  it("rejects wrong parameter types with INVALID_PARAMS", async () => {
    for (const [method, params] of [
      ["pouw_getAccount", [42]],
      ["pouw_getAccount", ["pouw1notanaddress"]],
      ["pouw_getAccount", "pouw1x"],
      ["pouw_getBlock", [{ height: 1 }]],
      ["pouw_getBlock", [-1]],
      ["pouw_getTransaction", ["0x1234"]],
      ["pouw_sendRawTransaction", [12345]],
      ["pouw_sendRawTransaction", []],
      ["pouw_chainInfo", [1]],
    ] as const) {
      const r = await call(method, params);
      expect(r.json.error, `${method} ${JSON.stringify(params)}`).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    }
  });

  it("rejects non-hex and malformed transaction bytes", async () => {
    let r = await call("pouw_sendRawTransaction", ["0xzz"]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    r = await call("pouw_sendRawTransaction", ["0x123"]);
    expect(r.json.error).toMatchObject({ code: -32602 });
    const { bytes } = signedTransfer(net.accounts[0]!, { nonce: 0n, to: net.accounts[1]!.address, amount: 1n });
    r = await call("pouw_sendRawTransaction", [toHex(bytes.subarray(0, bytes.length - 100))]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "MALFORMED_TX" } });
    r = await call("pouw_sendRawTransaction", [toHex(new Uint8Array(17 * 1024))]);
    expect(r.json.error?.code).toBe(-32602);
  });

  it("rejects each invalid transaction with its code", async () => {
    const [a, b] = net.accounts as [typeof net.accounts[0], typeof net.accounts[0]];
    const to = b.address;
    await expectRejected(signedTransfer(a, { chainId: "other-chain", nonce: 0n, to, amount: 1n }).bytes, "WRONG_CHAIN_ID");
    const bad = signedTransfer(a, { nonce: 0n, to, amount: 1n });
    const tampered = SignedTransaction.deserialize(bad.bytes);
    tampered.signature[10] ^= 1;
    await expectRejected(SignedTransaction.serialize(tampered), "BAD_SIGNATURE");
    await expectRejected(signedTransfer(a, { nonce: 0n, to, amount: 1n, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n }).bytes, "FEE_BELOW_BASE_FEE");
    await expectRejected(signedTransfer(a, { nonce: 0n, to, amount: 1n, maxFeePerGas: 2n ** 63n }).bytes, "COST_OVERFLOW");
    await expectRejected(signedTransfer(a, { nonce: 0n, to, amount: 1n, gasLimit: 1000 }).bytes, "GAS_LIMIT_TOO_LOW");
    await expectRejected(signedTransfer(a, { nonce: 0n, to, amount: 1n, maxFeePerGas: 10_000n }).bytes, "INSUFFICIENT_FUNDS");
    await expectRejected(signedTransfer(a, { nonce: 10_000n, to, amount: 1n }).bytes, "NONCE_TOO_HIGH");
    // Nonce too low: get nonce 0 finalized first, then replay it.
    const ok = signedTransfer(a, { nonce: 0n, to, amount: 1n });
    await client.sendRawTransaction(ok.bytes);
    await expectRejected(ok.bytes, "ALREADY_KNOWN");
    expect((await client.chainInfo()).mempoolSize).toBe(1);
    await node.consensus!.step(); // commit a block now instead of waiting for the slow block time
    expect((await client.getTransaction(ok.env.hashHex))?.status).toBe("finalized");
    await expectRejected(ok.bytes, "NONCE_TOO_LOW");
    await expectRejected(signedTransfer(a, { nonce: 0n, to, amount: 2n }).bytes, "NONCE_TOO_LOW");
  });

  it("answers the staking queries, and says which input is wrong", async () => {
    const set = await client.getValidators({ all: true });
    expect(set.active.map((v) => v.address)).toEqual([net.validator.bech32]);
    expect(set.active[0]).toMatchObject({ status: "active", power: "100", tokens: (100n * 1_000_000_000n).toString(), jailed: false, tombstoned: false });
    expect(set.candidates).toHaveLength(1);
    expect(await client.getValidator(net.validator.bech32)).toMatchObject({ operator: net.validator.bech32 });
    const mine = await client.getDelegations(net.validator.bech32);
    expect(mine.delegations.map((d) => [d.validator, d.shares])).toEqual([[net.validator.bech32, (100n * 1_000_000_000n).toString()]]);
    expect(mine.commission).not.toBeNull();
    expect((await client.getDelegations(net.accounts[0]!.bech32)).delegations).toEqual([]);
    let r = await call("pouw_getValidator", [net.accounts[0]!.bech32]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "NOT_FOUND" } });
    r = await call("pouw_getValidator", ["pouw1notanaddress"]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    r = await call("pouw_getValidators", [{ all: "yes" }]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    r = await call("pouw_getDelegations", []);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
  });

  it("answers the job queries, and says which input is wrong", async () => {
    expect(await client.listJobs()).toMatchObject({ total: 0, jobs: [] });
    let r = await call("pouw_getJob", ["0x" + "ab".repeat(32)]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "NOT_FOUND" }, message: "job not found" });
    r = await call("pouw_getProof", ["0x" + "ab".repeat(32)]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "NOT_FOUND" }, message: "proof not found" });
    r = await call("pouw_getJob", ["0x1234"]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    for (const bad of [{ status: "done" }, { limit: 101 }, { offset: -1 }, { requester: "pouw1nope" }, "open"]) {
      r = await call("pouw_listJobs", [bad]);
      expect(r.json.error, JSON.stringify(bad)).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    }
  });

  it("refuses blobs that do not match their id or that no job expects", async () => {
    const bytes = new Uint8Array(5000).map((_, i) => i % 251);
    // No job on this chain expects anything: a blob is refused with a stable code (the stored path is in rpc-abuse.test.ts).
    let r = await call("pouw_putBlob", [Buffer.from(bytes).toString("base64")]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "BLOB_NOT_EXPECTED" } });
    r = await call("pouw_getBlob", ["0x" + createHash("sha256").update(bytes).digest("hex")]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "NOT_FOUND" } });
    r = await call("pouw_putBlob", [Buffer.from(bytes).toString("base64"), "0x" + "11".repeat(32)]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    expect(r.json.error?.message).toMatch(/do not match the id/);
    r = await call("pouw_putBlob", ["not base64!"]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    r = await call("pouw_putBlob", [""]);
    expect(r.json.error).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS" } });
    r = await call("pouw_putBlob", [Buffer.alloc(100 * 1024).toString("base64")]); // this node caps bodies at 64 KiB
    expect(r.json.error).toMatchObject({ code: -32600, data: { code: "BODY_TOO_LARGE" } });
    r = await call("pouw_getBlob", ["0x" + "22".repeat(32)]);
    expect(r.json.error).toMatchObject({ code: -32000, data: { code: "NOT_FOUND" }, message: "blob not found" });
  });

  it("still serves after all of that", async () => {
    const info = await client.chainInfo();
    expect(info.chainId).toBe(net.chainId);
    const acc = await client.getAccount(net.accounts[0]!.bech32);
    expect(acc.exists).toBe(true);
    const health = await fetch(url + "health");
    expect(health.status).toBe(200);
  });
});
