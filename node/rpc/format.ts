/** JSON shapes of chain objects over RPC: amounts as decimal strings, bytes as 0x hex, addresses as bech32m. */
import { encodeAddress } from "../crypto/address.ts";
import { toHex } from "../util/hex.ts";
import type { BlockHeaderT, CommitT, ReceiptT } from "../types/block.ts";
import { ReceiptStatus } from "../types/block.ts";
import { ContainerType, ListBasicType, ListCompositeType, type Type } from "@chainsafe/ssz";
import { TxBody } from "../types/transaction.ts";
import { Address } from "../types/primitives.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import type { AccountProof } from "../state/proof.ts";
import type { CommitJson, HeaderJson, ProofJson, ReceiptJson, TxJson } from "../client/types.ts";

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

export function headerJson(h: BlockHeaderT, hash: Uint8Array): HeaderJson {
  return {
    hash: toHex(hash),
    chainId: text(h.chainId),
    height: h.height,
    time: h.time,
    lastBlockHash: toHex(h.lastBlockHash),
    lastCommitHash: toHex(h.lastCommitHash),
    txRoot: toHex(h.txRoot),
    attestationRoot: toHex(h.attestationRoot),
    evidenceRoot: toHex(h.evidenceRoot),
    stateRoot: toHex(h.stateRoot),
    validatorsHash: toHex(h.validatorsHash),
    nextValidatorsHash: toHex(h.nextValidatorsHash),
    proposer: encodeAddress(h.proposer),
    baseFeePerGas: h.baseFeePerGas.toString(),
    gasUsed: h.gasUsed,
  };
}

export function commitJson(c: CommitT): CommitJson {
  return {
    height: c.height,
    round: c.round,
    blockHash: toHex(c.blockHash),
    signatures: c.signatures.map((s) => ({ validator: encodeAddress(s.validator), signature: toHex(s.signature) })),
  };
}

/**
 * A body field as JSON, by its schema: account and validator addresses
 * (`Address`) as bech32m, other bytes as 0x hex, u64 as decimal strings,
 * smaller integers as numbers, lists as arrays, nested containers as objects.
 */
function fieldJson(type: Type<unknown>, v: unknown): unknown {
  if (type === Address) return encodeAddress(v as Uint8Array);
  if (v instanceof Uint8Array) return toHex(v);
  if (typeof v === "bigint") return v.toString();
  if (type instanceof ListBasicType || type instanceof ListCompositeType) return (v as unknown[]).map((x) => fieldJson(type.elementType as Type<unknown>, x));
  if (type instanceof ContainerType) return containerJson(type as ContainerType<Record<string, Type<unknown>>>, v as Record<string, unknown>);
  return v;
}

function containerJson(type: ContainerType<Record<string, Type<unknown>>>, v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { fieldName, fieldType } of type.fieldsEntries) out[fieldName] = fieldJson(fieldType, v[fieldName]);
  return out;
}

/** `{ type, ...the body's fields in schema order }` (docs/transactions.md §10). */
export function bodyJson(body: { selector: number; value: unknown }, typeName: string): TxJson["body"] {
  const type = TxBody.types[body.selector] as unknown as ContainerType<Record<string, Type<unknown>>>;
  return { type: typeName, ...containerJson(type, body.value as Record<string, unknown>) };
}

export function txJson(env: TxEnvelope): TxJson {
  const { tx } = env.signed;
  const body = bodyJson(tx.body, env.type);
  return {
    hash: env.hashHex,
    from: encodeAddress(env.sender),
    chainId: text(tx.chainId),
    nonce: tx.nonce.toString(),
    maxFeePerGas: tx.maxFeePerGas.toString(),
    maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
    gasLimit: tx.gasLimit,
    body,
    size: env.bytes.length,
  };
}

export function receiptJson(r: ReceiptT): ReceiptJson {
  return {
    status: r.status === ReceiptStatus.Success ? "success" : "failed",
    gasUsed: r.gasUsed,
    feeBurned: r.feeBurned.toString(),
    tip: r.tip.toString(),
    error: r.error.length ? text(r.error) : null,
  };
}

export function proofJson(p: AccountProof): ProofJson {
  return { index: p.index, gindex: p.gindex.toString(), witnesses: p.witnesses.map(toHex) };
}
