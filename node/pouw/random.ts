/**
 * Deterministic randomness for jobs: a stream of 32-bit words, SHA-256 in
 * counter mode over a domain tag and the inputs. Consensus code draws from
 * this, never from `Math.random()`.
 */
import { sha256 } from "../crypto/hash.ts";
import { concatBytes, utf8 } from "../util/hex.ts";

export class HashStream {
  private readonly prefix: Uint8Array;
  private counter = 0;
  private block = new Uint32Array(0);
  private at = 0;

  constructor(domain: string, ...parts: Uint8Array[]) {
    this.prefix = concatBytes(utf8(domain), ...parts);
  }

  /** The next word: little-endian u32s of SHA-256(prefix ‖ u32le(counter)), counter 0, 1, … */
  nextU32(): number {
    if (this.at === this.block.length) {
      const c = new Uint8Array(4);
      new DataView(c.buffer).setUint32(0, this.counter++, true);
      const h = sha256(this.prefix, c);
      const dv = new DataView(h.buffer, h.byteOffset, 32);
      this.block = new Uint32Array(8);
      for (let i = 0; i < 8; i++) this.block[i] = dv.getUint32(4 * i, true);
      this.at = 0;
    }
    return this.block[this.at++]!;
  }

  /** A word reduced modulo n (n ≤ 2^32; the slight modulo bias is part of the definition). */
  below(n: number): number {
    return this.nextU32() % n;
  }
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
