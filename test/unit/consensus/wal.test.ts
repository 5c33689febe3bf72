/** The consensus WAL file: round trip, in-place rewrite, and torn writes read as "no record". */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConsensusWal } from "../../../node/consensus/wal.ts";
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
