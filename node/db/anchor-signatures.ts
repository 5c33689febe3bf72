/**
 * Anchor signatures gathered for epoch checkpoints (DESIGN §9): each
 * validator's 65-byte signature under `u32 epoch ‖ 20-byte signer`, so a
 * restarted node (or relayer) still has what it collected. Callers check a
 * signature against the checkpoint before storing it. A put the disk refused
 * throws a StorageFault ("anchor signature store"), after telling `onFault`.
 */
import type { StorageFaultHandler } from "../util/storage-fault.ts";
import { Bucket, bucketKey, putBytes, type Level } from "./database.ts";

const key = (epoch: number, signer: Uint8Array): Uint8Array => {
  const id = new Uint8Array(24);
  new DataView(id.buffer).setUint32(0, epoch);
  id.set(signer, 4);
  return bucketKey(Bucket.anchorSignature, id);
};

export class AnchorSignatureStore {
  private readonly db: Level;
  private readonly onFault: StorageFaultHandler | null;

  constructor(db: Level, opts: { onFault?: StorageFaultHandler } = {}) {
    this.db = db;
    this.onFault = opts.onFault ?? null;
  }

  async put(epoch: number, signer: Uint8Array, signature: Uint8Array): Promise<void> {
    if (signer.length !== 20 || signature.length !== 65) throw new RangeError("an anchor signature is 65 bytes by a 20-byte signer");
    await putBytes(this.db, key(epoch, signer), signature, "anchor signature store", { onFault: this.onFault });
  }

  async has(epoch: number, signer: Uint8Array): Promise<boolean> {
    return (await this.db.get(key(epoch, signer))) !== undefined;
  }

  /** Signer address (lower-case hex, no 0x) → signature, for one epoch. */
  async list(epoch: number): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const gte = key(epoch, new Uint8Array(20));
    const lt = key(epoch, new Uint8Array(20).fill(0xff));
    for await (const [k, v] of this.db.iterator({ gte, lte: lt })) out.set(Buffer.from(k.subarray(5, 25)).toString("hex"), new Uint8Array(v));
    return out;
  }
}
