/**
 * test/vectors/transfer.json against the code and against docs/transactions.md:
 * every expected value comes from the vector file; the code under test (and a
 * from-scratch SSZ encoder/hasher written from the doc's rules) must reproduce
 * it, and a real in-process devnet node must accept the signed bytes.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { bech32m } from "@scure/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TxErrorCode } from "../../../node/chain/errors.ts";
import { effectiveTip, intrinsicGas } from "../../../node/chain/fees.ts";
import { addressFromPublicKey, decodeAddress, encodeAddress } from "../../../node/crypto/address.ts";
import { AccountKey, devValidatorLabel } from "../../../node/crypto/keys.ts";
import { hasNativeMlDsa, NativeMlDsa, NobleMlDsa } from "../../../node/crypto/mldsa.ts";
import { PouwNode } from "../../../node/node.ts";
import { toJsonRpcError } from "../../../node/rpc/errors.ts";
import { methods } from "../../../node/rpc/methods.ts";
import { parseGenesis, type GenesisJson } from "../../../node/types/genesis.ts";
import { Address, Amount, ChainId, PublicKey, Signature, Uint64, UintNum64 } from "../../../node/types/primitives.ts";
import { SignedTransaction, Transaction, Transfer, TX_TYPES, TxBody, type TransactionT } from "../../../node/types/transaction.ts";
import { decodeTransaction, signTransaction, TX_DOMAIN, txSigningMessage } from "../../../node/types/txcodec.ts";
import { bytesEqual, fromHex, toHex, utf8 } from "../../../node/util/hex.ts";
import { PouwError } from "../../../node/util/errors.ts";

interface Vector {
  sender: { label: string; seed: string; publicKey: string; address: string; bech32: string };
  recipient: { label: string; address: string; bech32: string };
  transaction: {
    chainId: string;
    nonce: string;
    maxFeePerGas: string;
    maxPriorityFeePerGas: string;
    gasLimit: number;
    body: { type: string; selector: number; to: string; amount: string };
    publicKey: string;
  };
  gas: { base: number; perByte: number; signedSize: number; intrinsic: number };
  ssz: { transfer: string; body: string; transaction: string };
  layout: { field: string; start: number; end: number; hex: string }[];
  roots: Record<"chainId" | "nonce" | "maxFeePerGas" | "maxPriorityFeePerGas" | "gasLimit" | "transferTo" | "transferAmount" | "transfer" | "body" | "publicKey" | "signature", string>;
  txRoot: string;
  signingDomain: { text: string; hex: string };
  signingMessage: string;
  signature: string;
  signedTransaction: string;
  txHash: string;
}

const v = JSON.parse(readFileSync(new URL("../../vectors/transfer.json", import.meta.url), "utf8")) as Vector;
const genesisJson = readFileSync(new URL("../../../genesis/devnet.json", import.meta.url), "utf8");
const t = v.transaction;
const hex = (b: Uint8Array) => toHex(b);

/** The Transaction exactly as the vector's fields describe it. */
function txFromVector(): TransactionT {
  return {
    chainId: utf8(t.chainId),
    nonce: BigInt(t.nonce),
    maxFeePerGas: BigInt(t.maxFeePerGas),
    maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas),
    gasLimit: t.gasLimit,
    body: { selector: t.body.selector, value: { to: fromHex(t.body.to), amount: BigInt(t.body.amount) } },
    publicKey: fromHex(t.publicKey),
  };
}

const signedBytes = fromHex(v.signedTransaction);
const sig = fromHex(v.signature);
const message = fromHex(v.signingMessage);
const publicKey = fromHex(v.sender.publicKey);
const slice = (field: string): Uint8Array => {
  const e = v.layout.find((l) => l.field === field);
  if (!e) throw new Error(`no layout entry ${field}`);
  return signedBytes.subarray(e.start, e.end);
};

