/** The block spacing rule (minBlockIntervalMs): a block's time is at least that long after its parent's. */
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { BlockErrorCode } from "../../../node/chain/errors.ts";
import { openDb } from "../../../node/db/database.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { blockSpacingMs, DEFAULT_PARAMS, validateParams, type Params } from "../../../node/types/params.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

async function open(params: Partial<Params>) {
  const net = makeTestNet({ accounts: 1, label: "block-spacing", params });
  const db = await openDb(null);
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson));
  return { chain, proposer: net.validator.address, close: () => db.close() };
}

describe("block spacing", () => {
  it("is minBlockIntervalMs, capped at blockTimeMs, and at least 1 ms", () => {
    expect(blockSpacingMs(DEFAULT_PARAMS)).toBe(200);
    expect(blockSpacingMs({ minBlockIntervalMs: 200, blockTimeMs: 50 })).toBe(50);
    expect(blockSpacingMs({ minBlockIntervalMs: 0, blockTimeMs: 1000 })).toBe(1);
    expect(() => validateParams({ ...DEFAULT_PARAMS, minBlockIntervalMs: -1 })).toThrow(/minBlockIntervalMs/);
    expect(() => validateParams({ ...DEFAULT_PARAMS, minBlockIntervalMs: 1.5 })).toThrow(/minBlockIntervalMs/);
  });

  it("a block sooner than the spacing after its parent is refused with BAD_TIME; one at the spacing verifies", async () => {
    const { chain, proposer, close } = await open({ minBlockIntervalMs: 300 });
    try {
      const parent = chain.head.header.time;
      const at = chain.build({ time: parent + 300, proposer, candidates: [] });
      expect(at.block.header.time).toBe(parent + 300);
      expect(() => chain.verify(at.block, [], parent + 300)).not.toThrow();
      const early = { ...at.block, header: { ...at.block.header, time: parent + 299 } };
      expect(() => chain.verify(early, [], parent + 300)).toThrow(
        expect.objectContaining({ code: BlockErrorCode.BAD_TIME, message: expect.stringMatching(/299 ms after its parent's, at least 300 ms/) }),
      );
    } finally {
      await close();
    }
  });

  it("the builder moves a time given too early up to the spacing", async () => {
    const { chain, proposer, close } = await open({ minBlockIntervalMs: 250 });
    try {
      const parent = chain.head.header.time;
      const built = chain.build({ time: parent + 1, proposer, candidates: [] });
      expect(built.block.header.time).toBe(parent + 250);
      expect(() => chain.verify(built.block, [], parent + 250)).not.toThrow();
    } finally {
      await close();
    }
  });
});
