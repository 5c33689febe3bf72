/**
 * Pre-signed transfers for the throughput benchmarks (not measured): `perAccount`
 * per account, signed in two worker threads (bench/sign-worker.ts), interleaved so
 * consecutive transactions come from different senders, nonce order kept.
 */
import { Worker } from "node:worker_threads";

export async function presign(o: { chainId: string; label: string; accounts: number; perAccount: number; total: number }): Promise<Uint8Array[]> {
  const threads = 2;
  const step = Math.ceil(o.accounts / threads);
  const parts = await Promise.all(
    Array.from(
      { length: threads },
      (_, t) =>
        new Promise<Uint8Array[]>((resolve, reject) => {
          const w = new Worker(new URL("./sign-worker.ts", import.meta.url), {
            workerData: { chainId: o.chainId, label: o.label, accounts: o.accounts, from: t * step, to: Math.min(o.accounts, (t + 1) * step), perAccount: o.perAccount },
          });
          w.once("message", resolve);
          w.once("error", reject);
        }),
    ),
  );
  const out: Uint8Array[] = [];
  const per = parts.map((p) => p.length / o.perAccount);
  for (let n = 0; n < o.perAccount; n++) for (let t = 0; t < threads; t++) out.push(...parts[t]!.slice(n * per[t]!, (n + 1) * per[t]!));
  return out.slice(0, o.total);
}
