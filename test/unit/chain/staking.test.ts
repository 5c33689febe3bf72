/**
 * Staking through the real chain code (Blockchain on memory-level, build and
 * commit): genesis stake, rewards, CreateValidator / Delegate / Undelegate /
 * Unjail / WithdrawRewards, unbonding, liveness jailing, double-sign
 * slashing and epoch elections with proposer priorities.
 */
import { describe, expect, it } from "vitest";
import { voteSigningMessage } from "../../../node/chain/commit.ts";
import { ExecErrorCode } from "../../../node/chain/errors.ts";
import { makeEvidence } from "../../../node/chain/evidence.ts";
import { pendingRewards, sharesValue } from "../../../node/chain/staking.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { WorldState, addrKey } from "../../../node/state/world.ts";
import { ReceiptStatus, VoteType, type VoteT } from "../../../node/types/block.ts";
import type { Params } from "../../../node/types/params.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { ChainDriver, useChainDrivers } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { body, signedTx } from "../../helpers/tx.ts";

const PARAMS: Partial<Params> = {
  epochLength: 5,
  signedBlocksWindow: 8,
  minSignedPerWindowBps: 5000,
  downtimeJailBlocks: 6,
  unbondingBlocks: 10,
  blockReward: 1_000_000_000n,
  stakingShareBps: 8000,
  proposerRewardBps: 1000,
};
const net = makeTestNet({ validators: 4, accounts: 4, label: "staking", params: PARAMS });
const POWER_REDUCTION = 1_000_000_000n;
const GENESIS_TOKENS = 100n * POWER_REDUCTION;
const [alice, bob, carol] = net.accounts as [AccountKey, AccountKey, AccountKey];
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const utf8 = (b: Uint8Array) => Buffer.from(b).toString();

const open = useChainDrivers(net.genesisJson, net.validators);

/** Supply = balances + staked + unpaid rewards + PoUW pool, and the registry adds up. */
function checkInvariants(w: WorldState): void {
  const t = w.totals;
  const balances = [...w.accounts].reduce((s, a) => s + a.balance, 0n);
  expect(balances + t.staked + t.rewardsOutstanding + t.pouwPool + t.escrowed).toBe(t.supply);
  const bonded = w.staking.reduce((s, v) => s + v.tokens, 0n);
  const unbonding = w.unbonding.reduce((s, e) => s + e.amount, 0n);
  expect(bonded + unbonding).toBe(t.staked);
  w.staking.forEach((v, i) => {
    const shares = w.delegations.filter((d) => d.validator === i).reduce((s, d) => s + d.shares, 0n);
    expect(shares, `shares of validator ${i}`).toBe(v.delegatorShares);
  });
  const owed = w.delegations.reduce((s, d) => s + pendingRewards(w.staking[d.validator]!, d), 0n) + w.staking.reduce((s, v) => s + v.commission, 0n);
  expect(owed <= t.rewardsOutstanding).toBe(true);
}

/** Signs with the sender's next nonce on that chain (ChainDriver.sign). */
const tx = (key: AccountKey, b: Parameters<ChainDriver["sign"]>[1], d: ChainDriver): TxEnvelope => d.sign(key, b);
const statusOf = (r: { status: number; error: Uint8Array }) => (r.status === ReceiptStatus.Success ? "OK" : utf8(r.error));

