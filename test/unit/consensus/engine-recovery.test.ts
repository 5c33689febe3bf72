/** Restart of the consensus engine after crashes at each point between proposal and commit (lone validator). */
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { ConsensusEngine } from "../../../node/consensus/engine.ts";
import { PrivValidator } from "../../../node/consensus/privval.ts";
import { ConsensusWal } from "../../../node/consensus/wal.ts";
import { openDb } from "../../../node/db/database.ts";
import { VoteType } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { toHex } from "../../../node/util/hex.ts";
import { silentLogger } from "../../../node/util/logger.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const net = makeTestNet({ accounts: 2, label: "engine-recovery" });

async function setup() {
  const db = await openDb(null);
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson));
  const privval = await PrivValidator.open(db, net.validator, chain.ctx.chainId);
  const wal = new ConsensusWal(db);
  const engine = () =>
    new ConsensusEngine(
      { blockTimeMs: 60_000 },
      { chain, privval, wal, transport: null, txs: { pending: () => [], verified: () => false }, clock: { now: () => chain.head.header.time + 1000 }, logger: silentLogger(), metrics: null },
    );
  const built = chain.build({ time: chain.head.header.time + 1000, proposer: net.validator.address, candidates: [], verified: () => false });
  return { db, chain, privval, wal, engine, built };
}

describe("consensus engine recovery", () => {
  for (const signed of ["nothing", "prevote", "prevote+precommit"] as const) {
    it(`commits the block in the WAL when the crash came after: proposal saved, ${signed} signed`, async () => {
      const { db, chain, privval, wal, engine, built } = await setup();
      await wal.saveProposal(0, built.block);
      let precommit: Uint8Array | null = null;
      if (signed !== "nothing") await privval.signVote(VoteType.Prevote, 1, 0, built.hash);
      if (signed === "prevote+precommit") precommit = await privval.signVote(VoteType.Precommit, 1, 0, built.hash);

      const e = engine();
      await e.step();
      await e.stop();
      expect(chain.head.header.height).toBe(1);
      expect(toHex(chain.head.hash)).toBe(toHex(built.hash));
      // The engine re-enters round 0 (not a later one): privval gives back the votes it signed, byte for byte.
      expect(chain.headCommit.round).toBe(0);
      expect(privval.lastSigned).toMatchObject({ height: 1, round: 0, step: 3 });
      if (precommit) expect(toHex(chain.headCommit.signatures[0]!.signature)).toBe(toHex(precommit));
      await db.close();
    });
  }

  it("refuses to start when the privval signed beyond the next height", async () => {
    const { db, privval, engine, built } = await setup();
    await privval.signVote(VoteType.Precommit, 5, 0, built.hash);
    await expect(engine().start()).rejects.toMatchObject({ code: "CONSENSUS_STATE_INCONSISTENT" });
    await db.close();
  });
});
