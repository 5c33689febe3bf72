/** Bad input over RPC: each case gets a specific error code and the node keeps serving. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient, PouwRpcError } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { SignedTransaction, TX_TYPES, TxBody, type TxBodyT } from "../../node/types/transaction.ts";
import { MIN_SIGNED_TX_BYTES } from "../../node/types/txcodec.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { signedTransfer, signedTx } from "../helpers/tx.ts";
import { INTERNAL_TEXT } from "../helpers/rpc-text.ts";

/** A small, not default, transaction size limit: messages must carry the chain's own `params.maxTxBytes`. */
const MAX_TX_BYTES = 12_000;

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
    net = makeTestNet({ accounts: 3, balance: 10_000_000n, params: { maxTxBytes: MAX_TX_BYTES } });
    // A slow block time keeps the state still while we probe it.
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024 }, blockTimeMs: 60_000, minBlockIntervalMs: 60_000 });
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

  /** Sends `raw` and returns the error, checking the shape every refusal shares. */
  const refusal = async (raw: unknown) => {
    const r = await call("pouw_sendRawTransaction", [raw]);
    expect(r.json.result, JSON.stringify(r.json)).toBeUndefined();
    const e = r.json.error as { code: number; message: string; data: { code: string; field?: string; size?: number; limit?: number } };
    expect(e.message).not.toMatch(INTERNAL_TEXT);
    return e;
  };

  it("refuses what is not 0x hex with INVALID_PARAMS naming the parameter and the problem", async () => {
    for (const [raw, message] of [
      ["abcd", /transaction must start with 0x/],
      ["0x123", /odd number of hex digits \(3\)/],
      ["0xzz", /not a hex digit at position 2/],
      ["0x12 345", /not a hex digit at position 4/],
      [12345, /transaction must be a 0x-prefixed hex string .*got a number/],
      [null, /got null/],
      [{ tx: "0x00" }, /got an object/],
    ] as const) {
      const e = await refusal(raw);
      expect(e, JSON.stringify(raw)).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS", field: "transaction" } });
      expect(e.message).toMatch(message);
    }
  });

  it("refuses bytes that are not a transaction with MALFORMED_TX naming the field and the limit", async () => {
    const { bytes } = signedTransfer(net.accounts[0]!, { nonce: 0n, to: net.accounts[1]!.address, amount: 1n });
    const bodyAt = 2424 + 1352 + net.chainId.length;
    const patched = (f: (b: Uint8Array, dv: DataView) => void) => {
      const b = bytes.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    const cases: [string, Uint8Array, string, RegExp][] = [
      ["empty", new Uint8Array(0), "transaction", new RegExp(`^transaction is 0 bytes; a signed transaction is at least ${MIN_SIGNED_TX_BYTES} bytes$`)],
      ["200 bytes", new Uint8Array(200).fill(0xab), "transaction", /^transaction is 200 bytes; a signed transaction is at least 3778 bytes$/],
      ["100 bytes short", bytes.subarray(0, bytes.length - 100), "transaction", /is 3716 bytes; .* at least 3778/],
      ["cut before the body", bytes.subarray(0, bodyAt), "tx.body", /tx\.body is empty; it needs a 1-byte type selector/],
      ["1 byte short", bytes.subarray(0, bytes.length - 1), "tx.body.amount", /ends at byte 3815 inside tx\.body\.amount \(uint64\): 7 of 8 bytes present/],
      ["1 trailing byte", Uint8Array.of(...bytes, 0), "tx.body", /tx\.body \(Transfer\) is 29 bytes; a Transfer is exactly 28 bytes \(1 byte too many\)/],
      ["unknown selector", patched((b) => (b[bodyAt] = 11)), "tx.body", /type selector 11; the known selectors are 0\.\.10 \(0 Transfer, .*10 Withdraw\)/],
      ["selector 255", patched((b) => (b[bodyAt] = 255)), "tx.body", /type selector 255/],
      ["tx placed wrong", patched((_, dv) => dv.setUint32(0, 0xabababab, true)), "tx", /tx must start right after the fixed part of the transaction, at byte 2424/],
      ["chainId placed wrong", patched((_, dv) => dv.setUint32(2424, 1353, true)), "tx.chainId", /tx\.chainId must start .* at byte 3776/],
      ["body past the end", patched((_, dv) => dv.setUint32(2424 + 36, 1 << 20, true)), "tx.body", /tx\.body starts at byte \d+, past the end of tx/],
      ["chainId over 32 bytes", patched((_, dv) => dv.setUint32(2424 + 36, 1352 + 33, true)), "tx.chainId", /tx\.chainId is 33 bytes; a ByteList\[32\] holds at most 32 bytes/],
      ["above the largest transaction", new Uint8Array(6000), "transaction", /is 6000 bytes; the largest well-formed signed transaction .* is 5969 bytes/],
    ];
    for (const [what, b, field, message] of cases) {
      const e = await refusal(toHex(b));
      expect(e, what).toMatchObject({ code: -32000, data: { code: "MALFORMED_TX", field, size: b.length } });
      expect(e.message, what).toMatch(message);
    }
  });

  it("refuses every body type cut short or with a byte too many, naming a field of the body", async () => {
    const key = net.accounts[2]!;
    const bodies = TX_TYPES.map((_, selector) => {
      const type = TxBody.types[selector]!;
      const value = type.defaultValue() as Record<string, unknown>;
      if ("startBranch" in value) Object.assign(value, { startBranch: [new Uint8Array(32)], endBranch: [new Uint8Array(32)] });
      if ("spec" in value) (value.spec as { layers: number[] }).layers = [4, 2];
      return { selector, value } as TxBodyT;
    });
    for (const body of bodies) {
      const { bytes } = signedTx(key, { nonce: 0n, body });
      for (const [how, b] of [
        ["cut short", bytes.subarray(0, bytes.length - 1)],
        ["a byte too many", Uint8Array.of(...bytes, 7)],
      ] as const) {
        const e = await refusal(toHex(b));
        const what = `${TX_TYPES[body.selector]} ${how}`;
        expect(e, what).toMatchObject({ code: -32000, data: { code: "MALFORMED_TX" } });
        expect(e.data.field, what).toMatch(/^tx\.body(\.|$)/);
        expect(e.message, what).toContain(e.data.field!);
        expect(e.message, what).toMatch(/\d+ bytes?|\d+ of \d+|elements/);
      }
    }
  });

  it("refuses an oversized transaction with TX_TOO_LARGE and the chain's params.maxTxBytes, before decoding it", async () => {
    for (const size of [MAX_TX_BYTES + 1, 16 * 1024 + 1, 30_000]) {
      const e = await refusal(toHex(new Uint8Array(size).fill(0xee)));
      expect(e).toMatchObject({ code: -32000, data: { code: "TX_TOO_LARGE", size, limit: MAX_TX_BYTES } });
      expect(e.message).toBe(`transaction is ${size} bytes; the limit (params.maxTxBytes) is ${MAX_TX_BYTES} bytes`);
    }
    // At the limit it is decoded (and is not a transaction).
    expect(await refusal(toHex(new Uint8Array(MAX_TX_BYTES)))).toMatchObject({ data: { code: "MALFORMED_TX" } });
  });

  it("names the parameter and the limit for heights, hashes, addresses and blobs of other methods", async () => {
    const addr = net.accounts[0]!.bech32;
    const mixed = addr.slice(0, 10) + addr.slice(10).toUpperCase();
    const cases: [string, unknown[], string, RegExp][] = [
      ["pouw_getBlock", [2 ** 53], "block", /block height must be an integer from 0 to 9007199254740991/],
      ["pouw_getBlock", ["99999999999999999999"], "block", /from 0 to 9007199254740991/],
      ["pouw_getBlock", [1.5], "block", /must be an integer/],
      ["pouw_getBlock", ["0x" + "ab".repeat(31)], "block hash", /block hash must be 32 bytes \(64 hex digits after 0x\), got 31/],
      ["pouw_getBlock", ["0x" + "ab".repeat(33)], "block hash", /got 33/],
      ["pouw_getBlock", ["newest"], "block", /block must be a height, "latest" or a 0x block hash of 32 bytes/],
      ["pouw_getBlock", ["latest", { fullTransactions: 1 }], "fullTransactions", /option fullTransactions must be a boolean, got a number/],
      ["pouw_getTransaction", ["0x" + "ab".repeat(31)], "transaction hash", /transaction hash must be 32 bytes .* got 31/],
      ["pouw_getTransaction", ["ab".repeat(32)], "transaction hash", /must start with 0x/],
      ["pouw_getTransaction", ["0x" + "ag".repeat(32)], "transaction hash", /not a hex digit at position 3/],
      ["pouw_getAccount", [mixed], "address", /mixes upper and lower case/],
      ["pouw_getAccount", ["0x" + "11".repeat(20)], "address", /must be a bech32m address.*not hex/],
      ["pouw_getAccount", [addr.slice(0, -1)], "address", /is 42 characters; it must be a bech32m address: "pouw1" and 38 characters \(43 in all\)/],
      ["pouw_getAccount", ["bc1" + addr.slice(5) + "qq"], "address", /must start with "pouw1"/],
      ["pouw_getAccount", [addr.slice(0, -1) + (addr.endsWith("q") ? "p" : "q")], "address", /bad bech32m checksum/],
      ["pouw_getAccount", [addr.slice(0, -1) + "b"], "address", /outside the bech32 alphabet/],
      ["pouw_getAccount", [42], "address", /got a number/],
      ["pouw_getValidator", ["pouw1"], "address", /is 5 characters/],
      ["pouw_getDelegations", [addr + "q"], "address", /is 44 characters/],
      ["pouw_listJobs", [{ requester: mixed }], "requester", /requester mixes upper and lower case/],
      ["pouw_getJob", ["0x1234"], "jobId", /jobId must be 32 bytes .* got 2/],
      ["pouw_getProof", [7], "proofId", /proofId must be a 0x-prefixed hex string of 32 bytes, got a number/],
      ["pouw_getBlob", ["0x" + "00".repeat(20)], "id", /id must be 32 bytes .* got 20/],
      ["pouw_putBlob", [12], "data", /data must be the blob's bytes as a base64 string, got a number/],
      ["pouw_putBlob", ["a b"], "data", /standard base64/],
      ["pouw_putBlob", ["AAAA", "0x12"], "id", /id must be 32 bytes .* got 1/],
      ["pouw_getWithdrawalProof", ["0x00"], "transaction hash", /transaction hash must be 32 bytes/],
      ["pouw_chainInfo", [1], "params", /expected 0 params, got 1/],
    ];
    for (const [method, params, field, message] of cases) {
      const r = await call(method, params);
      const what = `${method} ${JSON.stringify(params)}`;
      expect(r.json.error, what).toMatchObject({ code: -32602, data: { code: "INVALID_PARAMS", field } });
      expect(r.json.error!.message, what).toMatch(message);
      expect(r.json.error!.message, what).not.toMatch(INTERNAL_TEXT);
    }
    // One case of letters is fine (bech32m allows all upper case), and hex digits in either case.
    expect((await call("pouw_getAccount", [addr.toUpperCase()])).json.result).toMatchObject({ address: addr });
    expect((await call("pouw_getTransaction", ["0x" + "AB".repeat(32)])).json).toMatchObject({ result: null });
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
