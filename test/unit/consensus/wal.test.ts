/** The consensus WAL file: round trip, in-place rewrite, and torn writes read as "no record". */
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConsensusWal, type WalRecord } from "../../../node/consensus/wal.ts";
import { openDb } from "../../../node/db/database.ts";
import { Block, type BlockT } from "../../../node/types/block.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const dir = mkdtempSync(join(tmpdir(), "pouw-wal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const a = AccountKey.fromLabel("wal-test/a");
const txs = Array.from({ length: 3 }, (_, i) => signedTransfer(a, { nonce: BigInt(i), to: a.address, amount: 1n }));

function block(height: number, n: number): BlockT {
  const b = Block.defaultValue();
  b.header.height = height;
  b.body.txs = txs.slice(0, n).map((t) => t.env.signed);
  return b;
}
const same = (x: BlockT, y: BlockT) => Buffer.from(Block.serialize(x)).equals(Buffer.from(Block.serialize(y)));

describe("ConsensusWal on a file", () => {
  it("returns the last record saved, rewritten in place", async () => {
    const db = await openDb(null);
    const path = join(dir, "wal-1");
    const wal = new ConsensusWal(db, path);
    expect(await wal.loadProposal()).toBeUndefined();
    await wal.saveProposal(0, block(7, 3), txs.map((t) => t.bytes));
    await wal.saveProposal(2, block(8, 1)); // smaller: the file must shrink to it
    await wal.close();
    const again = new ConsensusWal(db, path);
    const got = await again.loadProposal();
    expect(got?.round).toBe(2);
    expect(same(got!.block, block(8, 1))).toBe(true);
    await again.close();
    await db.close();
  });

  it("reads a torn or corrupted record as no record", async () => {
    const db = await openDb(null);
    const path = join(dir, "wal-2");
    const wal = new ConsensusWal(db, path);
    await wal.saveProposal(1, block(9, 3));
    await wal.close();
    const full = readFileSync(path);
    truncateSync(path, full.length - 10);
    expect(await new ConsensusWal(db, path).loadProposal()).toBeUndefined();
    const flipped = Buffer.from(full);
    flipped[full.length - 100] ^= 1;
    writeFileSync(path, flipped);
    expect(await new ConsensusWal(db, path).loadProposal()).toBeUndefined();
    writeFileSync(path, full);
    const ok = new ConsensusWal(db, path);
    expect((await ok.loadProposal())?.round).toBe(1);
    await ok.close();
    await db.close();
  });
});

const records: WalRecord[] = [
  { type: "proposal", height: 5, bytes: new Uint8Array([1, 2, 3]) },
  { type: "vote", height: 5, bytes: new Uint8Array(3000).fill(7) },
  { type: "timeout", height: 5, round: 2, step: "prevote" },
  { type: "ownVote", height: 5, bytes: new Uint8Array([9, 9]) },
  { type: "ownProposal", height: 5, round: 3, polRound: -1, blockHash: new Uint8Array(32).fill(4), signature: new Uint8Array(2420).fill(5) },
  { type: "vote", height: 6, bytes: new Uint8Array([6]) },
];
const plain = (rs: WalRecord[]) => rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v])));

describe("ConsensusWal message log", () => {
  for (const where of ["file", "database"] as const) {
    it(`keeps every kind of record in order across a reopen, and starts afresh with what is carried (${where})`, async () => {
      const db = await openDb(null);
      const path = where === "file" ? join(dir, `log-${Math.random()}`) : null;
      const wal = new ConsensusWal(db, path);
      expect(await wal.messages()).toEqual([]);
      for (const [i, r] of records.entries()) await wal.append(r, i === 3);
      await wal.close();
      const again = new ConsensusWal(db, path);
      expect(plain(await again.messages())).toEqual(plain(records));
      // A new height: only the carried record is left, and appends go after it.
      await again.resetLog([records[5]!]);
      await again.append({ type: "timeout", height: 6, round: 0, step: "propose" });
      await again.close();
      const third = new ConsensusWal(db, path);
      expect(plain(await third.messages())).toEqual(plain([records[5]!, { type: "timeout", height: 6, round: 0, step: "propose" }]));
      await third.close();
      await db.close();
    });
  }

  it("stops at a torn or corrupt frame, and later appends replace the torn tail", async () => {
    const db = await openDb(null);
    const path = join(dir, "log-torn");
    const wal = new ConsensusWal(db, path);
    for (const r of records) await wal.append(r);
    await wal.close();
    const full = statSync(`${path}.log`).size;
    truncateSync(`${path}.log`, full - 3); // the last frame torn
    const torn = new ConsensusWal(db, path);
    expect(plain(await torn.messages())).toEqual(plain(records.slice(0, 5)));
    await torn.append(records[5]!);
    await torn.close();
    expect(plain(await new ConsensusWal(db, path).messages())).toEqual(plain(records));
    // A flipped byte inside the second frame: only the first is read.
    const bytes = readFileSync(`${path}.log`);
    bytes[4 + 4 + 17 + 3 + 8 + 100] ^= 0xff;
    writeFileSync(`${path}.log`, bytes);
    const corrupt = new ConsensusWal(db, path);
    expect(plain(await corrupt.messages())).toEqual(plain(records.slice(0, 1)));
    await corrupt.close();
    await db.close();
  });
});