/** SSZ written from the rules in docs/transactions.md, with nothing but SHA-256. */
const scratch = {
  sha: (...parts: Uint8Array[]) => new Uint8Array(createHash("sha256").update(Buffer.concat(parts)).digest()),
  u64le: (x: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(x);
    return new Uint8Array(b);
  },
  u32le: (x: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(x);
    return new Uint8Array(b);
  },
  /** Split into 32-byte chunks, the last one zero-padded. */
  chunks(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 32) {
      const c = new Uint8Array(32);
      c.set(bytes.subarray(i, i + 32));
      out.push(c);
    }
    return out;
  },
  /** Pad the chunk count with zero chunks to the next power of two (of `limit` if given), hash pairwise up to one root. */
  merkleize(chunks: Uint8Array[], limit = chunks.length): Uint8Array {
    let width = 1;
    while (width < limit) width *= 2;
    let level = [...chunks];
    while (level.length < width) level.push(new Uint8Array(32));
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(scratch.sha(level[i]!, level[i + 1]!));
      level = next;
    }
    return level[0]!;
  },
  /** hash(root ‖ n as a 32-byte little-endian integer): lengths of lists, selectors of unions. */
  mixIn(root: Uint8Array, n: number): Uint8Array {
    const c = new Uint8Array(32);
    new DataView(c.buffer).setUint32(0, n, true);
    return scratch.sha(root, c);
  },
  uint64Root: (x: bigint) => scratch.merkleize(scratch.chunks(scratch.u64le(x))),
  vectorRoot: (bytes: Uint8Array) => scratch.merkleize(scratch.chunks(bytes)),
  /** ByteList[max]: merkleize to ceil(max/32) chunks, then mix in the byte length. */
  byteListRoot: (bytes: Uint8Array, max: number) => scratch.mixIn(scratch.merkleize(scratch.chunks(bytes), Math.ceil(max / 32)), bytes.length),
};

