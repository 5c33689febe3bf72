/**
 * Consensus signatures checked off the event loop: each check joins the
 * batch of whatever else arrived in the same turn of the event loop (a burst
 * of gossiped votes), and the batch goes to a verifier of its own, so that a
 * vote never waits behind the mempool's transaction batches.
 */
export interface BatchVerifier {
  verifyBatch(items: readonly { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }[]): Promise<boolean[]>;
}

interface Pending {
  item: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array };
  resolve: (ok: boolean) => void;
  reject: (e: unknown) => void;
}

export class SignatureBatch {
  private readonly verifier: BatchVerifier;
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(verifier: BatchVerifier) {
    this.verifier = verifier;
  }

  /** Resolves to whether `signature` is `publicKey`'s over `message`. */
  check(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item: { publicKey, message, signature }, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    this.verifier.verifyBatch(batch.map((p) => p.item)).then(
      (oks) => batch.forEach((p, i) => p.resolve(oks[i] === true)),
      (e: unknown) => batch.forEach((p) => p.reject(e)),
    );
  }
}
