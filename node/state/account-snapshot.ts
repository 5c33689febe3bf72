/**
 * The account snapshot file: the accounts' columns as of one block, so a
 * restart reads one file instead of a million database records.
 *
 * It is a cache, never the truth: the database holds every account, and each
 * account write also marks the account in the current snapshot generation
 * (Bucket.accountTouched). A snapshot of generation g holds the accounts as
 * they were when writes switched to generation g, so the state is the file
 * plus the accounts marked in g or later. The loaded state's root is checked
 * against the head block's stateRoot; on any mismatch (a torn file, a crash
 * between the file and the database) the node reads every account from the
 * database instead, which is slow but right.
 *
 * Layout (little-endian): 64-byte header — magic "POUWACS1", u32 generation,
 * u32 reserved, u64 height, u64 count, 32 reserved bytes — then the count
 * addresses (20 bytes each), balances (u64 each), nonces (u64 each).
 */
import { readFileSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { endianness } from "node:os";
import { dirname } from "node:path";
import { ADDRESS_BYTES, type AccountColumns } from "./account-tree.ts";

const MAGIC = Buffer.from("POUWACS1");
const HEADER = 64;

export interface AccountSnapshot {
  gen: number;
  height: number;
  columns: AccountColumns;
}

/** Typed arrays are host-endian; the file is little-endian, so big-endian hosts do without snapshots. */
export const snapshotsSupported = endianness() === "LE";

/** The snapshot at `path`, or null when there is none or it is not a whole one (the caller reads the database). */
export function readAccountSnapshot(path: string): AccountSnapshot | null {
  if (!snapshotsSupported) return null;
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return null;
  }
  if (b.length < HEADER || !b.subarray(0, 8).equals(MAGIC)) return null;
  const gen = b.readUInt32LE(8);
  const height = Number(b.readBigUInt64LE(16));
  const count = Number(b.readBigUInt64LE(24));
  if (!Number.isSafeInteger(count) || b.length !== HEADER + count * (ADDRESS_BYTES + 16)) return null;
  let at = HEADER;
  const addresses = new Uint8Array(b.subarray(at, (at += count * ADDRESS_BYTES)));
  const balances = new BigUint64Array(count);
  new Uint8Array(balances.buffer).set(b.subarray(at, (at += count * 8)));
  const nonces = new BigUint64Array(count);
  new Uint8Array(nonces.buffer).set(b.subarray(at, (at += count * 8)));
  return { gen, height, columns: { count, addresses, balances, nonces } };
}

/**
 * Writes the snapshot durably: a temporary file, fsync, rename over the old
 * one, fsync of the directory. Asynchronous (a million accounts are 36 MB),
 * so the columns must be a copy nobody changes meanwhile.
 */
export async function writeAccountSnapshot(path: string, s: AccountSnapshot): Promise<void> {
  if (!snapshotsSupported) return;
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(s.gen, 8);
  header.writeBigUInt64LE(BigInt(s.height), 16);
  header.writeBigUInt64LE(BigInt(s.columns.count), 24);
  const c = s.columns;
  const parts = [
    header,
    c.addresses.subarray(0, c.count * ADDRESS_BYTES),
    new Uint8Array(c.balances.buffer, c.balances.byteOffset, c.count * 8),
    new Uint8Array(c.nonces.buffer, c.nonces.byteOffset, c.count * 8),
  ];
  const tmp = `${path}.tmp`;
  const f = await open(tmp, "w", 0o600);
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += (await f.write(p, off, p.length - off)).bytesWritten;
    }
    await f.sync();
  } finally {
    await f.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
