/**
 * The Sui anchor target offline. There is no Sui node here, so the client is
 * the SDK's real SuiJsonRpcClient over a scripted transport that answers the
 * JSON-RPC methods a full node would (the Core API path, gas selection and
 * response parsing are the SDK's own); any method it is not scripted for
 * fails the test. What it checks: the Anchor object decodes from its BCS
 * content, lastEpoch reads it, submit_checkpoint carries the signed
 * checkpoint (signer indices skip a missing signature), and a Move abort,
 * in the gas estimate or in execution, comes out as AnchorError SUI_FAILED
 * naming the abort.
 */
import { vectorCheckpoint } from "../../helpers/checkpoint-vectors.ts";
import { readFileSync } from "node:fs";
import { bcs } from "@mysten/sui/bcs";
import { SuiJsonRpcClient, type JsonRpcTransport, type JsonRpcTransportRequestOptions } from "@mysten/sui/jsonRpc";
import { Ed25519Keypair } from "@mysten/sui/keypairs/ed25519";
import { Transaction } from "@mysten/sui/transactions";
import { fromBase64, normalizeSuiObjectId, toBase58, toBase64 } from "@mysten/sui/utils";
import { bytesToHex, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import type { SignedCheckpoint } from "../../../node/anchor/checkpoint.ts";
import { AnchorError } from "../../../node/anchor/errors.ts";
import { MOVE_ABORTS, SuiAnchor, parseAnchorObject, type AnchorObjectRead } from "../../../node/anchor/sui-client.ts";

type VectorEpoch = {
  checkpoint: Record<string, string>;
  validators: { address: string; power: string }[];
  nextValidators: { address: string; power: string }[];
  signatures: { signer: string; signature: string }[];
};
const vectors = JSON.parse(readFileSync(new URL("../../vectors/checkpoint.json", import.meta.url), "utf8")) as { chainId: Hex; epochs: VectorEpoch[] };

/** Epoch i of the vectors as the node serves it, with the signature of member `missing` (if any) not gathered. */
function signed(i: number, missing: number[] = []): SignedCheckpoint {
  const e = vectors.epochs[i]!;
  const c = e.checkpoint;
  const bySigner = new Map(e.signatures.map((s) => [s.signer.toLowerCase(), s.signature as Hex]));
  return {
    checkpoint: vectorCheckpoint(c),
    members: e.validators.map((v) => ({ address: v.address as Hex, power: BigInt(v.power) })),
    nextMembers: e.nextValidators.map((v) => ({ address: v.address as Hex, power: BigInt(v.power) })),
    signatures: e.validators.map((v, k) => (missing.includes(k) ? null : bySigner.get(v.address.toLowerCase())!)),
  };
}

const PACKAGE = `0x${"ab".repeat(32)}`;
const ANCHOR_ID = `0x${"cd".repeat(32)}`;
const TABLE_ID = `0x${"77".repeat(32)}`;
const COIN = `0x${"ee".repeat(32)}`;
const digest58 = (b: number) => toBase58(new Uint8Array(32).fill(b));
const keypair = Ed25519Keypair.deriveKeypairFromSeed("42".repeat(32));
const SENDER = keypair.toSuiAddress();

/** The Anchor's BCS written out field by field (UID, vector<u8> ×2, u64, Table{UID, u64}), independently of the parser. */
function anchorContent(p: { id?: string; chainId: Hex; setHash: Hex; lastEpoch: bigint; anchored: bigint }): Uint8Array {
  const u64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };
  const hex = (h: string) => Buffer.from(h.slice(2), "hex");
  return Buffer.concat([hex(p.id ?? ANCHOR_ID), Buffer.from([32]), hex(p.chainId), Buffer.from([32]), hex(p.setHash), u64(p.lastEpoch), hex(TABLE_ID), u64(p.anchored)]);
}

const AFTER_EPOCH_3 = { chainId: vectors.chainId, setHash: vectors.epochs[2]!.checkpoint.nextValidatorSetHash as Hex, lastEpoch: 3n, anchored: 3n };

