/** Block pacing of a lone validator: a block time ahead of the local clock does not delay the next height. */
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { ConsensusEngine } from "../../../node/consensus/engine.ts";
import { PrivValidator } from "../../../node/consensus/privval.ts";
import { ConsensusWal } from "../../../node/consensus/wal.ts";
import { openDb } from "../../../node/db/database.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { silentLogger } from "../../../node/util/logger.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { until } from "../../helpers/until.ts";

const net = makeTestNet({ accounts: 2, label: "engine-pacing" });
const BLOCK_MS = 200;

describe("consensus engine pacing", () => {
  it("starts the next height within a block time even when the last block's time is seconds ahead of the clock", async () => {
    const db = await openDb(null);
    const genesis = parseGenesis(JSON.parse(net.genesisJson));
    const chain = await Blockchain.open(db, genesis, genesisFileHash(net.genesisJson));
    const privval = await PrivValidator.open(db, net.validator, chain.ctx.chainId);
    // Block 1 is built while the clock runs 5 s ahead (inside maxClockDriftMs), then the clock is put right.
    let offset = 5_000;
    const clock = { now: () => Date.now() + offset };
    const engine = new ConsensusEngine(
      { blockTimeMs: BLOCK_MS },
      { chain, privval, wal: new ConsensusWal(db), transport: null, txs: { pending: () => [], verified: () => false }, clock, logger: silentLogger(), metrics: null },
    );
    expect(offset).toBeLessThan(genesis.params.maxClockDriftMs);
    await engine.start();
    try {
      await until(() => chain.head.header.height, (h) => h >= 1, 5_000, "height 1", 2);
      offset = 0;
      const t1 = Date.now();
      expect(chain.head.header.time - Date.now()).toBeGreaterThan(4_000);
      await until(() => chain.head.header.height, (h) => h >= 3, 10_000, "height 3", 2);
      // Two more heights: each waits at most a block time (plus the height's own work), not the 5 s lead.
      expect(Date.now() - t1).toBeLessThan(2 * BLOCK_MS + 1_500);
      // Times still increase, from the ahead-of-time parent.
      expect(chain.head.header.time).toBeGreaterThan(t1 + 4_000);
    } finally {
      await engine.stop();
      await db.close();
    }
  });

  it("starts the next height a block spacing after the last block when work waits, a block time after it when none does", async () => {
    const spaced = makeTestNet({ accounts: 1, label: "engine-pacing-spacing", params: { blockTimeMs: 1_000, minBlockIntervalMs: 100 } });
    const db = await openDb(null);
    const genesis = parseGenesis(JSON.parse(spaced.genesisJson));
    const chain = await Blockchain.open(db, genesis, genesisFileHash(spaced.genesisJson));
    const privval = await PrivValidator.open(db, spaced.validator, chain.ctx.chainId);
    let ready = true;
    const engine = new ConsensusEngine(
      { blockTimeMs: genesis.params.blockTimeMs },
      { chain, privval, wal: new ConsensusWal(db), transport: null, txs: { pending: () => [], verified: () => false, hasReady: () => ready }, clock: { now: () => Date.now() }, logger: silentLogger(), metrics: null },
    );
    await engine.start();
    try {
      // With something waiting: blocks 100 ms apart (the spacing), far sooner than the 1 s block time.
      await until(() => chain.head.header.height, (h) => h >= 6, 5_000, "height 6", 2);
      const busy = await times(chain, 2, 6);
      for (const gap of busy) expect(gap).toBeGreaterThanOrEqual(100);
      expect(Math.max(...busy)).toBeLessThan(450);
      // Nothing waiting: the block time again.
      ready = false;
      const from = chain.head.header.height + 1;
      await until(() => chain.head.header.height, (h) => h >= from + 2, 6_000, "two idle heights", 5);
      const idle = await times(chain, from, from + 2);
      for (const gap of idle) expect(gap).toBeGreaterThanOrEqual(950);
      // Work arriving mid-wait starts the height at once (within a poll), not at the block time.
      await until(() => Date.now() - chain.head.header.time, (age) => age >= 300, 2_000, "300 ms into the wait", 2);
      const waitingFrom = chain.head.header.height;
      ready = true;
      const t = Date.now();
      await until(() => chain.head.header.height, (h) => h > waitingFrom, 2_000, "the next height", 2);
      expect(Date.now() - t).toBeLessThan(400);
    } finally {
      await engine.stop();
      await db.close();
    }
  });
});

/** Gaps between consecutive block times from `from` to `to` (heights, inclusive). */
async function times(chain: Blockchain, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  let prev = (await chain.store.getBlock(from - 1))!.header.time;
  for (let h = from; h <= to; h++) {
    const t = (await chain.store.getBlock(h))!.header.time;
    out.push(t - prev);
    prev = t;
  }
  return out;
}
