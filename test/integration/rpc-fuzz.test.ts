/**
 * Property tests over real HTTP against a real node (fast-check, fixed seed):
 * random byte strings, mutated valid transactions of every body type, and
 * random JSON params for every RPC method. Every refusal is a JSON-RPC error
 * with a known `data.code` and a message free of decoder or runtime text;
 * nothing is an internal error; the node keeps serving and still admits and
 * finalizes a good transaction afterwards.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwClient } from "../../node/client/client.ts";
import { PouwNode } from "../../node/node.ts";
import { methods } from "../../node/rpc/methods.ts";
import { TX_TYPES, TxBody, type TxBodyT } from "../../node/types/transaction.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet, type TestNet } from "../helpers/genesis.ts";
import { INTERNAL_TEXT, KNOWN_CODES } from "../helpers/rpc-text.ts";
import { signedTransfer, signedTx } from "../helpers/tx.ts";

const SEED = 20261204;

interface Answer {
  status: number;
  json: { result?: unknown; error?: { code: number; message: string; data?: { code: string } } };
}

describe("RPC under random input", () => {
  let net: TestNet;
  let node: PouwNode;
  let url: string;
  const seen = new Map<string, number>();

  const call = async (method: string, params: unknown): Promise<Answer> => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    return { status: res.status, json: (await res.json()) as Answer["json"] };
  };
  /** A refusal as every refusal must look; returns its data.code. */
  const expectCleanError = (a: Answer, what: string): string => {
    expect(a.status, what).toBe(200);
    const e = a.json.error;
    expect(e, `${what}: answered ${JSON.stringify(a.json).slice(0, 200)}`).toBeDefined();
    expect([-32602, -32000], `${what}: ${e!.message}`).toContain(e!.code);
    expect(KNOWN_CODES.has(e!.data!.code), `${what}: unknown data.code ${e!.data?.code}`).toBe(true);
    expect(e!.message, what).not.toMatch(INTERNAL_TEXT);
    expect(e!.message.length, what).toBeLessThan(400);
    seen.set(e!.data!.code, (seen.get(e!.data!.code) ?? 0) + 1);
    return e!.data!.code;
  };

  beforeAll(async () => {
    net = makeTestNet({ accounts: 3, balance: 10_000_000_000n });
    // A slow block time keeps the state still; the test commits the one block it needs itself.
    node = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, blockTimeMs: 60_000, minBlockIntervalMs: 60_000 });
    await node.start();
    url = node.rpcServer!.url;
  });
  afterAll(async () => {
    await node?.close();
  });

  it("answers random byte strings with a clean refusal", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 3700, maxLength: 6200 })), async (b) => {
        expectCleanError(await call("pouw_sendRawTransaction", [toHex(b)]), `${b.length} random bytes`);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it("answers mutated valid transactions of every body type with a clean refusal", async () => {
    const valid = TX_TYPES.map((_, selector) => {
      const value = TxBody.types[selector]!.defaultValue() as Record<string, unknown>;
      if ("startBranch" in value) Object.assign(value, { startBranch: [new Uint8Array(32).fill(1)], endBranch: [new Uint8Array(32).fill(2)] });
      if ("spec" in value) (value.spec as { layers: number[] }).layers = [4, 3, 2];
      return signedTx(net.accounts[1]!, { nonce: 0n, body: { selector, value } as TxBodyT, maxFeePerGas: 10n }).bytes;
    });
    valid.push(signedTransfer(net.accounts[0]!, { nonce: 0n, to: net.accounts[2]!.address, amount: 5n }).bytes);
    // Where the SSZ positions (4-byte) and the selector sit: mutations aim there often.
    const hot = [0, 2424, 2424 + 36, 2424 + 1352 + net.chainId.length, 2424 + 1352 + net.chainId.length + 1];
    const at = fc.oneof(fc.constantFrom(...hot), fc.nat());
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at, x: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at }),
      fc.record({ kind: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant("delete" as const), at, n: fc.integer({ min: 1, max: 64 }) }),
      fc.record({ kind: fc.constant("u32" as const), at, v: fc.nat({ max: 0xffffffff }) }),
    );
    const codes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (which, ms) => {
        const orig = valid[which]!;
        let b = orig.slice();
        for (const m of ms) {
          const i = m.at % Math.max(1, b.length);
          if (m.kind === "flip") b[i] ^= m.x;
          else if (m.kind === "cut") b = b.slice(0, i);
          else if (m.kind === "insert") b = Uint8Array.of(...b.subarray(0, i), ...m.bytes, ...b.subarray(i));
          else if (m.kind === "delete") b = Uint8Array.of(...b.subarray(0, i), ...b.subarray(i + m.n));
          else if (i + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(i, m.v, true);
        }
        if (Buffer.from(b).equals(Buffer.from(orig))) return; // a no-op mutation is the valid transaction itself
        codes.add(expectCleanError(await call("pouw_sendRawTransaction", [toHex(b)]), `${TX_TYPES[which] ?? "Transfer"} ${JSON.stringify(ms)}`));
      }),
      { seed: SEED, numRuns: 400 },
    );
    // The mutations reach past the decoder: signatures, chain id and fee checks answer too.
    for (const c of ["MALFORMED_TX", "BAD_SIGNATURE"]) expect(codes, [...codes].join()).toContain(c);
    expect(codes.size).toBeGreaterThanOrEqual(3);
  });

  it("answers random params to every method with a result or a clean refusal, never an internal error", async () => {
    const hexOf = fc.uint8Array({ maxLength: 40 }).map(toHex);
    const addrLike = fc.string({ maxLength: 45 }).map((s) => "pouw1" + s);
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), hexOf, addrLike, fc.constantFrom("latest", "0x", "", net.accounts[0]!.bech32, "0x" + "00".repeat(32)));
    const params = fc.oneof({ weight: 4, arbitrary: fc.array(value, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
    const names = [...Object.keys(methods), "pouw_subscribe", "pouw_unsubscribe"];
    expect(names.length).toBeGreaterThanOrEqual(17);
    for (const method of names) {
      await fc.assert(
        fc.asyncProperty(params, async (p) => {
          const a = await call(method, p);
          if (a.json.error === undefined) expect(a.status).toBe(200);
          else expectCleanError(a, `${method} ${JSON.stringify(p).slice(0, 120)}`);
        }),
        { seed: SEED, numRuns: 40 },
      );
    }
  });

  it("keeps serving: reports, health, and a good transaction admitted and finalized", async () => {
    const client = new PouwClient(url);
    expect((await client.chainInfo()).chainId).toBe(net.chainId);
    expect((await fetch(url + "health")).status).toBe(200);
    const { bytes, env } = signedTransfer(net.accounts[0]!, { nonce: 0n, to: net.accounts[2]!.address, amount: 5n });
    expect(await client.sendRawTransaction(bytes)).toBe(env.hashHex);
    await node.consensus!.step();
    expect((await client.getTransaction(env.hashHex))?.status).toBe("finalized");
    expect(seen.get("INTERNAL") ?? 0).toBe(0);
  });
});
