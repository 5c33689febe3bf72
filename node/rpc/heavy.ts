/**
 * Heavy reads (a block with its transactions, a blob) bounded so that RPC
 * cannot starve consensus of the event loop or grow memory without end:
 * a small global semaphore (a request waits for a slot; between two heavy
 * requests the loop gets a turn), chunked building that yields between
 * chunks, and the JSON of recent blocks kept once as bytes (LRU) so that
 * the same block asked for a hundred times is built once and every
 * response shares its buffer.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

/** A result already serialized: the server splices it into the response without parsing or copying it. */
export class RawJson {
  readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/** Lets timers, I/O and consensus run before the caller goes on. */
export function yieldToLoop(): Promise<void> {
  return nextTurn();
}

export interface HeavyReadOptions {
  /** Heavy requests handled at once, across all connections. */
  concurrency: number;
  /** Serialized block JSON kept, in bytes and in entries. */
  cacheBytes: number;
  cacheEntries: number;
}

export class HeavyReads {
  private readonly o: HeavyReadOptions;
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;

  constructor(o: HeavyReadOptions) {
    this.o = o;
  }

  /** Runs `fn` when a slot is free; the next waiter starts only after the event loop has had a turn. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.active >= this.o.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiters.shift();
      if (next) void yieldToLoop().then(next); // the slot passes on, after a turn of the loop
      else this.active--;
    }
  }

  get(key: string): Buffer | undefined {
    const b = this.cache.get(key);
    if (b) {
      this.cache.delete(key);
      this.cache.set(key, b);
    }
    return b;
  }

  set(key: string, bytes: Buffer): void {
    if (bytes.length > this.o.cacheBytes) return;
    const old = this.cache.get(key);
    if (old) {
      this.cache.delete(key);
      this.cacheBytes -= old.length;
    }
    while (this.cache.size > 0 && (this.cache.size >= this.o.cacheEntries || this.cacheBytes + bytes.length > this.o.cacheBytes)) {
      const [k, v] = this.cache.entries().next().value as [string, Buffer];
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
    this.cache.set(key, bytes);
    this.cacheBytes += bytes.length;
  }

  stats(): { active: number; waiting: number; cachedBlocks: number; cachedBytes: number } {
    return { active: this.active, waiting: this.waiters.length, cachedBlocks: this.cache.size, cachedBytes: this.cacheBytes };
  }
}

/** What the server lends a method: the heavy-read semaphore and the block JSON cache. */
export interface MethodContext {
  heavy: HeavyReads;
}

/** For methods called directly (tests, tools) rather than through the server: the same bound on heavy work, no cache. */
export const DIRECT_CONTEXT: MethodContext = { heavy: new HeavyReads({ concurrency: 2, cacheBytes: 0, cacheEntries: 0 }) };