describe("transfer vector: encoding", () => {
  it("re-encoding the fields gives the recorded Transfer, body, Transaction bytes and txRoot", () => {
    const tx = txFromVector();
    expect(TX_TYPES[t.body.selector]).toBe(t.body.type);
    expect(hex(Transfer.serialize(tx.body.value as { to: Uint8Array; amount: bigint }))).toBe(v.ssz.transfer);
    expect(hex(TxBody.serialize(tx.body))).toBe(v.ssz.body);
    expect(hex(Transaction.serialize(tx))).toBe(v.ssz.transaction);
    expect(hex(Transaction.hashTreeRoot(tx))).toBe(v.txRoot);
  });

  it("every field root matches the recorded one", () => {
    const tx = txFromVector();
    const transfer = tx.body.value as { to: Uint8Array; amount: bigint };
    expect(hex(ChainId.hashTreeRoot(tx.chainId))).toBe(v.roots.chainId);
    expect(hex(Uint64.hashTreeRoot(tx.nonce))).toBe(v.roots.nonce);
    expect(hex(Amount.hashTreeRoot(tx.maxFeePerGas))).toBe(v.roots.maxFeePerGas);
    expect(hex(Amount.hashTreeRoot(tx.maxPriorityFeePerGas))).toBe(v.roots.maxPriorityFeePerGas);
    expect(hex(UintNum64.hashTreeRoot(tx.gasLimit))).toBe(v.roots.gasLimit);
    expect(hex(Address.hashTreeRoot(transfer.to))).toBe(v.roots.transferTo);
    expect(hex(Amount.hashTreeRoot(transfer.amount))).toBe(v.roots.transferAmount);
    expect(hex(Transfer.hashTreeRoot(transfer))).toBe(v.roots.transfer);
    expect(hex(TxBody.hashTreeRoot(tx.body))).toBe(v.roots.body);
    expect(hex(PublicKey.hashTreeRoot(tx.publicKey))).toBe(v.roots.publicKey);
    expect(hex(Signature.hashTreeRoot(sig))).toBe(v.roots.signature);
  });

  it("the documented byte layout tiles the signed bytes and each range holds its field", () => {
    const tx = txFromVector();
    const transfer = tx.body.value as { to: Uint8Array; amount: bigint };
    let at = 0;
    for (const l of v.layout) {
      expect(l.start).toBe(at);
      expect(hex(signedBytes.subarray(l.start, l.end))).toBe(l.hex);
      at = l.end;
    }
    expect(at).toBe(signedBytes.length);
    const txStart = v.layout.find((l) => l.field === "tx.chainIdOffset")!.start;
    // Offsets are u32 little-endian, relative to the start of their own container.
    expect(Buffer.from(slice("signedTransaction.txOffset")).readUInt32LE()).toBe(txStart);
    expect(Buffer.from(slice("tx.chainIdOffset")).readUInt32LE()).toBe(v.layout.find((l) => l.field === "tx.chainId")!.start - txStart);
    expect(Buffer.from(slice("tx.bodyOffset")).readUInt32LE()).toBe(v.layout.find((l) => l.field === "tx.body.selector")!.start - txStart);
    expect(hex(slice("signature"))).toBe(v.signature);
    expect(hex(slice("tx.nonce"))).toBe(hex(Uint64.serialize(tx.nonce)));
    expect(hex(slice("tx.maxFeePerGas"))).toBe(hex(Amount.serialize(tx.maxFeePerGas)));
    expect(hex(slice("tx.maxPriorityFeePerGas"))).toBe(hex(Amount.serialize(tx.maxPriorityFeePerGas)));
    expect(hex(slice("tx.gasLimit"))).toBe(hex(UintNum64.serialize(tx.gasLimit)));
    expect(hex(slice("tx.publicKey"))).toBe(v.sender.publicKey);
    expect(Buffer.from(slice("tx.chainId")).toString("utf8")).toBe(t.chainId);
    expect(slice("tx.body.selector")[0]).toBe(t.body.selector);
    expect(hex(slice("tx.body.transfer.to"))).toBe(t.body.to);
    expect(hex(slice("tx.body.transfer.amount"))).toBe(hex(Amount.serialize(transfer.amount)));
    expect(hex(signedBytes.subarray(txStart))).toBe(v.ssz.transaction);
    expect(hex(SignedTransaction.serialize({ tx, signature: sig }))).toBe(v.signedTransaction);
  });

  it("a from-scratch encoder and hasher following the doc reproduce the bytes, txRoot and tx hash", () => {
    const s = scratch;
    const chainId = utf8(t.chainId);
    const to = fromHex(t.body.to);
    const body = new Uint8Array([t.body.selector, ...to, ...s.u64le(BigInt(t.body.amount))]);
    const fixedLen = 4 + 8 + 8 + 8 + 8 + 4 + publicKey.length;
    const txBytes = Buffer.concat([
      s.u32le(fixedLen),
      s.u64le(BigInt(t.nonce)),
      s.u64le(BigInt(t.maxFeePerGas)),
      s.u64le(BigInt(t.maxPriorityFeePerGas)),
      s.u64le(BigInt(t.gasLimit)),
      s.u32le(fixedLen + chainId.length),
      publicKey,
      chainId,
      body,
    ]);
    expect(hex(txBytes)).toBe(v.ssz.transaction);
    expect(hex(Buffer.concat([s.u32le(4 + sig.length), sig, txBytes]))).toBe(v.signedTransaction);

    const transferRoot = s.merkleize([s.vectorRoot(to), s.uint64Root(BigInt(t.body.amount))]);
    expect(hex(transferRoot)).toBe(v.roots.transfer);
    const bodyRoot = s.mixIn(transferRoot, t.body.selector);
    expect(hex(bodyRoot)).toBe(v.roots.body);
    expect(hex(s.byteListRoot(chainId, 32))).toBe(v.roots.chainId);
    expect(hex(s.vectorRoot(publicKey))).toBe(v.roots.publicKey);
    const txRoot = s.merkleize([
      s.byteListRoot(chainId, 32),
      s.uint64Root(BigInt(t.nonce)),
      s.uint64Root(BigInt(t.maxFeePerGas)),
      s.uint64Root(BigInt(t.maxPriorityFeePerGas)),
      s.uint64Root(BigInt(t.gasLimit)),
      bodyRoot,
      s.vectorRoot(publicKey),
    ]);
    expect(hex(txRoot)).toBe(v.txRoot);
    const sigRoot = s.vectorRoot(sig);
    expect(hex(sigRoot)).toBe(v.roots.signature);
    expect(hex(s.sha(txRoot, sigRoot))).toBe(v.txHash);
  });

  it("the gas limit is the intrinsic gas of the signed encoding", () => {
    expect(signedBytes.length).toBe(v.gas.signedSize);
    expect(v.gas.base + v.gas.perByte * v.gas.signedSize).toBe(v.gas.intrinsic);
    const { params } = parseGenesis(JSON.parse(genesisJson) as GenesisJson);
    expect(params.gas.base.Transfer).toBe(v.gas.base);
    expect(params.gas.perByte).toBe(v.gas.perByte);
    expect(intrinsicGas(decodeTransaction(signedBytes), params)).toBe(t.gasLimit);
  });
});

