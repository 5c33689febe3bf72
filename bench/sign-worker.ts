/** Worker for bench/throughput.ts: signs transfer transactions (pre-signing is not part of what is measured). */
import { parentPort, workerData } from "node:worker_threads";
import { AccountKey } from "../node/crypto/keys.ts";
import { SignedTransaction, TxSelector } from "../node/types/transaction.ts";
import { signTransaction } from "../node/types/txcodec.ts";
import { utf8 } from "../node/util/hex.ts";

const { chainId, label, accounts, from, to, perAccount } = workerData as { chainId: string; label: string; accounts: number; from: number; to: number; perAccount: number };
const keys = Array.from({ length: accounts }, (_, i) => AccountKey.fromLabel(`${label}/account/${i}`));
const out: Uint8Array[] = [];
for (let n = 0; n < perAccount; n++) {
  for (let i = from; i < to; i++) {
    const key = keys[i]!;
    const signed = signTransaction(
      {
        chainId: utf8(chainId),
        nonce: BigInt(n),
        maxFeePerGas: 1_000n,
        maxPriorityFeePerGas: 1n + BigInt((i * 7 + n) % 5),
        gasLimit: 40_000,
        body: { selector: TxSelector.Transfer, value: { to: keys[(i + n + 1) % accounts]!.address, amount: 1_000n + BigInt(n) } },
        publicKey: key.publicKey,
      },
      key,
    );
    out.push(SignedTransaction.serialize(signed));
  }
}
parentPort!.postMessage(out);
