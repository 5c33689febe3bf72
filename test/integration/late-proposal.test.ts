/**
 * A validator whose proposals arrive late still signs every block. On a busy
 * machine a block can reach a validator after the other three's votes (a
 * relay checks the block before passing it on; votes are small): it then
 * decided at once from their precommits without ever voting, and its
 * signature was missing from the next block's lastCommit (liveness-devnet
 * caught validator 3 missing a few blocks in a thousand on CI). Here, in one
 * process on an in-memory bus, validator 3 gets every proposal 150 ms late
 * and every vote at once: each block still carries all four precommits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsensusTransport } from "../../node/consensus/transport.ts";
import { PouwNode } from "../../node/node.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { LocalBus } from "../helpers/local-bus.ts";
import { until } from "../helpers/until.ts";

const net = makeTestNet({ validators: 4, accounts: 1, label: "late-proposal" });
const TIMEOUTS = { proposeMs: 1000, proposeDeltaMs: 200, prevoteMs: 300, prevoteDeltaMs: 100, precommitMs: 300, precommitDeltaMs: 100 };
const LATE_MS = 150;
const BLOCKS = 16;

describe("a validator that receives proposals after the others' votes", { timeout: 90_000 }, () => {
  const bus = new LocalBus();
  const nodes: PouwNode[] = [];
  let lateProposals = 0;

  beforeAll(async () => {
    for (const [i, key] of net.validators.entries()) {
      const wire = bus.transport(toHex(key.address));
      const transport: ConsensusTransport =
        i === 3
          ? {
              ...wire,
              subscribe: (h) =>
                wire.subscribe({
                  ...h,
                  proposal: (bytes, from) =>
                    new Promise((resolve) => {
                      lateProposals++;
                      setTimeout(() => resolve(h.proposal(bytes, from)), LATE_MS);
                    }),
                }),
            }
          : wire;
      nodes.push(await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: key, rpc: null, blockTimeMs: 200, timeouts: TIMEOUTS, transport, verifierThreads: 0 }));
    }
    await Promise.all(nodes.map((n) => n.start()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it(`still precommits: blocks 2 to ${BLOCKS} each carry all four precommits in their lastCommit`, async () => {
    await until(() => Math.min(...nodes.map((n) => n.chain.head.header.height)), (h) => h >= BLOCKS, 60_000, `height ${BLOCKS} everywhere`);
    expect(lateProposals).toBeGreaterThan(BLOCKS / 2);
    const me = toHex(net.validators[3]!.address);
    const lacking: number[] = [];
    for (let h = 2; h <= BLOCKS; h++) {
      const b = (await nodes[0]!.chain.store.getBlock(h))!;
      if (b.body.lastCommit.signatures.length !== 4) lacking.push(h);
      else expect(b.body.lastCommit.signatures.map((s) => toHex(s.validator))).toContain(me);
    }
    expect(lacking, "heights whose lastCommit lacks a precommit").toEqual([]);
  });
});
