/**
 * The private validator's double-sign protection, on memory-level and on
 * classic-level (where it must survive closing and reopening the database).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { voteSigningMessage } from "../../../node/chain/commit.ts";
import { PrivValidator, SignStep } from "../../../node/consensus/privval.ts";
import { ConsensusErrorCode } from "../../../node/consensus/errors.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { NobleMlDsa, hasNativeMlDsa, NativeMlDsa } from "../../../node/crypto/mldsa.ts";
import { openDb, type Level } from "../../../node/db/database.ts";
import { VoteType } from "../../../node/types/block.ts";

const key = AccountKey.fromLabel("privval-test/validator");
const chainId = new TextEncoder().encode("pouw-privval-1");
const hash = (n: number) => new Uint8Array(32).fill(n);
const NIL = new Uint8Array(32);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const verifiers = [new NobleMlDsa(), ...(hasNativeMlDsa() ? [new NativeMlDsa()] : [])];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Backend {
  name: string;
  /** Opens the database; `reopen` returns a fresh handle on the same data (classic-level) or null (memory). */
  open(): Promise<{ db: Level; reopen: (() => Promise<Level>) | null }>;
}

const backends: Backend[] = [
  { name: "memory-level", open: async () => ({ db: await openDb(null), reopen: null }) },
  {
    name: "classic-level",
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "pouw-privval-"));
      dirs.push(dir);
      const path = join(dir, "db");
      return { db: await openDb(path), reopen: () => openDb(path) };
    },
  },
];

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `non-coded ${(e as Error).name}`;
  }
  return undefined;
}