/** What a full node answers to sui_multiGetObjects for the anchor (showBcs, showOwner, showType). */
function anchorObjectWire(content: Uint8Array, type = `${PACKAGE}::anchor::Anchor`, owner: unknown = { Shared: { initial_shared_version: 5 } }) {
  return {
    data: {
      objectId: ANCHOR_ID,
      version: "41",
      digest: digest58(9),
      type,
      owner,
      previousTransaction: digest58(8),
      bcs: { dataType: "moveObject", type, hasPublicTransfer: false, version: 41, bcsBytes: toBase64(content) },
    },
  };
}

const ABORT_TEXT = (code: number) =>
  `MoveAbort(MoveLocation { module: ModuleId { address: ${"ab".repeat(32)}, name: Identifier("anchor") }, function: 3, instruction: 42, function_name: Some("submit_checkpoint") }, ${code}) in command 0`;

function effectsWire(status: { status: "success" } | { status: "failure"; error: string }, abortCode?: number) {
  return {
    messageVersion: "v1",
    status,
    ...(abortCode !== undefined ? { abortError: { module_id: `${PACKAGE}::anchor`, function: "submit_checkpoint", error_code: String(abortCode) } } : {}),
    executedEpoch: "500",
    gasUsed: { computationCost: "2000000", storageCost: "3000000", storageRebate: "1000000", nonRefundableStorageFee: "10000" },
    transactionDigest: digest58(3),
    gasObject: { owner: { AddressOwner: SENDER }, reference: { objectId: COIN, version: 8, digest: digest58(4) } },
    dependencies: [],
  };
}

/** A scripted full node: answers the methods in `handlers`, records every call, and throws on anything else. */
class ScriptedNode implements JsonRpcTransport {
  calls: { method: string; params: unknown[] }[] = [];
  readonly handlers: Record<string, (params: unknown[]) => unknown>;
  constructor(handlers: Record<string, (params: unknown[]) => unknown>) {
    this.handlers = handlers;
  }
  async request<T>(input: JsonRpcTransportRequestOptions): Promise<T> {
    this.calls.push({ method: input.method, params: input.params });
    const h = this.handlers[input.method];
    if (!h) throw new Error(`the scripted node was not asked for ${input.method}`);
    return h(input.params) as T;
  }
  count(method: string) {
    return this.calls.filter((c) => c.method === method).length;
  }
}

/** A node with a funded sender, an anchor after epoch 3, and the given dry-run / execution outcomes. */
function node(outcome: { dryRun?: ReturnType<typeof effectsWire>; execute?: ReturnType<typeof effectsWire> } = {}) {
  return new ScriptedNode({
    sui_multiGetObjects: () => [anchorObjectWire(anchorContent(AFTER_EPOCH_3))],
    suix_getLatestSuiSystemState: () => ({ epoch: "500", referenceGasPrice: "1000", protocolVersion: "90", systemStateVersion: "2", epochStartTimestampMs: "0" }),
    sui_getCheckpoint: () => ({ digest: digest58(1) }),
    suix_getBalance: () => ({ coinType: "0x2::sui::SUI", coinObjectCount: 1, totalBalance: "5000000000", lockedBalance: {} }),
    suix_getCoins: () => ({ data: [{ coinType: "0x2::sui::SUI", coinObjectId: COIN, version: "7", digest: digest58(2), balance: "5000000000", previousTransaction: digest58(5) }], nextCursor: null, hasNextPage: false }),
    sui_dryRunTransactionBlock: () => ({ effects: outcome.dryRun ?? effectsWire({ status: "success" }), events: [], objectChanges: [], balanceChanges: [], input: {} }),
    sui_executeTransactionBlock: () => ({ digest: digest58(3), effects: outcome.execute ?? effectsWire({ status: "success" }) }),
    sui_getTransactionBlock: () => ({ digest: digest58(3), effects: outcome.execute ?? effectsWire({ status: "success" }) }),
  });
}

