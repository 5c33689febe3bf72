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
 * Layout (little-endian): 64-byte header — magic "POUWACS2", u32 generation,
 * u32 reserved, u64 height, u64 count, SHA-256 of the body — then the count
 * addresses (20 bytes each), balances (u64 each), nonces (u64 each) and the
 * accounts' leaf roots (32 bytes each: a restart does not hash a million
 * accounts again). The checksum catches a damaged file; the state-root check
 * catches a whole but stale one.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { endianness } from "node:os";
import { dirname } from "node:path";
import { ADDRESS_BYTES, type AccountColumns } from "./account-tree.ts";

const MAGIC = Buffer.from("POUWACS2");
const PER_ACCOUNT = ADDRESS_BYTES + 8 + 8 + 32;
const HEADER = 64;

export interface AccountSnapshot {
  gen: number;
  height: number;
  columns: AccountColumns;
  /** Leaf root of each account (32 bytes each). */
  leaves: Uint8Array;
}

/** Typed arrays are host-endian; the file is little-endian, so big-endian hosts do without snapshots. */
export const snapshotsSupported = endianness() === "LE";

/** The file is there but not a whole snapshot (torn, damaged, another format). */
export class SnapshotDamaged extends Error {}

/** The snapshot at `path`, or null when there is none; throws SnapshotDamaged when it is not a whole one. */
export function readAccountSnapshot(path: string): AccountSnapshot | null {
  if (!snapshotsSupported) return null;
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new SnapshotDamaged(`cannot read it: ${(e as Error).message}`);
  }
  if (b.length < HEADER || !b.subarray(0, 8).equals(MAGIC)) throw new SnapshotDamaged("not a snapshot of this format");
  const gen = b.readUInt32LE(8);
  const height = Number(b.readBigUInt64LE(16));
  const count = Number(b.readBigUInt64LE(24));
  if (!Number.isSafeInteger(count) || b.length !== HEADER + count * PER_ACCOUNT) throw new SnapshotDamaged(`${b.length} bytes, ${count} accounts need ${HEADER + count * PER_ACCOUNT}`);
  if (!createHash("sha256").update(b.subarray(HEADER)).digest().equals(b.subarray(32, 64))) throw new SnapshotDamaged("checksum mismatch");
  let at = HEADER;
  const addresses = new Uint8Array(b.subarray(at, (at += count * ADDRESS_BYTES)));
  const balances = new BigUint64Array(count);
  new Uint8Array(balances.buffer).set(b.subarray(at, (at += count * 8)));
  const nonces = new BigUint64Array(count);
  new Uint8Array(nonces.buffer).set(b.subarray(at, (at += count * 8)));
  const leaves = new Uint8Array(b.subarray(at, (at += count * 32)));
  return { gen, height, columns: { count, addresses, balances, nonces }, leaves };
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
  const body = [
    c.addresses.subarray(0, c.count * ADDRESS_BYTES),
    new Uint8Array(c.balances.buffer, c.balances.byteOffset, c.count * 8),
    new Uint8Array(c.nonces.buffer, c.nonces.byteOffset, c.count * 8),
    s.leaves.subarray(0, c.count * 32),
  ];
  const sum = createHash("sha256");
  for (const p of body) sum.update(p);
  sum.digest().copy(header, 32);
  const parts = [header, ...body];
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
  await syncDir(dirname(path));
}

/** fsync of a directory: a file renamed into it stays renamed across a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