for (const backend of backends) {
  describe(`PrivValidator on ${backend.name}`, () => {
    it("signs a vote that verifies under the key's public key with voteSigningMessage, and nothing else", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      expect(pv.lastSigned).toBeNull();
      const sig = await pv.signVote(VoteType.Prevote, 3, 1, hash(7));
      const msg = voteSigningMessage(chainId, VoteType.Prevote, 3, 1, hash(7));
      for (const v of verifiers) {
        expect(v.verify(key.publicKey, msg, sig)).toBe(true);
        // bound to every field of the vote, and to the chain
        expect(v.verify(key.publicKey, voteSigningMessage(chainId, VoteType.Precommit, 3, 1, hash(7)), sig)).toBe(false);
        expect(v.verify(key.publicKey, voteSigningMessage(chainId, VoteType.Prevote, 4, 1, hash(7)), sig)).toBe(false);
        expect(v.verify(key.publicKey, voteSigningMessage(chainId, VoteType.Prevote, 3, 0, hash(7)), sig)).toBe(false);
        expect(v.verify(key.publicKey, voteSigningMessage(chainId, VoteType.Prevote, 3, 1, hash(8)), sig)).toBe(false);
        expect(v.verify(key.publicKey, voteSigningMessage(new TextEncoder().encode("pouw-other-1"), VoteType.Prevote, 3, 1, hash(7)), sig)).toBe(false);
        expect(v.verify(AccountKey.fromLabel("privval-test/other").publicKey, msg, sig)).toBe(false);
      }
      expect(pv.lastSigned).toMatchObject({ height: 3, round: 1, step: SignStep.Prevote });
      await db.close();
    });

    it("signing the same (height, round, step, hash) twice returns the same signature", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      const a = await pv.signVote(VoteType.Precommit, 10, 0, hash(1));
      const b = await pv.signVote(VoteType.Precommit, 10, 0, hash(1));
      expect(hex(b)).toBe(hex(a));
      // The hash is compared by value, not by reference.
      const c = await pv.signVote(VoteType.Precommit, 10, 0, Uint8Array.from(hash(1)));
      expect(hex(c)).toBe(hex(a));
      await db.close();
    });

    it("refuses a different hash (or nil) at the same HRS with DOUBLE_SIGN_REFUSED, and keeps the first", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      const first = await pv.signVote(VoteType.Prevote, 5, 2, hash(1));
      expect(await codeOf(pv.signVote(VoteType.Prevote, 5, 2, hash(2)))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
      expect(await codeOf(pv.signVote(VoteType.Prevote, 5, 2, NIL))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
      expect(hex(pv.lastSigned!.blockHash)).toBe(hex(hash(1)));
      expect(hex(await pv.signVote(VoteType.Prevote, 5, 2, hash(1)))).toBe(hex(first));
      await db.close();
    });

    it("refuses an earlier HRS with SIGN_REGRESSION (earlier height, round, or step)", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      await pv.signVote(VoteType.Prevote, 8, 3, hash(1));
      expect(await codeOf(pv.signVote(VoteType.Prevote, 7, 3, hash(1)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      expect(await codeOf(pv.signVote(VoteType.Precommit, 7, 9, hash(1)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      expect(await codeOf(pv.signVote(VoteType.Prevote, 8, 2, hash(1)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      // Proposal is the earliest step of a round: after a prevote at (8, 3) it is a regression.
      expect(await codeOf(pv.signVote(VoteType.Proposal, 8, 3, hash(1)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      // Later steps, rounds and heights are fine, and each becomes the new floor.
      await pv.signVote(VoteType.Precommit, 8, 3, hash(1));
      expect(await codeOf(pv.signVote(VoteType.Prevote, 8, 3, hash(1)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      await pv.signVote(VoteType.Proposal, 8, 4, hash(2));
      await pv.signVote(VoteType.Prevote, 9, 0, NIL);
      expect(pv.lastSigned).toMatchObject({ height: 9, round: 0, step: SignStep.Prevote });
      expect(await codeOf(pv.signVote(VoteType.Precommit, 8, 4, hash(2)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      await db.close();
    });

    it("rejects an unknown vote type without changing what it last signed", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      await pv.signVote(VoteType.Prevote, 1, 0, hash(1));
      await expect(pv.signVote(99, 2, 0, hash(1))).rejects.toThrow(TypeError);
      expect(pv.lastSigned).toMatchObject({ height: 1, round: 0, step: SignStep.Prevote });
      // and it still works afterwards
      await pv.signVote(VoteType.Precommit, 1, 0, hash(1));
      await db.close();
    });

    it("two concurrent requests for different hashes at one HRS: exactly one is signed", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      const results = await Promise.allSettled([pv.signVote(VoteType.Precommit, 4, 0, hash(1)), pv.signVote(VoteType.Precommit, 4, 0, hash(2))]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(rejected.reason).toMatchObject({ code: ConsensusErrorCode.DOUBLE_SIGN_REFUSED });
      await db.close();
    });

    it("a second PrivValidator opened on the same database inherits the last signed state", async () => {
      const { db } = await backend.open();
      const pv = await PrivValidator.open(db, key, chainId);
      const sig = await pv.signVote(VoteType.Precommit, 12, 1, hash(3));
      const again = await PrivValidator.open(db, key, chainId);
      expect(again.lastSigned).toMatchObject({ height: 12, round: 1, step: SignStep.Precommit });
      expect(hex(await again.signVote(VoteType.Precommit, 12, 1, hash(3)))).toBe(hex(sig));
      expect(await codeOf(again.signVote(VoteType.Precommit, 12, 1, hash(4)))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
      expect(await codeOf(again.signVote(VoteType.Prevote, 12, 1, hash(3)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
      await db.close();
    });
  });
}

describe("PrivValidator on classic-level across a close and reopen", () => {
  it("keeps refusing double signs and regressions, and returns the stored signature for the same vote", async () => {
    const { db, reopen } = await backends[1]!.open();
    const pv = await PrivValidator.open(db, key, chainId);
    await pv.signVote(VoteType.Prevote, 20, 0, hash(5));
    const precommit = await pv.signVote(VoteType.Precommit, 20, 0, hash(5));
    await db.close();

    const db2 = await reopen!();
    const pv2 = await PrivValidator.open(db2, key, chainId);
    expect(pv2.lastSigned).toMatchObject({ height: 20, round: 0, step: SignStep.Precommit });
    expect(hex(pv2.lastSigned!.blockHash)).toBe(hex(hash(5)));
    // Signing is hedged (randomized), so returning the same bytes proves they came from disk.
    expect(hex(await pv2.signVote(VoteType.Precommit, 20, 0, hash(5)))).toBe(hex(precommit));
    expect(await codeOf(pv2.signVote(VoteType.Precommit, 20, 0, hash(6)))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
    expect(await codeOf(pv2.signVote(VoteType.Precommit, 20, 0, NIL))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
    expect(await codeOf(pv2.signVote(VoteType.Prevote, 20, 0, hash(5)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
    expect(await codeOf(pv2.signVote(VoteType.Precommit, 19, 5, hash(5)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
    for (const v of verifiers) expect(v.verify(key.publicKey, voteSigningMessage(chainId, VoteType.Precommit, 20, 0, hash(5)), precommit)).toBe(true);
    // Moving on persists too.
    const next = await pv2.signVote(VoteType.Prevote, 21, 0, hash(9));
    await db2.close();

    const db3 = await reopen!();
    const pv3 = await PrivValidator.open(db3, key, chainId);
    expect(pv3.lastSigned).toMatchObject({ height: 21, round: 0, step: SignStep.Prevote });
    expect(hex(await pv3.signVote(VoteType.Prevote, 21, 0, hash(9)))).toBe(hex(next));
    expect(await codeOf(pv3.signVote(VoteType.Prevote, 21, 0, hash(10)))).toBe(ConsensusErrorCode.DOUBLE_SIGN_REFUSED);
    expect(await codeOf(pv3.signVote(VoteType.Precommit, 20, 0, hash(5)))).toBe(ConsensusErrorCode.SIGN_REGRESSION);
    await db3.close();
  });

  it("a refused request leaves nothing on disk that changes what is signed after a reopen", async () => {
    const { db, reopen } = await backends[1]!.open();
    const pv = await PrivValidator.open(db, key, chainId);
    const sig = await pv.signVote(VoteType.Prevote, 30, 0, hash(1));
    await codeOf(pv.signVote(VoteType.Prevote, 30, 0, hash(2)));
    await codeOf(pv.signVote(VoteType.Prevote, 29, 0, hash(2)));
    await db.close();
    const db2 = await reopen!();
    const pv2 = await PrivValidator.open(db2, key, chainId);
    expect(hex(pv2.lastSigned!.blockHash)).toBe(hex(hash(1)));
    expect(hex(await pv2.signVote(VoteType.Prevote, 30, 0, hash(1)))).toBe(hex(sig));
    await db2.close();
  });
});
