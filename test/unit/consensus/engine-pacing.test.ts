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
});