function anchorOn(transport: ScriptedNode, opts: { initialSharedVersion?: number; gasBudget?: bigint } = {}) {
  const client = new SuiJsonRpcClient({ network: "testnet", transport });
  return new SuiAnchor({ client, signer: keypair, packageId: PACKAGE, anchor: { objectId: ANCHOR_ID, initialSharedVersion: opts.initialSharedVersion }, gasBudget: opts.gasBudget });
}

async function rejection(p: Promise<unknown>): Promise<AnchorError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AnchorError);
  return e as AnchorError;
}

const u8s = bcs.byteVector();
type Pure = { Pure: { bytes: string } };
const pure = (input: unknown) => fromBase64((input as Pure).Pure.bytes);

describe("parseAnchorObject", () => {
  it("decodes the Anchor a node returns (JSON-RPC wire response through the SDK's Core API)", async () => {
    const transport = node();
    const client = new SuiJsonRpcClient({ network: "testnet", transport });
    const { object } = await client.core.getObject({ objectId: ANCHOR_ID, include: { content: true } });
    const a = parseAnchorObject(object);
    expect(a).toEqual({
      objectId: ANCHOR_ID,
      version: "41",
      initialSharedVersion: "5",
      type: `${PACKAGE}::anchor::Anchor`,
      chainId: vectors.chainId,
      setHash: AFTER_EPOCH_3.setHash,
      lastEpoch: 3n,
      epochsTableId: TABLE_ID,
      anchoredEpochs: 3n,
    });
    // The SDK asked the node for the BCS content of exactly this object.
    const [ids, options] = transport.calls[0]!.params as [string[], Record<string, boolean>];
    expect(ids).toEqual([ANCHOR_ID]);
    expect(options.showBcs).toBe(true);
  });

  const read = (over: Partial<AnchorObjectRead> = {}): AnchorObjectRead => ({
    objectId: ANCHOR_ID,
    version: "41",
    type: `${PACKAGE}::anchor::Anchor`,
    owner: { $kind: "Shared", Shared: { initialSharedVersion: "5" } },
    content: anchorContent(AFTER_EPOCH_3) as Uint8Array<ArrayBuffer>,
    ...over,
  });

  it("reads last_epoch from where the Move struct puts it", () => {
    expect(parseAnchorObject(read({ content: anchorContent({ ...AFTER_EPOCH_3, lastEpoch: 0n, anchored: 0n }) as Uint8Array<ArrayBuffer> })).lastEpoch).toBe(0n);
    expect(parseAnchorObject(read({ content: anchorContent({ ...AFTER_EPOCH_3, lastEpoch: 2n ** 64n - 1n }) as Uint8Array<ArrayBuffer> })).lastEpoch).toBe(2n ** 64n - 1n);
  });

  it("refuses what is not a shared Anchor with SUI_BAD_OBJECT", () => {
    const code = (over: Partial<AnchorObjectRead>) => {
      try {
        parseAnchorObject(read(over));
      } catch (e) {
        return [(e as AnchorError).code, (e as Error).message];
      }
      return null;
    };
    expect(code({ type: `${PACKAGE}::vault::Vault` })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("its type is")]);
    expect(code({ owner: { $kind: "AddressOwner", AddressOwner: SENDER } })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("not shared")]);
    const full = anchorContent(AFTER_EPOCH_3);
    expect(code({ content: full.slice(0, full.length - 1) as Uint8Array<ArrayBuffer> })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("does not decode")]);
    expect(code({ content: Uint8Array.from([...full, 0]) })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("more than the Anchor's fields")]);
    expect(code({ content: anchorContent({ ...AFTER_EPOCH_3, id: `0x${"11".repeat(32)}` }) as Uint8Array<ArrayBuffer> })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("belongs to object")]);
    expect(code({ content: undefined as unknown as Uint8Array<ArrayBuffer> })).toEqual(["SUI_BAD_OBJECT", expect.stringContaining("no content")]);
  });
});

