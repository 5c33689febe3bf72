/**
 * What the node says about its own validator (ValidatorWatch) over a real
 * chain driven block by block: jailed for downtime (WARN, with the missed
 * blocks and the slash), out of the set at the epoch, unjailed and elected
 * again (INFO); tombstoned for a double sign (WARN); nothing about others.
 */
import { describe, expect, it } from "vitest";
import { voteSigningMessage } from "../../node/chain/commit.ts";
import { makeEvidence } from "../../node/chain/evidence.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { encodeAddress } from "../../node/crypto/address.ts";
import { ValidatorWatch } from "../../node/node-events.ts";
import { VoteType, type VoteT } from "../../node/types/block.ts";
import type { Params } from "../../node/types/params.ts";
import { capturingLogger } from "../../node/util/logger.ts";
import { useChainDrivers, type ChainDriver } from "../helpers/chain-driver.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { body, signedTx } from "../helpers/tx.ts";

const PARAMS: Partial<Params> = { epochLength: 5, signedBlocksWindow: 8, minSignedPerWindowBps: 5000, downtimeJailBlocks: 6, blockReward: 1_000_000_000n };
const net = makeTestNet({ validators: 4, accounts: 2, label: "node-events", params: PARAMS });
const [alice] = net.accounts as [AccountKey];
const open = useChainDrivers(net.genesisJson, net.validators);
const WARN = 40;
const INFO = 30;

function watch(d: ChainDriver, key: AccountKey) {
  const { logger, lines } = capturingLogger();
  const w = new ValidatorWatch(d.chain, key.address, logger);
  d.chain.onCommit((c) => w.onCommit(c));
  return lines;
}

const said = (lines: Record<string, unknown>[]) => lines.map((l) => [l.level, l.height, l.msg]);

describe("ValidatorWatch", () => {
  it("says when our validator is jailed (missed blocks, slash), leaves the set, is unjailed and elected again", async () => {
    const d = await open();
    const ours = net.validators[3]!;
    const lines = watch(d, ours);
    const others = watch(d, net.validators[0]!);
    const tokens0 = d.chain.world.staking[3]!.tokens;
    await d.next([signedTx(alice, { nonce: 0n, body: { selector: 0, value: { to: ours.address, amount: 10n ** 12n } } }).env]);
    while (!d.chain.world.staking[3]!.jailed) {
      await d.next([], { offline: [ours.address] });
      if (d.height > 20) throw new Error("never jailed");
    }
    const jailedAt = d.height;
    expect(jailedAt).toBe(9);
    // Window 8, at most 4 missed, judged once 8 blocks are observed (heights 2-9): it missed the commits of blocks 2-8.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: WARN,
      validator: encodeAddress(ours.address),
      height: 9,
      missedBlocks: 7,
      window: 8,
      slashed: ((tokens0 * 10n) / 10_000n).toString(),
      jailedUntil: 15,
      msg: "Our validator was jailed for missing 7 of the last 8 blocks",
    });

    await d.until(10, { offline: [ours.address] });
    expect(said(lines.slice(1))).toEqual([[INFO, 10, "Our validator left the active set"]]);

    await d.until(jailedAt + 6 - 1);
    await d.next([d.sign(ours, body.unjail())]);
    expect(d.chain.world.staking[3]!.jailed).toBe(false);
    await d.until(20);
    expect(said(lines.slice(2))).toEqual([
      [INFO, 15, "Our validator was unjailed"],
      // Block 15 ends an epoch: unjailed and elected by the same block.
      [INFO, 15, "Our validator was elected into the active set"],
    ]);
    expect(lines[3]).toMatchObject({ power: "99" });
    // Validator 0 signed throughout: nothing to say about it.
    expect(others).toEqual([]);
  });

  it("says when our validator is tombstoned for a double sign, with the slash", async () => {
    const d = await open();
    const ours = net.validators[2]!;
    const lines = watch(d, ours);
    await d.until(3);
    const tokens = d.chain.world.staking[2]!.tokens;
    const chainId = d.chain.ctx.chainId;
    const vote = (fill: number): VoteT => {
      const blockHash = new Uint8Array(32).fill(fill);
      return { type: VoteType.Prevote, height: 3, round: 0, blockHash, validator: ours.address, signature: ours.sign(voteSigningMessage(chainId, VoteType.Prevote, 3, 0, blockHash)) };
    };
    await d.next([], { evidence: [makeEvidence(vote(1), vote(2))] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: WARN, height: 4, slashed: ((tokens * 500n) / 10_000n).toString(), msg: "Our validator was tombstoned for double signing: slashed and jailed for good" });
    await d.until(5);
    expect(said(lines.slice(1))).toEqual([[INFO, 5, "Our validator left the active set"]]);
  });

  it("does not take delegating and undelegating for a slash", async () => {
    const d = await open();
    const ours = net.validators[1]!;
    const lines = watch(d, ours);
    await d.next([d.sign(alice, body.delegate(ours.address, 7_777_777_777n))]);
    const shares = d.chain.world.delegations[d.chain.world.delegationIndex.get(`${Buffer.from(alice.address).toString("hex")}/1`)!]!.shares;
    await d.next([d.sign(alice, body.undelegate(ours.address, shares / 3n))]);
    await d.until(6);
    expect(lines).toEqual([]);
  });
});
