/**
 * The account snapshot file on a real LevelDB: a clean close and a crash
 * (the database closed with blocks after the last snapshot) both reopen from
 * the snapshot to the head's state root; a torn, corrupted or stale file is
 * noticed and every account is read from the database instead, with the
 * same root, and a fresh snapshot is written for the next start.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, copyFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AccountKey } from "../../node/crypto/keys.ts";
import { Bucket } from "../../node/db/database.ts";
import { ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { signedTransfer } from "../helpers/tx.ts";

const net = makeTestNet({ accounts: 6, label: "account-snapshot" });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function home() {
  const dir = mkdtempSync(join(tmpdir(), "pouw-accsnap-"));
  dirs.push(dir);
  const warnings: string[] = [];
  const disk = { dbDir: join(dir, "data"), blocksDir: join(dir, "blocks"), accountSnapshot: join(dir, "accounts.snapshot"), warn: (m: string) => warnings.push(m) };
  return { dir, disk, warnings, open: () => ChainDriver.open(net.genesisJson, net.validators, disk) };
}

const nonces = new Map<string, bigint>();
/** `n` blocks of transfers, each also paying a brand-new account (the list grows). */
async function blocks(d: ChainDriver, n: number, tag: string): Promise<void> {
  for (let b = 0; b < n; b++) {
    const txs = net.accounts.slice(0, 3).map((k, i) => {
      const nonce = nonces.get(k.bech32) ?? 0n;
      nonces.set(k.bech32, nonce + 1n);
      const to = i === 0 ? AccountKey.fromLabel(`${tag}/${b}`).address : net.accounts[(i + 1) % net.accounts.length]!.address;
      return signedTransfer(k, { nonce, to, amount: 1000n + BigInt(b) }).env;
    });
    const r = await d.next(txs);
    expect(r.receipts.every((x) => x.status === 0)).toBe(true);
  }
}

/** A clean stop: the chain (its last snapshot), then the database. */
async function shut(d: ChainDriver): Promise<void> {
  await d.chain.close();
  await d.db.close();
}

async function touchedMarks(d: ChainDriver): Promise<number> {
  let n = 0;
  for await (const _ of d.db.keys({ gte: Uint8Array.of(Bucket.accountTouched), lt: Uint8Array.of(Bucket.accountTouched + 1) })) n++;
  return n;
}

describe("account snapshot", () => {
  it("a clean close writes the snapshot; the reopened chain loads it and has the same root and accounts", async () => {
    nonces.clear();
    const h = home();
    const d = await h.open();
    expect(d.chain.accountsSource).toBe("genesis");
    await blocks(d, 5, "clean");
    const root = hex(d.chain.world.root);
    const accounts = [...d.chain.world.accounts].map((a) => [hex(a.address), a.balance, a.nonce]);
    expect(await touchedMarks(d)).toBeGreaterThan(0);
    await shut(d);
    const e = await h.open();
    expect(e.chain.accountsSource).toBe("snapshot");
    expect(hex(e.chain.world.root)).toBe(root);
    expect([...e.chain.world.accounts].map((a) => [hex(a.address), a.balance, a.nonce])).toEqual(accounts);
    // The close's snapshot made the earlier marks unnecessary.
    expect(await touchedMarks(e)).toBe(0);
    expect(h.warnings).toEqual([]);
    // And it keeps committing on top.
    await blocks(e, 2, "clean2");
    await shut(e);
  });

  it("after a crash (blocks after the last snapshot, no close) the snapshot plus the touched accounts give the head's root", async () => {
    nonces.clear();
    const h = home();
    const d = await h.open();
    await blocks(d, 3, "crash-a");
    await d.chain.snapshotAccounts();
    await blocks(d, 4, "crash-b"); // after the snapshot, including new accounts
    const root = hex(d.chain.world.root);
    const count = d.chain.world.accounts.count;
    await d.db.close(); // the process dies: no final snapshot
    const e = await h.open();
    expect(e.chain.accountsSource).toBe("snapshot");
    expect(hex(e.chain.world.root)).toBe(root);
    expect(e.chain.world.accounts.count).toBe(count);
    expect(h.warnings).toEqual([]);
    await blocks(e, 1, "crash-c");
    await shut(e);
  });

  it("a torn, a corrupted, a missing and a stale snapshot are each noticed: every account is read from the database, and a good snapshot replaces it", async () => {
    nonces.clear();
    const h = home();
    const d = await h.open();
    await blocks(d, 2, "bad-a");
    await shut(d);
    const stale = `${h.disk.accountSnapshot}.stale`;
    copyFileSync(h.disk.accountSnapshot, stale);
    let e = await h.open();
    await blocks(e, 3, "bad-b");
    await shut(e);
    const root = hex(e.chain.world.root);
    const good = readFileSync(h.disk.accountSnapshot);

    const cases: [string, () => void, RegExp][] = [
      ["torn", () => truncateSync(h.disk.accountSnapshot, statSync(h.disk.accountSnapshot).size - 7), /damaged \(\d+ bytes/],
      ...[20 * 6 + 64 + 3, good.length - 5].map((at): [string, () => void, RegExp] => [
        `a byte flipped at ${at} (a balance, a leaf root)`,
        () => {
          const b = Buffer.from(good);
          b[at] ^= 0x40;
          writeFileSync(h.disk.accountSnapshot, b);
        },
        /damaged \(checksum mismatch\)/,
      ]),
      ["missing", () => rmSync(h.disk.accountSnapshot), /^$/],
      // A whole but older snapshot, whose later marks were deleted when the newer one was written.
      ["stale", () => copyFileSync(stale, h.disk.accountSnapshot), /does not (give the head's state root|fit the database)/],
    ];
    for (const [what, damage, warning] of cases) {
      damage();
      h.warnings.length = 0;
      e = await h.open();
      expect(e.chain.accountsSource, what).toBe("database");
      expect(hex(e.chain.world.root), what).toBe(root);
      expect(h.warnings.join("\n"), what).toMatch(warning);
      await shut(e);
      // The open wrote a good snapshot again.
      h.warnings.length = 0;
      e = await h.open();
      expect(e.chain.accountsSource, what).toBe("snapshot");
      expect(hex(e.chain.world.root), what).toBe(root);
      await shut(e);
    }
  });
});
