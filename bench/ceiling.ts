/**
 * The same-run verification ceiling the benchmarks compare against: two
 * worker threads doing nothing but ML-DSA verification of the given
 * signatures (at most 10,000, in pairs of 250-item batches), after `warm`
 * items have cached their keys, as a node's workers have.
 */
import { SignatureVerifier, type VerifyItem } from "../node/mempool/verifier.ts";

export async function verificationCeiling(all: readonly VerifyItem[], warm: number): Promise<number> {
  const verifier = new SignatureVerifier({ threads: 2 });
  try {
    const items = all.slice(0, 10_000);
    await verifier.verifyBatch(items.slice(0, warm));
    const t0 = performance.now();
    for (let i = 0; i < items.length; i += 500) await Promise.all([verifier.verifyBatch(items.slice(i, i + 250)), verifier.verifyBatch(items.slice(i + 250, i + 500))]);
    return (items.length * 1000) / (performance.now() - t0);
  } finally {
    await verifier.close();
  }
}