describe("transfer vector: keys, signature, hash", () => {
  it("the signing message is the domain tag followed by txRoot", () => {
    expect(new TextDecoder().decode(fromHex(v.signingDomain.hex))).toBe(v.signingDomain.text);
    expect(hex(TX_DOMAIN)).toBe(v.signingDomain.hex);
    expect(v.signingMessage).toBe(v.signingDomain.hex + v.txRoot.slice(2));
    expect(hex(txSigningMessage(fromHex(v.txRoot)))).toBe(v.signingMessage);
    expect(message.length).toBe(42);
  });

  it("the seed is sha256 of the published label and both backends derive the recorded public key", () => {
    const seed = fromHex(v.sender.seed);
    expect(seed.length).toBe(32);
    expect(hex(scratch.sha(utf8(v.sender.label)))).toBe(v.sender.seed);
    expect(hex(new NobleMlDsa().publicKeyFromSeed(seed))).toBe(v.sender.publicKey);
    if (hasNativeMlDsa()) expect(hex(new NativeMlDsa().publicKeyFromSeed(seed))).toBe(v.sender.publicKey);
  });

  it("the addresses derive from the public keys as documented (sha256 prefix, bech32m 'pouw')", () => {
    const derived = scratch.sha(utf8("pouw/addr/v1"), Uint8Array.of(0x01), publicKey).subarray(0, 20);
    expect(hex(derived)).toBe(v.sender.address);
    expect(hex(addressFromPublicKey(publicKey))).toBe(v.sender.address);
    expect(bech32m.encode("pouw", bech32m.toWords(derived))).toBe(v.sender.bech32);
    expect(encodeAddress(fromHex(v.sender.address))).toBe(v.sender.bech32);
    expect(hex(decodeAddress(v.recipient.bech32))).toBe(v.recipient.address);
    expect(t.body.to).toBe(v.recipient.address);
    const recipientKey = new NobleMlDsa().publicKeyFromSeed(scratch.sha(utf8(v.recipient.label)));
    expect(hex(addressFromPublicKey(recipientKey))).toBe(v.recipient.address);
  });

  it("the signature verifies with noble, and not over another message", () => {
    const noble = new NobleMlDsa();
    expect(noble.verify(publicKey, message, sig)).toBe(true);
    const other = message.slice();
    other[other.length - 1]! ^= 1;
    expect(noble.verify(publicKey, other, sig)).toBe(false);
  });

  it.skipIf(!hasNativeMlDsa())("the signature verifies with node:crypto's native ML-DSA-44, and not over another message", () => {
    const native = new NativeMlDsa();
    expect(native.verify(publicKey, message, sig)).toBe(true);
    const other = message.slice();
    other[0]! ^= 1;
    expect(native.verify(publicKey, other, sig)).toBe(false);
  });

  it("re-signing deterministically with noble reproduces the signature", () => {
    const noble = new NobleMlDsa();
    const seed = fromHex(v.sender.seed);
    expect(hex(noble.sign(seed, message, { deterministic: true }))).toBe(v.signature);
    const signed = signTransaction(txFromVector(), new AccountKey(seed, noble), { deterministic: true });
    expect(hex(signed.signature)).toBe(v.signature);
    expect(hex(SignedTransaction.serialize(signed))).toBe(v.signedTransaction);
  });

  it("the signed bytes decode to the recorded hash, sender and fields", () => {
    const env = decodeTransaction(signedBytes);
    expect(env.hashHex).toBe(v.txHash);
    expect(hex(env.hash)).toBe(hex(SignedTransaction.hashTreeRoot(env.signed)));
    expect("0x" + env.senderHex).toBe(v.sender.address);
    expect(env.type).toBe(t.body.type);
    expect(hex(env.signingMessage)).toBe(v.signingMessage);
    expect(Transaction.equals(env.signed.tx, txFromVector())).toBe(true);
  });
});

