import type { AccountKey } from "../../node/crypto/keys.ts";
import { SignedTransaction, TxSelector, type TransactionT } from "../../node/types/transaction.ts";
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