describe("genesis stake and rewards", () => {
  it("bonds each genesis validator's power × powerReduction as a self-delegation, counted in the supply", async () => {
    const d = await open();
    const w = d.chain.world;
    expect(w.staking.map((v) => v.tokens)).toEqual([GENESIS_TOKENS, GENESIS_TOKENS, GENESIS_TOKENS, GENESIS_TOKENS]);
    expect(w.staking.map((v) => hex(v.operator))).toEqual(net.validators.map((k) => hex(k.address)));
    expect(w.delegations.map((x) => [hex(x.delegator), x.validator, x.shares])).toEqual(net.validators.map((k, i) => [hex(k.address), i, GENESIS_TOKENS]));
    expect(w.totals.staked).toBe(4n * GENESIS_TOKENS);
    checkInvariants(w);
  });

  it("issues blockReward per block: 20 % to the PoUW pool, the rest to the proposer and the lastCommit signers by power", async () => {
    const d = await open();
    const absent = net.validators[3]!.address;
    await d.next(); // block 1: empty lastCommit, the stakers' share goes to the proposer
    const after1 = d.chain.world;
    const supply1 = after1.totals.supply;
    const p1 = d.chain.head.header.proposer;
    const i1 = after1.validatorIndex.get(addrKey(p1))!;
    // 800,000,000 to stakers: all of it to the proposer's delegators (commission 0); 200,000,000 to the pool.
    expect(after1.totals.pouwPool).toBe(200_000_000n);
    expect(pendingRewards(after1.staking[i1]!, after1.delegations[i1]!)).toBe(800_000_000n);
    const before = after1.staking.map((v) => v.rewardPerShare);
    await d.next([], { offline: [absent] }); // block 2 carries block 1's full commit; block 2's own commit lacks validator 3
    await d.next(); // block 3 carries that commit
    const w = d.chain.world;
    const p2 = w.validatorIndex.get(addrKey((await d.chain.store.getBlock(2))!.header.proposer))!;
    const p3 = w.validatorIndex.get(addrKey(d.chain.head.header.proposer))!;
    const gained = w.staking.map((v, i) => pendingRewards(v, { shares: GENESIS_TOKENS, rewardSnapshot: before[i]! }));
    // Per block 800,000,000 to stakers: 80,000,000 to the proposer, 720,000,000 by power among the lastCommit's signers
    // (all four for block 2, three for block 3). Commission is 0, so delegators get it all.
    const expected = [0, 1, 2, 3].map((i) => 180_000_000n + (i < 3 ? 240_000_000n : 0n) + (i === p2 ? 80_000_000n : 0n) + (i === p3 ? 80_000_000n : 0n));
    expect(gained).toEqual(expected);
    expect(w.totals.supply - supply1).toBe(2n * 1_000_000_000n);
    checkInvariants(w);
  });

  it("WithdrawRewards pays a delegator's rewards and an operator's commission to their balances", async () => {
    const d = await open();
    const v0 = net.validators[0]!;
    // Carol delegates to validator 0, then blocks pass.
    const r = await d.next([tx(carol, body.delegate(v0.address, 50n * POWER_REDUCTION), d)]);
    expect(r.receipts.map(statusOf)).toEqual(["OK"]);
    await d.until(4);
    const w = d.chain.world;
    const di = w.delegationIndex.get(`${addrKey(carol.address)}/0`)!;
    const owed = pendingRewards(w.staking[0]!, w.delegations[di]!);
    expect(owed).toBeGreaterThan(0n);
    const bal = w.getAccount(carol.address)!.balance;
    const res = await d.next([tx(carol, body.withdrawRewards(), d)]);
    expect(res.receipts.map(statusOf)).toEqual(["OK"]);
    const fee = res.receipts[0]!.feeBurned + res.receipts[0]!.tip;
    const w2 = d.chain.world;
    // Rewards of the block that included the withdrawal accrue at its start, so they are paid too.
    const paid = w2.getAccount(carol.address)!.balance - bal + fee;
    expect(paid).toBeGreaterThanOrEqual(owed);
    expect(pendingRewards(w2.staking[0]!, w2.delegations[di]!)).toBe(0n);
    // Nothing left to withdraw: a second withdrawal succeeds and pays nothing.
    const again = await d.next([tx(carol, body.withdrawRewards(v0.address), d)]);
    expect(again.receipts.map(statusOf)).toEqual(["OK"]);
    // One that never delegated to validator 1 gets NO_DELEGATION.
    const none = await d.next([tx(carol, body.withdrawRewards(net.validators[1]!.address), d)]);
    expect(none.receipts.map(statusOf)).toEqual([ExecErrorCode.NO_DELEGATION]);
    checkInvariants(d.chain.world);
  });
});

