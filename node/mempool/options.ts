/** Mempool limits. Defaults follow geth's spirit, scaled for ~3.8 KB ML-DSA transactions. */
export interface MempoolOptions {
  /** Most transactions held (ready and queued). */
  maxTxs: number;
  /** Most encoded bytes held. */
  maxBytes: number;
  /** Most transactions one sender may have waiting. */
  maxPerSender: number;
  /** How far past the account nonce a transaction may be queued (nonce ≤ account nonce + this). */
  maxNonceAhead: number;
  /** A replacement (same sender and nonce) must raise both fee caps by at least this percentage. */
  replaceBumpPercent: number;
  /**
   * How many replaced transactions are remembered (hash → the hash that
   * replaced it), oldest forgotten first, so `pouw_getTransaction` can answer
   * `replaced` after the replacement is included too. About 200 bytes each.
   */
  maxRemembered: number;
}

export const DEFAULT_MEMPOOL_OPTIONS: MempoolOptions = {
  maxTxs: 30_000,
  maxBytes: 128 * 1024 * 1024,
  maxPerSender: 128,
  maxNonceAhead: 128,
  replaceBumpPercent: 10,
  maxRemembered: 10_000,
};

export function mempoolOptions(partial: Partial<MempoolOptions> = {}): MempoolOptions {
  const o = { ...DEFAULT_MEMPOOL_OPTIONS };
  for (const [k, v] of Object.entries(partial) as [keyof MempoolOptions, number | undefined][]) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`mempool option ${k} must be a non-negative integer, got ${v}`);
    o[k] = v;
  }
  return o;
}
