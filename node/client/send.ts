/**
 * Building, signing and sending a transaction over RPC: the node's fee
 * suggestion, the account's next nonce and a gas limit of exactly the
 * intrinsic gas (the signature has a fixed size, so the encoded size is
 * known before signing). Every number must fit its field (./fits.ts:
 * ClientError VALUE_OUT_OF_RANGE otherwise). Used by the CLI and by the worker.
 */
import type { AccountKey } from "../crypto/keys.ts";
import { SignedTransaction, TX_TYPES, type TransactionT } from "../types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../types/txcodec.ts";
import { utf8 } from "../util/hex.ts";
import type { PouwClient, TransactionInfo } from "./client.ts";
import { assertBodyFits, assertFits } from "./fits.ts";

export interface SendOverrides {
  tip?: bigint;
  maxFee?: bigint;
  nonce?: bigint;
}

/** Signs `body` from `key` and submits it; returns the hash and the nonce used. */
export async function signAndSubmit(client: PouwClient, key: AccountKey, body: TransactionT["body"], o: SendOverrides = {}): Promise<{ hash: string; nonce: bigint }> {
  assertBodyFits(body, o); // a value too large for its field would be signed truncated to its low bytes
  const [info, account, fee] = await Promise.all([client.chainInfo(), client.getAccount(key.bech32, { proof: false }), client.estimateFee()]);
  const tip = o.tip ?? BigInt(fee.maxPriorityFeePerGas);
  const suggested = BigInt(fee.maxFeePerGas);
  const maxFee = o.maxFee ?? (suggested > tip ? suggested : tip);
  const tx: TransactionT = {
    chainId: utf8(info.chainId),
    nonce: o.nonce ?? BigInt(account.nonce),
    maxFeePerGas: maxFee,
    maxPriorityFeePerGas: tip,
    gasLimit: 0,
    body,
    publicKey: key.publicKey,
  };
  const size = SignedTransaction.serialize({ tx, signature: new Uint8Array(2420) }).length;
  const steps = TX_TYPES[body.selector] === "ChallengeProof" ? (body.value as { steps: number }).steps : 0;
  tx.gasLimit = (fee.gasSchedule.base[TX_TYPES[body.selector]!] ?? 0) + fee.gasSchedule.perByte * size + fee.gasSchedule.perVerifiedStep * steps;
  assertFits(tx);
  const signed = signTransaction(tx, key);
  const hash = await client.sendRawTransaction(SignedTransaction.serialize(signed));
  if (hash !== envelopeFromSigned(signed).hashHex) throw new Error(`the node reports hash ${hash} for transaction ${envelopeFromSigned(signed).hashHex}`);
  return { hash, nonce: tx.nonce };
}

/** `signAndSubmit`, then waits until it is finalized or rejected. */
export async function signAndWait(client: PouwClient, key: AccountKey, body: TransactionT["body"], o: SendOverrides & { timeoutMs?: number } = {}): Promise<TransactionInfo> {
  const { hash } = await signAndSubmit(client, key, body, o);
  return client.waitForTransaction(hash, { timeoutMs: o.timeoutMs ?? 60_000 });
}