describe("SuiAnchor", () => {
  it("lastEpoch reads the object; the initial shared version is read once when not given", async () => {
    const transport = node();
    const anchor = anchorOn(transport);
    expect(anchor.name).toBe("sui:testnet");
    expect(await anchor.lastEpoch()).toBe(3n);
    const tx = await anchor.buildSubmit(signed(0));
    const shared = tx.getData().inputs[0]!.Object!.SharedObject!;
    expect(shared).toMatchObject({ objectId: ANCHOR_ID, initialSharedVersion: "5", mutable: true });
    await anchor.buildSubmit(signed(1));
    expect(transport.count("sui_multiGetObjects")).toBe(1);
  });

  it("buildSubmit carries the vector checkpoint; signer indices skip the missing signature", async () => {
    const transport = node();
    const anchor = anchorOn(transport, { initialSharedVersion: 5 });
    const c = signed(0, [1]);
    const tx = await anchor.buildSubmit(c);
    expect(transport.calls).toEqual([]); // the shared version was given: nothing read
    // The kind (commands and inputs) builds offline: every object is a full reference.
    await tx.build({ onlyTransactionKind: true });

    const data = tx.getData();
    expect(data.sender).toBe(SENDER);
    expect(data.gasData.budget ?? null).toBeNull(); // left to the client
    expect(data.gasData.payment ?? null).toBeNull();
    const call = data.commands[0]!.MoveCall!;
    expect(`${call.package}::${call.module}::${call.function}`).toBe(`${PACKAGE}::anchor::submit_checkpoint`);
    const args = call.arguments.map((a) => data.inputs[(a as { Input: number }).Input]!);
    expect(args).toHaveLength(13);
    const v = vectors.epochs[0]!;
    const b32 = (i: number) => bytesToHex(u8s.parse(pure(args[i])));
    expect([b32(1), b32(4), b32(5), b32(6), b32(7), b32(8)]).toEqual([v.checkpoint.chainId, v.checkpoint.blockHash, v.checkpoint.stateRoot, v.checkpoint.withdrawalsRoot, v.checkpoint.validatorSetHash, v.checkpoint.nextValidatorSetHash]);
    expect([bcs.u64().parse(pure(args[2])), bcs.u64().parse(pure(args[3]))]).toEqual([v.checkpoint.epoch, v.checkpoint.height]);
    expect(bcs.vector(u8s).parse(pure(args[9])).map((a) => bytesToHex(a))).toEqual(v.validators.map((x) => x.address.toLowerCase()));
    expect(bcs.vector(bcs.u64()).parse(pure(args[10]))).toEqual(v.validators.map((x) => x.power));
    expect(bcs.vector(bcs.u64()).parse(pure(args[11]))).toEqual(["0", "2", "3"]);
    expect(bcs.vector(u8s).parse(pure(args[12])).map((a) => bytesToHex(a))).toEqual([0, 2, 3].map((k) => v.signatures.find((s) => s.signer === v.validators[k]!.address)!.signature));
  });

  it("refuses a checkpoint it cannot submit before spending gas", async () => {
    const anchor = anchorOn(node(), { initialSharedVersion: 5 });
    const noQuorum = await rejection(anchor.buildSubmit(signed(0, [1, 2])));
    expect(noQuorum.code).toBe("SUI_BAD_CHECKPOINT");
    expect(noQuorum.message).toMatch(/quorum/);
    const misaligned = signed(0);
    misaligned.signatures.pop();
    expect((await rejection(anchor.submit(misaligned))).code).toBe("SUI_BAD_CHECKPOINT");
  });

  it("submit: the client picks gas, signs, executes and waits; returns the digest", async () => {
    const transport = node();
    const digest = await anchorOn(transport, { initialSharedVersion: 5 }).submit(signed(1, [3]));
    expect(digest).toBe(digest58(3));
    expect(transport.count("sui_dryRunTransactionBlock")).toBe(1); // budget estimate
    expect(transport.count("sui_getTransactionBlock")).toBeGreaterThanOrEqual(1); // waited for it
    const [txB64, [signature]] = transport.calls.find((c) => c.method === "sui_executeTransactionBlock")!.params as [string, string[]];
    const bytes = fromBase64(txB64);
    expect(await keypair.getPublicKey().verifyTransaction(bytes, signature!)).toBe(true);
    const data = Transaction.from(bytes).getData();
    expect(data.gasData.payment!.map((p) => normalizeSuiObjectId(p.objectId))).toEqual([COIN]);
    expect(data.gasData.price).toBe("1000");
    // computation + 1000 × price of overhead + storage − rebate, from the dry run's gas used
    expect(data.gasData.budget).toBe(String(2_000_000 + 1000 * 1000 + 3_000_000 - 1_000_000));
    const call = data.commands[0]!.MoveCall!;
    const signers = bcs.vector(bcs.u64()).parse(pure(data.inputs[(call.arguments[11] as { Input: number }).Input]));
    expect(signers).toEqual(["0", "1", "2"]);
  });

  it("an abort in the gas estimate is SUI_FAILED naming the Move abort, and nothing is executed", async () => {
    const transport = node({ dryRun: effectsWire({ status: "failure", error: ABORT_TEXT(2) }, 2) });
    const e = await rejection(anchorOn(transport, { initialSharedVersion: 5 }).submit(signed(0)));
    expect(e.code).toBe("SUI_FAILED");
    expect(e.errorName).toBe("EWrongEpoch");
    expect(e.context.abortCode).toBe(2);
    expect(e.message).toContain("anchor::submit_checkpoint aborted with 2 (EWrongEpoch)");
    expect(e.message).toContain("epoch 1");
    expect(transport.count("sui_executeTransactionBlock")).toBe(0);
  });

  it("an abort in execution is SUI_FAILED too, also when the node sends only the raw abort text", async () => {
    const transport = node({ execute: effectsWire({ status: "failure", error: ABORT_TEXT(8) }) });
    // A fixed budget: no estimate, so the abort happens on chain.
    const e = await rejection(anchorOn(transport, { initialSharedVersion: 5, gasBudget: 50_000_000n }).submit(signed(0)));
    expect(transport.count("sui_dryRunTransactionBlock")).toBe(0);
    expect(transport.count("sui_executeTransactionBlock")).toBe(1);
    expect(e.code).toBe("SUI_FAILED");
    expect(e.errorName).toBe("ENotEnoughPower");
    expect(e.context.digest).toBe(digest58(3));
    expect(e.message).toContain(`failed in ${digest58(3)}: anchor::submit_checkpoint aborted with 8 (ENotEnoughPower)`);
    const [txB64] = transport.calls.find((c) => c.method === "sui_executeTransactionBlock")!.params as [string];
    expect(Transaction.from(fromBase64(txB64)).getData().gasData.budget).toBe("50000000");
  });

  it("a node that cannot be reached is SUI_RPC", async () => {
    const transport = new ScriptedNode({});
    const e = await rejection(anchorOn(transport).lastEpoch());
    expect(e.code).toBe("SUI_RPC");
    expect(e.message).toContain("sui_multiGetObjects");
  });
});

describe("MOVE_ABORTS", () => {
  it("names every abort constant of the Move sources by its code", () => {
    for (const module of ["anchor", "vault", "vault_math"]) {
      const src = readFileSync(new URL(`../../../contracts/move/sources/${module}.move`, import.meta.url), "utf8");
      const consts = Object.fromEntries([...src.matchAll(/const (E\w+): u64 = (\d+);/g)].map((m) => [Number(m[2]), m[1]]));
      expect(Object.keys(consts).length).toBeGreaterThan(0);
      expect(MOVE_ABORTS[module]).toEqual(consts);
    }
  });
});
