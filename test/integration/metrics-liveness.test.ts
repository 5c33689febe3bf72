/**
 * Missed-block metrics from a real four-validator chain in one process (an
 * in-memory gossip bus): validator 3 hears everything but its votes never
 * reach the others, so it keeps committing blocks whose lastCommit lacks it.
 * Its own pouw_self_missed_blocks_total counts each of them (as the stored blocks say), every node's
 * pouw_validator_missed_blocks shows its misses in the window, and nobody
 * else misses any.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsensusTransport } from "../../node/consensus/transport.ts";
import { PouwNode } from "../../node/node.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { LocalBus } from "../helpers/local-bus.ts";
import { until } from "../helpers/until.ts";

const net = makeTestNet({ validators: 4, accounts: 1, label: "metrics-liveness" });
const TIMEOUTS = { proposeMs: 600, proposeDeltaMs: 200, prevoteMs: 300, prevoteDeltaMs: 100, precommitMs: 300, precommitDeltaMs: 100 };

async function value(node: PouwNode, series: string): Promise<number | undefined> {
  const line = (await node.metrics!.registry.metrics()).split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("missed blocks in the metrics", { timeout: 90_000 }, () => {
  const bus = new LocalBus();
  const nodes: PouwNode[] = [];

  beforeAll(async () => {
    for (const [i, key] of net.validators.entries()) {
      const wire = bus.transport(toHex(key.address));
      // Validator 3's votes are lost on the way out; its proposals and everything it receives arrive.
      const transport: ConsensusTransport = i === 3 ? { ...wire, publishVote: () => undefined } : wire;
      nodes.push(await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: key, rpc: null, metrics: true, blockTimeMs: 100, timeouts: TIMEOUTS, transport, verifierThreads: 0 }));
    }
    await Promise.all(nodes.map((n) => n.start()));
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("counts the silent validator's missed blocks on itself and on the others", async () => {
    await until(() => nodes[3]!.chain.head.header.height, (h) => h >= 8, 60_000, "height 8 on the silent validator");
    // The counter and the head at one instant (get() reads the counter synchronously).
    const counted = nodes[3]!.metrics!.selfMissedBlocks.get();
    const head = nodes[3]!.chain.head.header.height;
    const missed = (await counted).values[0]!.value;
    // The chain's own record: blocks from height 2 whose lastCommit lacks validator 3 (its own proposals carry its precommit).
    const me = toHex(net.validators[3]!.address);
    let lacking = 0;
    for (let h = 2; h <= head; h++) if (!(await nodes[3]!.chain.store.getBlock(h))!.body.lastCommit.signatures.some((x) => toHex(x.validator) === me)) lacking++;
    expect(lacking).toBeGreaterThanOrEqual(3);
    expect(missed).toBe(lacking);
    expect(await value(nodes[3]!, 'pouw_validator_status{status="active"}')).toBe(1);
    const silent = net.validators[3]!.bech32;
    for (const [i, n] of nodes.entries()) {
      if (i !== 3) expect(await value(n, "pouw_self_missed_blocks_total"), `node ${i}`).toBe(0);
      expect(await value(n, `pouw_validator_missed_blocks{validator="${silent}"}`), `node ${i}`).toBeGreaterThanOrEqual(3);
      for (const v of net.validators.slice(0, 3)) expect(await value(n, `pouw_validator_missed_blocks{validator="${v.bech32}"}`), `node ${i} ${v.bech32}`).toBe(0);
    }
  });
});