describe("staking transactions", () => {
  it("CreateValidator and Delegate: registered at once, elected at the next epoch boundary behind the others, then proposing in turn", async () => {
    const d = await open();
    const joiner = AccountKey.fromLabel("staking/joiner-consensus");
    d.addKey(joiner);
    const stake = 150n * POWER_REDUCTION;
    const r = await d.next([tx(alice, body.createValidator(joiner.publicKey, stake, 500), d), tx(bob, body.delegate(joiner.address, 50n * POWER_REDUCTION), d)]);
    expect(r.receipts.map(statusOf)).toEqual(["OK", "OK"]);
    const w = d.chain.world;
    const vi = w.validatorIndex.get(addrKey(joiner.address))!;
    expect(vi).toBe(4);
    expect(hex(w.staking[vi]!.operator)).toBe(hex(alice.address));
    expect(w.staking[vi]!.tokens).toBe(200n * POWER_REDUCTION);
    expect(w.validators.length).toBe(4); // not before the epoch boundary
    // The same key twice, or a second validator for one operator, fail.
    const dup = await d.next([tx(bob, body.createValidator(joiner.publicKey, stake), d), tx(alice, body.createValidator(AccountKey.fromLabel("x").publicKey, stake), d)]);
    expect(dup.receipts.map(statusOf)).toEqual([ExecErrorCode.VALIDATOR_EXISTS, ExecErrorCode.OPERATOR_HAS_VALIDATOR]);
    const small = await d.next([tx(carol, body.createValidator(AccountKey.fromLabel("y").publicKey, POWER_REDUCTION - 1n), d), tx(carol, body.delegate(new Uint8Array(20).fill(9), 5n), d)]);
    expect(small.receipts.map(statusOf)).toEqual([ExecErrorCode.STAKE_TOO_SMALL, ExecErrorCode.UNKNOWN_VALIDATOR]);
    await d.until(4);
    expect(d.chain.world.validators.length).toBe(4);
    await d.next(); // block 5: the boundary elects the newcomer, announced in nextValidatorsHash
    const h5 = d.chain.head.header;
    expect(hex(h5.nextValidatorsHash)).not.toBe(hex(h5.validatorsHash));
    const set = d.chain.world.validators;
    expect(set.map((v) => hex(v.address))[0]).toBe(hex(joiner.address)); // ordered by tokens
    expect(set[0]!.power).toBe(200n);
    // Newcomers start at -1.125 × total power (CometBFT), so they do not propose at once.
    const total = set.reduce((s, v) => s + v.power, 0n);
    expect(d.chain.world.priorities[0]).toBe(-(total + (total >> 3n)));
    // From block 6 its signature is in commits, and being the heaviest it proposes within a few blocks.
    await d.next();
    const c6 = (await d.chain.store.getCommit(6))!;
    expect(c6.signatures.map((s) => hex(s.validator))).toContain(hex(joiner.address));
    let proposed = false;
    for (let i = 0; i < 6 && !proposed; i++) {
      await d.next();
      proposed = hex(d.chain.head.header.proposer) === hex(joiner.address);
    }
    expect(proposed).toBe(true);
    checkInvariants(d.chain.world);
  });

  it("Undelegate moves tokens into an unbonding entry paid after unbondingBlocks; the validator leaves the set when too little is bonded", async () => {
    const d = await open();
    const v3 = net.validators[3]!;
    const shares = d.chain.world.delegations[3]!.shares;
    const balBefore = d.chain.world.getAccount(v3.address)?.balance ?? 0n;
    // Validator 3 unbonds everything (its own account pays the fee: it first receives some funds).
    await d.next([signedTx(alice, { nonce: 0n, body: { selector: 0, value: { to: v3.address, amount: 10n ** 12n } } }).env]);
    const r = await d.next([tx(v3, body.undelegate(v3.address, shares), d)]);
    expect(r.receipts.map(statusOf)).toEqual(["OK"]);
    const w = d.chain.world;
    expect(w.staking[3]!.tokens).toBe(0n);
    expect(w.unbonding).toHaveLength(1);
    expect(w.unbonding[0]).toMatchObject({ validator: 3, amount: GENESIS_TOKENS, creationHeight: 2, completionHeight: 12 });
    const again = await d.next([tx(v3, body.undelegate(v3.address, 1n), d)]);
    expect(again.receipts.map(statusOf)).toEqual([ExecErrorCode.NO_DELEGATION]);
    await d.until(5);
    expect(d.chain.world.validators.map((v) => hex(v.address))).not.toContain(hex(v3.address));
    await d.until(11);
    expect(d.chain.world.unbonding[0]!.amount).toBe(GENESIS_TOKENS); // not yet
    const before12 = d.chain.world.getAccount(v3.address)!.balance;
    await d.until(12);
    expect(d.chain.world.unbonding[0]!.amount).toBe(0n);
    expect(d.chain.world.getAccount(v3.address)!.balance - before12).toBe(GENESIS_TOKENS);
    expect(balBefore).toBe(0n);
    checkInvariants(d.chain.world);
  });
});

