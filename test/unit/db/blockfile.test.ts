/** Append-only block files: reads back what was appended, and a restart cuts what the database never recorded. */
import { mkdtempSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BlockFiles, type BlockLocationT } from "../../../node/db/blockfile.ts";

const dir = mkdtempSync(join(tmpdir(), "pouw-blockfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe("BlockFiles", () => {
  it("appends parts as one record and reads it back", async () => {
    const f = new BlockFiles(join(dir, "a"));
    await f.recover(null);
    const a = await f.append([bytes(3, 1), bytes(5, 2)]);
    const b = await f.append([bytes(4, 3)]);
    expect(a).toEqual({ file: 0, offset: 0, length: 8 });
    expect(b).toEqual({ file: 0, offset: 8, length: 4 });
    expect([...(await f.read(a))]).toEqual([1, 1, 1, 2, 2, 2, 2, 2]);
    expect([...(await f.read(b))]).toEqual([3, 3, 3, 3]);
    await f.close();
  });

  it("splits parts across writev calls when there are many", async () => {
    const f = new BlockFiles(join(dir, "many"));
    await f.recover(null);
    const parts = Array.from({ length: 2000 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8));
    const loc = await f.append(parts);
    const back = await f.read(loc);
    expect(back.length).toBe(4000);
    expect(back[2 * 1500]).toBe(1500 & 0xff);
    expect(back[2 * 1999 + 1]).toBe(1999 >> 8);
    await f.close();
  });

  it("truncates bytes past the last committed block and deletes later files on recovery", async () => {
    const path = join(dir, "crash");
    let f = new BlockFiles(path, { maxFileBytes: 10 });
    await f.recover(null);
    const first = await f.append([bytes(6, 1)]);
    const second = await f.append([bytes(6, 2)]); // rotates into file 1
    await f.append([bytes(6, 3)]); // file 2: "appended but never recorded"
    expect(second.file).toBe(1);
    await f.close();
    expect(existsSync(join(path, "blk00002.dat"))).toBe(true);

    f = new BlockFiles(path, { maxFileBytes: 10 });
    await f.recover(first);
    expect(existsSync(join(path, "blk00001.dat"))).toBe(false);
    expect(existsSync(join(path, "blk00002.dat"))).toBe(false);
    expect(statSync(join(path, "blk00000.dat")).size).toBe(6);
    const next: BlockLocationT = await f.append([bytes(2, 9)]);
    expect(next).toEqual({ file: 0, offset: 6, length: 2 });
    expect([...(await f.read(first))]).toEqual([1, 1, 1, 1, 1, 1]);
    await f.close();
  });

  it("refuses to start when the file is shorter than the database says", async () => {
    const f = new BlockFiles(join(dir, "short"));
    await expect(f.recover({ file: 0, offset: 0, length: 100 })).rejects.toThrow(/expects at least 100/);
  });
});