describe("transfer vector: a devnet node accepts it", () => {
  let node: PouwNode;
  const balance = (addrHex: string) => node.chain.world.getAccount(fromHex(addrHex))!;
  const rejection = async (bytes: Uint8Array): Promise<PouwError> => {
    const err = await node.submitTransaction(bytes).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PouwError);
    return err as PouwError;
  };

  beforeAll(async () => {
    node = await PouwNode.create({ dataDir: null, genesisJson, validatorKey: AccountKey.fromLabel(devValidatorLabel(0)), rpc: null });
  });
  afterAll(async () => {
    await node?.close();
  });

  it("estimates the vector's gas limit as the Transfer gas of the devnet", () => {
    const fee = methods.pouw_estimateFee!(node, []) as { transferGas: number };
    expect(fee.transferGas).toBe(t.gasLimit);
    expect(node.genesis.chainId).toBe(t.chainId);
  });

  it("rejects a one-byte change anywhere that matters with BAD_SIGNATURE or MALFORMED_TX", async () => {
    const cases: [string, number, string][] = [
      ["signedTransaction.txOffset", 0, TxErrorCode.MALFORMED_TX],
      ["signature", 0, TxErrorCode.BAD_SIGNATURE],
      ["signature", 2419, TxErrorCode.BAD_SIGNATURE],
      ["tx.chainIdOffset", 0, TxErrorCode.MALFORMED_TX],
      ["tx.nonce", 0, TxErrorCode.BAD_SIGNATURE],
      ["tx.bodyOffset", 0, TxErrorCode.MALFORMED_TX],
      ["tx.body.selector", 0, TxErrorCode.MALFORMED_TX],
      ["tx.body.transfer.to", 7, TxErrorCode.BAD_SIGNATURE],
      ["tx.body.transfer.amount", 0, TxErrorCode.BAD_SIGNATURE],
    ];
    for (const [field, i, code] of cases) {
      const bytes = signedBytes.slice();
      bytes[v.layout.find((l) => l.field === field)!.start + i]! ^= 0x01;
      const err = await rejection(bytes);
      expect({ field, code: err.code }).toEqual({ field, code });
      // What a wallet sees over JSON-RPC.
      const rpc = toJsonRpcError(err);
      expect(rpc.code).toBe(-32000);
      expect(rpc.data?.code).toBe(code);
    }
    expect(node.mempool.size).toBe(0);
  });

  it("admits the signed bytes, includes them in the next block and moves the amount", async () => {
    const before = { sender: balance(v.sender.address).balance, recipient: balance(v.recipient.address).balance };
    expect(balance(v.sender.address).nonce).toBe(0n);
    const env = await node.submitTransaction(fromHex(v.signedTransaction));
    expect(env.hashHex).toBe(v.txHash);
    expect(((await methods.pouw_getTransaction!(node, [v.txHash])) as { status: string }).status).toBe("pending");

    await node.consensus!.step();
    const head = node.chain.head.header;
    expect(head.height).toBe(1);
    expect(node.mempool.size).toBe(0);
    const after = balance(v.sender.address);
    expect(balance(v.recipient.address).balance - before.recipient).toBe(BigInt(t.body.amount));
    expect(after.nonce).toBe(1n);
    const gas = BigInt(t.gasLimit);
    const tip = effectiveTip(BigInt(t.maxFeePerGas), BigInt(t.maxPriorityFeePerGas), head.baseFeePerGas);
    expect(before.sender - after.balance).toBe(BigInt(t.body.amount) + gas * (head.baseFeePerGas + tip));

    const info = (await methods.pouw_getTransaction!(node, [v.txHash])) as {
      status: string;
      from: string;
      blockHeight: number;
      receipt: { status: string; gasUsed: number; feeBurned: string; tip: string; error: string | null };
    };
    expect(info.status).toBe("finalized");
    expect(info.from).toBe(v.sender.bech32);
    expect(info.blockHeight).toBe(1);
    expect(info.receipt).toEqual({ status: "success", gasUsed: t.gasLimit, feeBurned: (gas * head.baseFeePerGas).toString(), tip: (gas * tip).toString(), error: null });

    const replay = await rejection(fromHex(v.signedTransaction));
    expect(replay.code).toBe(TxErrorCode.NONCE_TOO_LOW);
    expect(bytesEqual(fromHex(v.signedTransaction), signedBytes)).toBe(true);
  });
});
