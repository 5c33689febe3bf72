/**
 * The node's admission pipeline: transactions arriving one at a time (an RPC
 * call each, a gossip message each) are decoded and checked by their caller
 * on arrival, then queued here and handed on in micro-batches — everything
 * that arrived during one turn of the event loop, up to `maxBatch` — so the
 * signature workers get batches instead of one round trip per transaction.
 * A few batches stay in flight at once, so the main thread prepares the
 * next while the workers verify the last. Each caller gets its own item's
 * result, exactly as the batch handler gives it.
 */

export interface AdmissionOptions {
  /** Most transactions handed to the mempool in one batch. */
  maxBatch: number;
  /** Most batches being verified at once. */
  maxInFlight: number;
}

export const DEFAULT_ADMISSION: AdmissionOptions = { maxBatch: 512, maxInFlight: 4 };

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class AdmissionQueue<T, R> {
  private readonly handle: (items: readonly T[]) => Promise<R[]>;
  private readonly opts: AdmissionOptions;
  private queue: Waiting<T, R>[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Batches sent to the mempool and transactions in them (for tests and metrics). */
  batches = 0;
  admittedThrough = 0;

  /** `handle` answers a batch with one result per item, in order. */
  constructor(handle: (items: readonly T[]) => Promise<R[]>, opts: Partial<AdmissionOptions> = {}) {
    this.handle = handle;
    this.opts = { ...DEFAULT_ADMISSION, ...opts };
  }

  /** Queued, not yet handed to the mempool. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with the batch handler's result for `item`. */
  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.opts.maxInFlight) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: every request that arrived with this one joins its batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const batch = this.queue.length <= this.opts.maxBatch ? this.queue : this.queue.slice(0, this.opts.maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      this.inFlight++;
      this.batches++;
      this.admittedThrough += batch.length;
      this.handle(batch.map((w) => w.item)).then(
        (results) => {
          batch.forEach((w, i) => w.resolve(results[i]!));
          this.done();
        },
        (e: unknown) => {
          for (const w of batch) w.reject(e);
          this.done();
        },
      );
    }
  }

  private done(): void {
    this.inFlight--;
    this.schedule();
  }
}
