/** `pouw tx transfer`: build, sign, submit and follow a transfer. */
import { decodeAddress, encodeAddress } from "../crypto/address.ts";
import { PouwClient, PouwRpcError } from "../client/client.ts";
import { SignedTransaction, TxSelector } from "../types/transaction.ts";
import { envelopeFromSigned, signTransaction } from "../types/txcodec.ts";
import { utf8 } from "../util/hex.ts";
import { formatPouw, parsePouw } from "./amount.ts";
import { Keyring } from "./keyring.ts";

export interface TransferOptions {
  from: string;
  to: string;
  amount: string;
  rpc: string;
  keyring?: string;
  tip?: string;
  maxFee?: string;
  nonce?: string;
  wait: boolean;
  json?: boolean;
}

export async function transferCommand(opts: TransferOptions): Promise<void> {
  const keyring = new Keyring(opts.keyring);
  const to = opts.to.startsWith("pouw1") ? decodeAddress(opts.to) : keyring.get(opts.to).address;
  const key = keyring.get(opts.from);
  const amount = parsePouw(opts.amount);
  const client = new PouwClient(opts.rpc);
  const [info, account, fee] = await Promise.all([client.chainInfo(), client.getAccount(key.bech32, { proof: false }), client.estimateFee()]);
  const tip = opts.tip !== undefined ? BigInt(opts.tip) : BigInt(fee.maxPriorityFeePerGas);
  const maxFee = opts.maxFee !== undefined ? BigInt(opts.maxFee) : BigInt(fee.maxFeePerGas) > tip ? BigInt(fee.maxFeePerGas) : tip;
  const tx = {
    chainId: utf8(info.chainId),
    nonce: opts.nonce !== undefined ? BigInt(opts.nonce) : BigInt(account.nonce),
    maxFeePerGas: maxFee,
    maxPriorityFeePerGas: tip,
    gasLimit: fee.transferGas,
    body: { selector: TxSelector.Transfer, value: { to, amount } },
    publicKey: key.publicKey,
  };
  const signed = signTransaction(tx, key);
  const env = envelopeFromSigned(signed);
  const out = (o: Record<string, unknown>, text: string) => console.log(opts.json ? JSON.stringify(o) : text);
  const hash = await client.sendRawTransaction(SignedTransaction.serialize(signed));
  if (!opts.wait) {
    out({ hash, status: "pending" }, `sent ${formatPouw(amount)} POUW from ${key.bech32} to ${encodeAddress(to)}\n  tx ${hash} pending`);
    return;
  }
  if (!opts.json) console.log(`sent ${formatPouw(amount)} POUW from ${key.bech32} to ${encodeAddress(to)}\n  tx ${hash} (nonce ${tx.nonce}) waiting for finality…`);
  const final = await client.waitForTransaction(env.hashHex, { timeoutMs: 60_000 });
  if (final.status === "finalized") {
    const r = final.receipt;
    if (opts.json) console.log(JSON.stringify(final));
    else {
      console.log(`  ${r.status === "success" ? "finalized" : `FAILED (${r.error})`} in block ${final.blockHeight}; fee ${formatPouw(BigInt(r.feeBurned) + BigInt(r.tip))} POUW (${r.gasUsed} gas)`);
    }
    if (r.status !== "success") process.exitCode = 1;
  } else {
    out(final as Record<string, unknown>, `  rejected: ${final.status === "rejected" ? `${final.error.code}: ${final.error.message}` : final.status}`);
    process.exitCode = 1;
  }
}

export function describeRpcError(e: unknown): string {
  if (e instanceof PouwRpcError) return `${e.code}: ${e.message}`;
  if (e instanceof TypeError && /fetch failed/.test(e.message)) return `cannot reach the node (${(e.cause as Error)?.message ?? e.message})`;
  return (e as Error).message ?? String(e);
}
