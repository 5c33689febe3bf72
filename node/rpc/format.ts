/** JSON shapes of chain objects over RPC: amounts as decimal strings, bytes as 0x hex, addresses as bech32m. */
import { encodeAddress } from "../crypto/address.ts";
import { toHex } from "../util/hex.ts";
import type { BlockHeaderT, CommitT, ReceiptT } from "../types/block.ts";
import { ReceiptStatus } from "../types/block.ts";
import type { TransferT } from "../types/transaction.ts";
import { TxSelector } from "../types/transaction.ts";
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

export function txJson(env: TxEnvelope): TxJson {
  const { tx } = env.signed;
  const body: TxJson["body"] = { type: env.type };
  if (tx.body.selector === TxSelector.Transfer) {
    const t = tx.body.value as TransferT;
    body.to = encodeAddress(t.to);
    body.amount = t.amount.toString();
  }
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
