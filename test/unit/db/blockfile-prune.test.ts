/**
 * Block files under pruning: `deleteBefore` removes whole segment files below
 * a number (never the current one), a block in a kept file still reads, and
 * concurrent first reads of one file share one handle (two opens leaked one).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BlockFiles } from "../../../node/db/blockfile.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const openFds = () => readdirSync("/proc/self/fd").length;

describe("block files and pruning", () => {
  it("deletes whole segments below a file number, keeps the current one, and reads what is kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pouw-blkprune-"));
    dirs.push(dir);
    const f = new BlockFiles(dir, { maxFileBytes: 1000 });
    await f.recover(null);
    const locs = [];
    for (let i = 0; i < 20; i++) locs.push(await f.append([new Uint8Array(600).fill(i)]));
    expect(f.fileNumbers()).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await f.deleteBefore(15)).toBe(15);
    expect(f.fileNumbers()).toEqual([15, 16, 17, 18, 19]);
    expect((await f.read(locs[15]!))[0]).toBe(15);
    expect(await f.deleteBefore(15)).toBe(0); // idempotent
    expect(await f.deleteBefore(99)).toBe(4); // never the current file
    expect(f.fileNumbers()).toEqual([19]);
    expect((await f.read(locs[19]!))[0]).toBe(19);
    await f.close();
  });

  it("concurrent reads of one file open it once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pouw-blkprune-"));
    dirs.push(dir);
    const f = new BlockFiles(dir, { maxFileBytes: 1 << 20 });
    await f.recover(null);
    const locs = [];
    for (let i = 0; i < 10; i++) locs.push(await f.append([new Uint8Array(100).fill(i)]));
    const before = openFds();
    const got = await Promise.all(locs.map((l) => f.read(l)));
    expect(got.map((b) => b[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(openFds() - before).toBe(1);
    await f.close();
    expect(openFds()).toBeLessThan(before);
  });
});
