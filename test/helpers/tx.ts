import { keccak_256 } from "@noble/hashes/sha3.js";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { SignedTransaction, TxSelector, type JobSpecT, type TransactionT } from "../../node/types/transaction.ts";
import { envelopeFromSigned, signTransaction, type TxEnvelope } from "../../node/types/txcodec.ts";
import { utf8 } from "../../node/util/hex.ts";

export interface TransferSpec {
  chainId?: string;
  nonce: bigint;
  to: Uint8Array;
  amount: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasLimit?: number;
}

export function transferTx(key: AccountKey, s: TransferSpec): TransactionT {
  return {
    chainId: utf8(s.chainId ?? "pouw-test-1"),
    nonce: s.nonce,
    maxFeePerGas: s.maxFeePerGas ?? 10n,
    maxPriorityFeePerGas: s.maxPriorityFeePerGas ?? 1n,
    gasLimit: s.gasLimit ?? 40_000,
    body: { selector: TxSelector.Transfer, value: { to: s.to, amount: s.amount } },
    publicKey: key.publicKey,
  };
}

export function signedTransfer(key: AccountKey, s: TransferSpec): { env: TxEnvelope; bytes: Uint8Array } {
  const signed = signTransaction(transferTx(key, s), key);
  const bytes = SignedTransaction.serialize(signed);
  return { env: envelopeFromSigned(signed, bytes), bytes };
}

export interface TxSpec {
  chainId?: string;
  nonce: bigint;
  body: TransactionT["body"];
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasLimit?: number;
}

/** Any transaction type, signed (staking bodies need more gas than a transfer: the default limit is 200,000). */
export function signedTx(key: AccountKey, s: TxSpec): { env: TxEnvelope; bytes: Uint8Array } {
  const tx: TransactionT = {
    chainId: utf8(s.chainId ?? "pouw-test-1"),
    nonce: s.nonce,
    maxFeePerGas: s.maxFeePerGas ?? 10n,
    maxPriorityFeePerGas: s.maxPriorityFeePerGas ?? 1n,
    gasLimit: s.gasLimit ?? 200_000,
    body: s.body,
    publicKey: key.publicKey,
  };
  const signed = signTransaction(tx, key);
  const bytes = SignedTransaction.serialize(signed);
  return { env: envelopeFromSigned(signed, bytes), bytes };
}

export const body = {
  /** The anchor address defaults to one derived from the consensus key (distinct per key, never zero). */
  createValidator: (consensusKey: Uint8Array, amount: bigint, commissionBps = 1000, anchorAddress: Uint8Array = keccak_256(consensusKey).slice(12)) => ({
    selector: TxSelector.CreateValidator,
    value: { consensusKey, anchorAddress, commissionBps, amount },
  }),
  delegate: (validator: Uint8Array, amount: bigint) => ({ selector: TxSelector.Delegate, value: { validator, amount } }),
  undelegate: (validator: Uint8Array, shares: bigint) => ({ selector: TxSelector.Undelegate, value: { validator, shares } }),
  unjail: () => ({ selector: TxSelector.Unjail, value: { reserved: 0 } }),
  withdrawRewards: (validator: Uint8Array = new Uint8Array(20)) => ({ selector: TxSelector.WithdrawRewards, value: { validator } }),
  createJob: (spec: JobSpecT, reward: bigint, workerBond: bigint) => ({ selector: TxSelector.CreateJob, value: { spec, reward, workerBond } }),
  cancelJob: (jobId: Uint8Array) => ({ selector: TxSelector.CancelJob, value: { jobId } }),
  submitProof: (jobId: Uint8Array, commitment: { checkpointsRoot: Uint8Array; count: number; finalWeightsHash: Uint8Array; claimedMetric: number; bond: bigint }) => ({
    selector: TxSelector.SubmitProof,
    value: { jobId, commitment },
  }),
};
