/**
 * Gossiped votes have their signatures checked in the consensus verifier
 * thread, and the verdict holds: a forged vote is refused (the peer is
 * penalised), a genuine one accepted, for a validator's current height and
 * for the head's late precommits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { voteSigningMessage } from "../../../node/chain/commit.ts";
import { ConsensusEngine } from "../../../node/consensus/engine.ts";
import { PrivValidator } from "../../../node/consensus/privval.ts";
import type { ConsensusTransport } from "../../../node/consensus/transport.ts";
import { ConsensusWal } from "../../../node/consensus/wal.ts";
import { openDb, type Level } from "../../../node/db/database.ts";
import { SignatureVerifier } from "../../../node/mempool/verifier.ts";
import { Vote, VoteType } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { silentLogger } from "../../../node/util/logger.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { until } from "../../helpers/until.ts";

const net = makeTestNet({ accounts: 1, validators: 4, label: "engine-vote-signatures" });
type Handlers = Parameters<ConsensusTransport["subscribe"]>[0];

describe("gossiped vote signatures", () => {
  let db: Level;
  let chain: Blockchain;
  let engine: ConsensusEngine;
  let handlers: Handlers;
  const checked: number[] = [];
  const verifier = new SignatureVerifier({ threads: 1 });

  beforeAll(async () => {
    db = await openDb(null);
    chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson));
    const privval = await PrivValidator.open(db, net.validators[0]!, chain.ctx.chainId);
    const transport: ConsensusTransport = { publishProposal: () => undefined, publishVote: () => undefined, subscribe: (h) => (handlers = h) };
    engine = new ConsensusEngine(
      { blockTimeMs: 60_000, offThreadSignaturesFrom: 1 },
      {
        chain,
        privval,
        wal: new ConsensusWal(db),
        transport,
        consensusVerifier: { verifyBatch: (items) => (checked.push(items.length), verifier.verifyBatch(items)) },
        txs: { pending: () => [], verified: () => false },
        clock: { now: () => Date.now() },
        logger: silentLogger(),
        metrics: null,
      },
    );
    await engine.start();
    await until(() => engine.height, (h) => h === 1, 5_000, "height 1", 2);
  });
  afterAll(async () => {
    await engine.stop();
    await verifier.close();
    await db.close();
  });

  const prevote = (signer: number, opts: { forge?: boolean; height?: number } = {}) => {
    const key = net.validators[signer]!;
    const height = opts.height ?? 1;
    const blockHash = new Uint8Array(32);
    const message = voteSigningMessage(chain.ctx.chainId, VoteType.Prevote, height, 0, blockHash);
    const signature = opts.forge ? net.validators[(signer + 1) % 4]!.sign(message) : key.sign(message);
    return Vote.serialize({ type: VoteType.Prevote, height, round: 0, blockHash, validator: key.address, signature });
  };

  it("refuses a forged vote and accepts a genuine one, both checked by the verifier thread", async () => {
    const before = checked.reduce((a, b) => a + b, 0);
    expect(await handlers.vote(prevote(1, { forge: true }), "peer-a")).toBe(false);
    expect(await handlers.vote(prevote(2), "peer-b")).toBe(true);
    expect(checked.reduce((a, b) => a + b, 0) - before).toBe(2);
  });

  it("checks a burst of votes as one batch", async () => {
    const calls = checked.length;
    const verdicts = await Promise.all([handlers.vote(prevote(1), "p"), handlers.vote(prevote(3), "p"), handlers.vote(prevote(3, { forge: true }), "p")]);
    expect(verdicts).toEqual([true, true, false]);
    expect(checked.slice(calls)).toEqual([3]);
  });

  it("does not spend the verifier on votes for heights the engine would not look at", async () => {
    const calls = checked.length;
    expect(await handlers.vote(prevote(1, { height: 50 }), "p")).toBeNull();
    expect(checked.length).toBe(calls);
  });
});
