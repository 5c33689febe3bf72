import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { Block, blockLastCommitBytes, blockTxBytes, Commit, encodeBlock, encodeProposalMessage, ProposalMessage, type BlockT } from "../../../node/types/block.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const a = AccountKey.fromLabel("block-encoding/a");
const b = AccountKey.fromLabel("block-encoding/b");
const txPool = Array.from({ length: 8 }, (_, i) => signedTransfer(a, { nonce: BigInt(i), to: b.address, amount: BigInt(i + 1) }));

function block(nTxs: number, nSigs: number, height: number): BlockT {
  const empty = Block.defaultValue();
  return {
    header: { ...empty.header, height, chainId: new TextEncoder().encode("pouw-test-1"), time: 1_700_000_000_000 + height },
    body: {
      ...empty.body,
      txs: txPool.slice(0, nTxs).map((t) => t.env.signed),
      lastCommit: {
        ...empty.body.lastCommit,
        height: height - 1,
        signatures: Array.from({ length: nSigs }, (_, i) => ({ validator: new Uint8Array(20).fill(i), signature: new Uint8Array(2420).fill(i + 1) })),
      },
    },
  };
}

describe("encodeBlock", () => {
  it("is byte-identical to Block.serialize for any number of transactions and signatures", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 1e6 }), (n, s, h) => {
        const blk = block(n, s, h);
        const fast = encodeBlock(blk, txPool.slice(0, n).map((t) => t.bytes));
        expect(Buffer.from(fast).equals(Buffer.from(Block.serialize(blk)))).toBe(true);
        expect(Block.deserialize(fast).body.txs.length).toBe(n);
        // and back: the transactions' own bytes, found inside the block's
        expect(blockTxBytes(fast).map((b) => Buffer.from(b).toString("hex"))).toEqual(txPool.slice(0, n).map((t) => Buffer.from(t.bytes).toString("hex")));
        // and the lastCommit's own bytes (sync stores them as the previous block's commit)
        expect(Buffer.from(blockLastCommitBytes(fast)).equals(Buffer.from(Commit.serialize(blk.body.lastCommit)))).toBe(true);
      }),
      { seed: 20261125, numRuns: 60 },
    );
  });

  it("refuses a mismatched number of encodings", () => {
    expect(() => encodeBlock(block(2, 0, 5), [txPool[0]!.bytes])).toThrow(RangeError);
  });
});

describe("encodeProposalMessage", () => {
  it("is byte-identical to ProposalMessage.serialize and decodes back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 255 }), (n, s, round, polRound, fill) => {
        const blk = block(n, s, 7);
        const signature = new Uint8Array(2420).fill(fill);
        const fast = encodeProposalMessage(round, polRound, blk, txPool.slice(0, n).map((t) => t.bytes), signature);
        expect(Buffer.from(fast).equals(Buffer.from(ProposalMessage.serialize({ round, polRound, block: blk, signature })))).toBe(true);
        const back = ProposalMessage.deserialize(fast);
        expect([back.round, back.polRound, back.block.body.txs.length]).toEqual([round, polRound, n]);
      }),
      { seed: 20261202, numRuns: 60 },
    );
  });

  it("refuses a signature of the wrong size", () => {
    expect(() => encodeProposalMessage(0, 0, block(0, 0, 3), [], new Uint8Array(100))).toThrow(RangeError);
  });
});
