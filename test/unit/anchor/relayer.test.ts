/**
 * The relayer's ordering and retry rules against an anchor that behaves like
 * the contracts (accepts only lastEpoch + 1, needs > 2/3 of the power) and
 * fails on demand: checkpoints go in order, none twice, none skipped, a
 * failure is retried after re-reading lastEpoch, and a checkpoint without a
 * quorum holds back the ones after it. (The real contracts are driven by
 * test/contracts/evm-client.test.ts and the end-to-end settlement test.)
 */
import { describe, expect, it } from "vitest";
import type { Hex } from "viem";
import { hasQuorum, type AnchorTarget, type SignedCheckpoint } from "../../../node/anchor/checkpoint.ts";
import { Relayer } from "../../../node/anchor/relayer.ts";
import { silentLogger } from "../../../node/util/logger.ts";
import { ZERO32 } from "../../../node/types/settlement.ts";

const SIG = `0x${"11".repeat(65)}` as Hex;
const members = [1, 2, 3, 4].map((i) => ({ address: `0x${String(i).repeat(40)}` as Hex, power: 10n }));

function checkpoint(epoch: number, signers: number): SignedCheckpoint {
  return {
    checkpoint: { chainId: ZERO32, epoch: BigInt(epoch), height: BigInt(epoch * 10), blockHash: ZERO32, stateRoot: ZERO32, withdrawalsRoot: ZERO32, validatorSetHash: ZERO32, nextValidatorSetHash: ZERO32 },
    members,
    nextMembers: members,
    signatures: members.map((_, i) => (i < signers ? SIG : null)),
  };
}

/** An anchor with the contracts' epoch and quorum rules; `failNext` makes the next calls throw like an unreachable RPC. */
class ContractLikeAnchor implements AnchorTarget {
  readonly name = "test";
  last = 0n;
  submitted: bigint[] = [];
  failNext = 0;
  failReads = 0;
  async lastEpoch(): Promise<bigint> {
    if (this.failReads > 0) {
      this.failReads--;
      throw new Error("connection refused");
    }
    return this.last;
  }
  async submit(c: SignedCheckpoint): Promise<string> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("connection reset");
    }
    if (c.checkpoint.epoch !== this.last + 1n) throw new Error(`WrongEpoch(${this.last + 1n}, ${c.checkpoint.epoch})`);
    if (!hasQuorum(c)) throw new Error("InsufficientPower");
    this.submitted.push(c.checkpoint.epoch);
    this.last = c.checkpoint.epoch;
    return `0x${c.checkpoint.epoch}`;
  }
}

class Book {
  lastEpoch = 0;
  readonly byEpoch = new Map<number, SignedCheckpoint>();
  private fns: ((c: SignedCheckpoint) => void)[] = [];
  async get(e: number) {
    return this.byEpoch.get(e) ?? null;
  }
  onQuorum(fn: (c: SignedCheckpoint) => void) {
    this.fns.push(fn);
    return () => undefined;
  }
  finish(epoch: number, signers: number) {
    this.byEpoch.set(epoch, checkpoint(epoch, signers));
    this.lastEpoch = Math.max(this.lastEpoch, epoch);
    if (signers * 3 > 8) for (const f of this.fns) f(this.byEpoch.get(epoch)!);
  }
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Relayer", () => {
  it("submits a backlog in order, retries after failures without repeating, and waits for a quorum", async () => {
    const book = new Book();
    const anchor = new ContractLikeAnchor();
    for (let e = 1; e <= 3; e++) book.finish(e, 4);
    book.finish(4, 2); // half the power: not relayable yet
    book.finish(5, 4);
    anchor.failNext = 2; // the first two submissions fail (node down)
    anchor.failReads = 1;
    const relayer = new Relayer({ book, targets: [anchor], retryMs: 10, logger: silentLogger() });
    relayer.start();
    await until(() => anchor.last === 3n);
    await new Promise((r) => setTimeout(r, 100));
    expect(anchor.submitted).toEqual([1n, 2n, 3n]); // epoch 5 waits behind epoch 4
    expect(relayer.status()[0]).toMatchObject({ target: "test", lastEpoch: 3n, failures: 0 });
    book.finish(4, 3); // a third signature arrives: 30 of 40 power
    await until(() => anchor.last === 5n);
    expect(anchor.submitted).toEqual([1n, 2n, 3n, 4n, 5n]);
    await relayer.stop();
  });

  it("a restarted relayer (or another one) starts from the anchor's lastEpoch and repeats nothing", async () => {
    const book = new Book();
    for (let e = 1; e <= 6; e++) book.finish(e, 4);
    const anchor = new ContractLikeAnchor();
    anchor.last = 4n; // epochs 1-4 were anchored before the restart
    anchor.submitted = [1n, 2n, 3n, 4n];
    const a = new Relayer({ book, targets: [anchor], retryMs: 10, logger: silentLogger() });
    const b = new Relayer({ book, targets: [anchor], retryMs: 10, logger: silentLogger() });
    a.start();
    b.start();
    await until(() => anchor.last === 6n);
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([a.stop(), b.stop()]);
    // A second relayer racing the first gets WrongEpoch from the anchor, never a second anchoring.
    expect(anchor.submitted).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });
});
