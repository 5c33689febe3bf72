/**
 * Storage faults from real errors: /dev/full (ENOSPC on every write), and a
 * small tmpfs filled up under LevelDB and the block files. Each part's write
 * failure becomes a StorageFault naming what and where; other errors stay as
 * they are; the block files come back at the last recorded block once there
 * is room again.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BlobStore } from "../../../node/db/blobs.ts";
import { BlockFiles, type BlockLocationT } from "../../../node/db/blockfile.ts";
import { DatabaseLockedError, openDb, putBytes, writeBatch, bucketKey, Bucket } from "../../../node/db/database.ts";
import { asStorageFault, freeBytes, guardWrite, isStorageFault, StorageFault, storageFaultLine } from "../../../node/util/storage-fault.ts";
import { fillFilesystem, mountTmpfs, unmountTmpfs } from "../../helpers/tmpfs.ts";

function devFullError(): unknown {
  try {
    writeFileSync("/dev/full", "x");
  } catch (e) {
    return e;
  }
  throw new Error("/dev/full accepted a write");
}

describe("isStorageFault and wrapping, with real errors", () => {
  it("ENOSPC from /dev/full is a storage fault; asStorageFault names what and where", () => {
    const raw = devFullError();
    expect((raw as NodeJS.ErrnoException).code).toBe("ENOSPC");
    expect(isStorageFault(raw)).toBe(true);
    const f = asStorageFault(raw, "privval state", "/dev/full");
    expect(f).toBeInstanceOf(StorageFault);
    const sf = f as StorageFault;
    expect([sf.what, sf.path, sf.errno, sf.code]).toEqual(["privval state", "/dev/full", "ENOSPC", "STORAGE_FAULT"]);
    expect(sf.cause).toBe(raw);
    expect(isStorageFault(sf)).toBe(true);
    // Wrapping twice keeps the first (most specific) wrapper.
    expect(asStorageFault(sf, "database", null)).toBe(sf);
    // A write that stored fewer bytes than asked is the disk running out too (no errno: the OS says so on the next write).
    const short = asStorageFault(new Error("short write to the consensus WAL: 1619 of 2502 bytes"), "consensus WAL", "/data/consensus-wal");
    expect(short).toBeInstanceOf(StorageFault);
    expect(storageFaultLine(short as StorageFault, 0)).toBe(
      "Storage fault: consensus WAL at /data/consensus-wal: short write to the consensus WAL: 1619 of 2502 bytes; free space on that filesystem: 0 bytes (statfs); stopping",
    );
    // A fault somewhere down the cause chain counts.
    expect(isStorageFault(new Error("commit failed", { cause: raw }))).toBe(true);
  });

  it("errors that are not the disk's stay as they are", () => {
    let enoent: unknown;
    try {
      readFileSync("/nonexistent/pouw");
    } catch (e) {
      enoent = e;
    }
    for (const e of [enoent, new TypeError("bad input"), new Error("IO error: lock /x/LOCK: already held by process"), "ENOSPC", null]) {
      expect(isStorageFault(e)).toBe(false);
      expect(asStorageFault(e, "database", null)).toBe(e);
    }
  });

  it("a LevelDB held by another opener (its LOCK) is not a disk fault, though LevelDB calls it an IO error", async () => {
    const path = mkdtempSync(join(tmpdir(), "pouw-lock-"));
    const a = await openDb(path);
    const err = await openDb(path).catch((e: unknown) => e);
    // openDb names it (DatabaseLockedError, so pouw start can say "home … is in use"); LevelDB's own words stay below.
    expect(err).toBeInstanceOf(DatabaseLockedError);
    expect(String(((err as Error).cause as { cause?: Error }).cause?.message)).toMatch(/IO error: lock/);
    expect(isStorageFault(err)).toBe(false);
    expect(isStorageFault((err as Error).cause)).toBe(false);
    await a.close();
    rmSync(path, { recursive: true, force: true });
  });

  it("guardWrite wraps a refused write, tells onFault once and throws the fault", async () => {
    const seen: StorageFault[] = [];
    const err = await guardWrite("blob store", "/dev/full", () => writeFile("/dev/full", new Uint8Array(10)), (f) => seen.push(f)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFault);
    expect(seen).toEqual([err]);
    // Other failures pass through untouched and are not reported.
    const other = await guardWrite("blob store", null, () => Promise.reject(new RangeError("too big")), (f) => seen.push(f)).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(RangeError);
    expect(seen).toHaveLength(1);
  });

  it("the fault line says what, where, the errno and the free space", () => {
    const f = new StorageFault("block file", "/data/blocks/blk00000.dat", devFullError());
    expect(storageFaultLine(f, 0)).toBe("Storage fault: block file at /data/blocks/blk00000.dat: ENOSPC; free space on that filesystem: 0 bytes (statfs); stopping");
    // statfs of a path not yet created: its nearest existing parent's filesystem.
    expect(freeBytes("/tmp/does/not/exist/yet")).toBeGreaterThan(0);
  });
});

describe("on a full filesystem (tmpfs)", () => {
  const dir = mountTmpfs(8, "storage-fault-unit");
  afterAll(() => {
    if (dir) unmountTmpfs(dir);
  });

  it.skipIf(!dir)("LevelDB writes become StorageFaults naming the part; the database reopens intact after room is made", async () => {
    const path = join(dir!, "db");
    let db = await openDb(path);
    const key = (i: number) => bucketKey(Bucket.meta, Uint8Array.of(i >> 8, i & 0xff));
    await writeBatch(db, [{ type: "put", key: key(0), value: new Uint8Array(100).fill(7) }], "chain database");
    const filler = fillFilesystem(dir!);
    const faults: StorageFault[] = [];
    let err: unknown;
    for (let i = 1; i < 2000 && !err; i++) {
      err = await putBytes(db, key(i), new Uint8Array(1000).fill(i & 0xff), "privval state", { sync: true, onFault: (f) => faults.push(f) }).catch((e: unknown) => e);
    }
    expect(err).toBeInstanceOf(StorageFault);
    const f = err as StorageFault;
    expect([f.what, f.path, f.errno]).toEqual(["privval state", path, "ENOSPC"]);
    expect(faults).toEqual([f]);
    expect(freeBytes(f.path)).toBe(0);
    // The blob store says so too.
    const blobErr = await new BlobStore(db, { onFault: (x) => faults.push(x) }).put(new Uint8Array(100_000).fill(1)).catch((e: unknown) => e);
    expect(blobErr).toBeInstanceOf(StorageFault);
    expect((blobErr as StorageFault).what).toBe("blob store");
    expect(faults).toHaveLength(2);
    await db.close().catch(() => undefined);

    rmSync(filler);
    db = await openDb(path);
    expect([...((await db.get(key(0))) ?? [])]).toEqual(new Array(100).fill(7));
    await writeBatch(db, [{ type: "put", key: key(1), value: Uint8Array.of(1) }], "chain database");
    await db.close();
  });

  it.skipIf(!dir)("a block-file append the disk refuses is a StorageFault; recovery cuts the partial write back to the last recorded block", async () => {
    const path = join(dir!, "blocks");
    let files = new BlockFiles(path);
    await files.recover(null);
    const block = (fill: number) => new Uint8Array(3000).fill(fill);
    let last: BlockLocationT = await files.append([block(1)]);
    const filler = fillFilesystem(dir!);
    let err: unknown;
    for (let i = 2; i < 100 && !err; i++) {
      try {
        last = await files.append([block(i), block(i)]);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(StorageFault);
    expect((err as StorageFault).what).toBe("block file");
    expect((err as StorageFault).path).toBe(join(path, "blk00000.dat"));
    expect((err as StorageFault).errno).toBe("ENOSPC");
    await files.close().catch(() => undefined);

    rmSync(filler);
    files = new BlockFiles(path);
    await files.recover(last);
    expect(statSync(join(path, "blk00000.dat")).size).toBe(last.offset + last.length);
    const next = await files.append([block(9)]);
    expect(next.offset).toBe(last.offset + last.length);
    expect((await files.read(next))[0]).toBe(9);
    await files.close();
  });
});