describe("slashing", () => {
  it("downtime: missing more than half the window jails and slashes 0.1 %, the set drops it at the epoch, Unjail brings it back after the jail time", async () => {
    const d = await open();
    const v3 = net.validators[3]!;
    const tokens0 = d.chain.world.staking[3]!.tokens;
    // Give validator 3's operator (itself) funds for fees.
    await d.next([signedTx(alice, { nonce: 0n, body: { selector: 0, value: { to: v3.address, amount: 10n ** 12n } } }).env]);
    let jailedAt = 0;
    while (!d.chain.world.staking[3]!.jailed) {
      await d.next([], { offline: [v3.address] });
      if (d.height > 20) throw new Error("never jailed");
      jailedAt = d.height;
    }
    // Window 8, min signed 4: the 5th miss (of lastCommits from block 2 on) with 8 blocks observed.
    expect(jailedAt).toBe(9);
    const v = d.chain.world.staking[3]!;
    expect(v.tokens).toBe(tokens0 - (tokens0 * 10n) / 10_000n);
    expect(v.jailedUntil).toBe(jailedAt + 6);
    expect(d.chain.world.totals.burned).toBeGreaterThanOrEqual((tokens0 * 10n) / 10_000n);
    // Still in the set until the epoch boundary (10), then gone.
    expect(d.chain.world.validators).toHaveLength(4);
    await d.until(10, { offline: [v3.address] });
    expect(d.chain.world.validators.map((x) => hex(x.address))).not.toContain(hex(v3.address));
    // Too early to unjail.
    const early = await d.next([tx(v3, body.unjail(), d)]);
    expect(early.receipts.map(statusOf)).toEqual([ExecErrorCode.STILL_JAILED]);
    const notOp = await d.next([tx(alice, body.unjail(), d)]);
    expect(notOp.receipts.map(statusOf)).toEqual([ExecErrorCode.NOT_AN_OPERATOR]);
    await d.until(jailedAt + 6 - 1);
    const ok = await d.next([tx(v3, body.unjail(), d)]);
    expect(ok.receipts.map(statusOf)).toEqual(["OK"]);
    const twice = await d.next([tx(v3, body.unjail(), d)]);
    expect(twice.receipts.map(statusOf)).toEqual([ExecErrorCode.NOT_JAILED]);
    await d.until(20);
    expect(d.chain.world.validators.map((x) => hex(x.address))).toContain(hex(v3.address));
    checkInvariants(d.chain.world);
  });

  it("double sign: evidence in a block slashes 5 % of tokens (every delegator's value), unbonding entries made at or after the offence, tombstones, and the epoch removes it", async () => {
    const d = await open();
    const v2 = net.validators[2]!;
    // Carol delegates to validator 2 at height 1; Bob delegates then undelegates half at height 2 (before the offence);
    // Carol undelegates a part at height 4 (after the offence at height 3).
    const fund = { selector: 0, value: { to: v2.address, amount: 10n ** 12n } }; // fees for validator 2's own account
    await d.next([tx(carol, body.delegate(v2.address, 40n * POWER_REDUCTION), d), tx(bob, body.delegate(v2.address, 20n * POWER_REDUCTION), d), tx(alice, fund, d)]);
    const bobShares = d.chain.world.delegations[d.chain.world.delegationIndex.get(`${addrKey(bob.address)}/2`)!]!.shares;
    await d.next([tx(bob, body.undelegate(v2.address, bobShares / 2n), d)]);
    await d.next();
    const carolShares = d.chain.world.delegations[d.chain.world.delegationIndex.get(`${addrKey(carol.address)}/2`)!]!.shares;
    await d.next([tx(carol, body.undelegate(v2.address, carolShares / 4n), d)]);
    const w0 = d.chain.world;
    const tokens = w0.staking[2]!.tokens;
    const carolValue = sharesValue(w0.staking[2]!, (carolShares * 3n) / 4n);
    const entries = w0.unbonding.map((e) => e.amount);
    const chainId = d.chain.ctx.chainId;
    const vote = (fill: number): VoteT => {
      const blockHash = new Uint8Array(32).fill(fill);
      return { type: VoteType.Prevote, height: 3, round: 0, blockHash, validator: v2.address, signature: v2.sign(voteSigningMessage(chainId, VoteType.Prevote, 3, 0, blockHash)) };
    };
    const ev = makeEvidence(vote(1), vote(2));
    await d.next([], { evidence: [ev] });
    expect((await d.chain.store.getBlock(5))!.body.evidence).toHaveLength(1);
    const w = d.chain.world;
    const v = w.staking[2]!;
    expect(v.tokens).toBe(tokens - (tokens * 500n) / 10_000n);
    expect(v.tombstoned).toBe(true);
    expect(v.jailed).toBe(true);
    // Carol's remaining delegation lost 5 % of its value (to rounding).
    const after = sharesValue(v, (carolShares * 3n) / 4n);
    expect(carolValue - after - (carolValue * 500n) / 10_000n <= 1n).toBe(true);
    // Bob's entry (height 2, before the offence at 3) is untouched; Carol's (height 4) lost 5 %.
    expect(w.unbonding[0]!.amount).toBe(entries[0]);
    expect(w.unbonding[1]!.amount).toBe(entries[1]! - (entries[1]! * 500n) / 10_000n);
    // Block 5 is the boundary: validator 2 is gone from the next set.
    expect(w.validators.map((x) => hex(x.address))).not.toContain(hex(v2.address));
    // No delegating to it, no unjailing it; the same evidence is not accepted twice.
    const r = await d.next([tx(alice, body.delegate(v2.address, POWER_REDUCTION), d), tx(v2, body.unjail(), d)]);
    expect(r.receipts.map(statusOf)).toEqual([ExecErrorCode.VALIDATOR_TOMBSTONED, ExecErrorCode.VALIDATOR_TOMBSTONED]);
    const built = d.chain.build({ time: d.chain.head.header.time + 1000, proposer: d.proposer(), candidates: [], evidence: [ev] });
    expect(built.block.body.evidence).toHaveLength(0);
    checkInvariants(d.chain.world);
  });
});

describe("state on disk", () => {
  it("the staking state reloads with the same root, maps and cursor", async () => {
    const d = await open();
    const joiner = AccountKey.fromLabel("staking/reload");
    await d.next([tx(alice, body.createValidator(joiner.publicKey, 10n * POWER_REDUCTION), d), tx(bob, body.delegate(net.validators[1]!.address, POWER_REDUCTION), d)]);
    await d.next([tx(bob, body.undelegate(net.validators[1]!.address, 1000n), d)]);
    const loaded = (await WorldState.load(d.db, d.height))!;
    expect(hex(loaded.root)).toBe(hex(d.chain.world.root));
    expect([...loaded.validatorIndex]).toEqual([...d.chain.world.validatorIndex]);
    expect([...loaded.delegationIndex]).toEqual([...d.chain.world.delegationIndex]);
    expect(loaded.unbondingCursor).toBe(d.chain.world.unbondingCursor);
    expect(loaded.priorities).toEqual(d.chain.world.priorities);
  });
});
