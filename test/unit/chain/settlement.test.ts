/**
 * Settlement in the state transition (DESIGN §9), through the real chain
 * code: `Withdraw` debits and records leaves per epoch, the last block of an
 * epoch records its checkpoint (withdrawals root, anchor-set hashes), anchor
 * addresses are required and distinct, and all of it survives a reload.
 */
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "viem";
import { ExecErrorCode } from "../../../node/chain/errors.ts";
import { epochOf, withdrawalLeaf } from "../../../node/chain/settlement.ts";
import { AnchorKey } from "../../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { EpochCheckpoint, Withdrawal } from "../../../node/state/schemas.ts";
import { WorldState } from "../../../node/state/world.ts";
import { ReceiptStatus } from "../../../node/types/block.ts";
import { parseGenesis, type GenesisJson } from "../../../node/types/genesis.ts";
import type { Params } from "../../../node/types/params.ts";
import { chainIdHash, validatorSetHash, withdrawalTree, withdrawalLeafHash, ZERO32 } from "../../../node/types/settlement.ts";
import { TxSelector } from "../../../node/types/transaction.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { ChainDriver, useChainDrivers } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { body } from "../../helpers/tx.ts";

const L = 4;
const PARAMS: Partial<Params> = { epochLength: L };
const net = makeTestNet({ validators: 3, accounts: 4, label: "settle", params: PARAMS });
const [alice, bob, carol] = net.accounts as [AccountKey, AccountKey, AccountKey];
const UNIT = 1_000_000_000n;
const DOMAIN = new Uint8Array(32).fill(0xd0);
const recipient = (n: number) => {
  const r = new Uint8Array(32);
  r[31] = n;
  r[12] = 0xaa;
  return r;
};
const withdraw = (amount: bigint, to = recipient(1), domain = DOMAIN) => ({ selector: TxSelector.Withdraw, value: { domain, recipient: to, amount } });
const utf8 = (b: Uint8Array) => Buffer.from(b).toString();
const statusOf = (r: { status: number; error: Uint8Array }) => (r.status === ReceiptStatus.Success ? "OK" : utf8(r.error));

const open = useChainDrivers(net.genesisJson, net.validators);
const tx = (key: AccountKey, b: Parameters<ChainDriver["sign"]>[1], d: ChainDriver): TxEnvelope => d.sign(key, b);

function supplyIdentity(w: WorldState): void {
  const t = w.totals;
  const balances = w.accounts.reduce((s, a) => s + a.balance, 0n);
  expect(balances + t.staked + t.rewardsOutstanding + t.pouwPool + t.escrowed).toBe(t.supply);
}

const genesisAnchors = () => net.validators.map((k) => ({ address: AnchorKey.fromSeed(k.seed).address, power: 100n }));

describe("Withdraw", () => {
  it("debits the amount, leaves the supply, and records leaves indexed within their epoch", async () => {
    const d = await open();
    const before = d.chain.world.getAccount(alice.address)!.balance;
    const supply0 = d.chain.world.totals.supply;
    const r1 = await d.next([tx(alice, withdraw(5n * UNIT), d), tx(bob, withdraw(7n * UNIT, recipient(2)), d)]); // height 1, epoch 1
    expect(r1.receipts.map(statusOf)).toEqual(["OK", "OK"]);
    const fee = r1.receipts[0]!.feeBurned + r1.receipts[0]!.tip;
    const w = d.chain.world;
    expect(w.getAccount(alice.address)!.balance).toBe(before - 5n * UNIT - fee);
    expect(w.totals.withdrawn).toBe(12n * UNIT);
    // supply moves by issuance, burned fees and the 12 units that left
    expect(w.totals.supply).toBe(supply0 + 1_000_000_000n - r1.receipts.reduce((s, r) => s + r.feeBurned, 0n) - 12n * UNIT);
    supplyIdentity(w);
    expect(w.withdrawals.map((x) => [x.epoch, x.index, x.amount, x.height])).toEqual([
      [1, 0, 5n * UNIT, 1],
      [1, 1, 7n * UNIT, 1],
    ]);
    await d.until(L); // the epoch ends
    const r2 = await d.next([tx(carol, withdraw(3n * UNIT, recipient(3)), d)]); // height L+1, epoch 2
    expect(r2.receipts.map(statusOf)).toEqual(["OK"]);
    expect(d.chain.world.withdrawals.at(-1)).toMatchObject({ epoch: 2, index: 0, amount: 3n * UNIT, height: L + 1 });
    expect(epochOf(L, { epochLength: L })).toBe(1);
    expect(epochOf(L + 1, { epochLength: L })).toBe(2);
  });

  it("refuses a zero amount, domain or recipient and an amount above the balance, charging only the fee", async () => {
    const d = await open();
    const poor = AccountKey.fromLabel("settle/poor");
    await d.next([tx(alice, { selector: TxSelector.Transfer, value: { to: poor.address, amount: 2n * UNIT } }, d)]);
    const r = await d.next([
      tx(alice, withdraw(0n), d),
      tx(alice, withdraw(UNIT, recipient(1), new Uint8Array(32)), d),
      tx(alice, withdraw(UNIT, new Uint8Array(32)), d),
      tx(poor, withdraw(2n * UNIT), d),
    ]);
    expect(r.receipts.map(statusOf)).toEqual([
      ExecErrorCode.WITHDRAW_ZERO_AMOUNT,
      ExecErrorCode.WITHDRAW_ZERO_DOMAIN,
      ExecErrorCode.WITHDRAW_ZERO_RECIPIENT,
      ExecErrorCode.INSUFFICIENT_BALANCE,
    ]);
    const w = d.chain.world;
    expect(w.withdrawals).toHaveLength(0);
    expect(w.totals.withdrawn).toBe(0n);
    const poorFee = r.receipts[3]!.feeBurned + r.receipts[3]!.tip;
    expect(w.getAccount(poor.address)!.balance).toBe(2n * UNIT - poorFee);
    supplyIdentity(w);
  });
});

describe("epoch checkpoints", () => {
  it("records each epoch's withdrawals root and anchor-set hashes at its last block, and reloads them from disk", async () => {
    const d = await open();
    await d.next([tx(alice, withdraw(5n * UNIT), d)]);
    await d.next([tx(bob, withdraw(7n * UNIT, recipient(2)), d), tx(alice, withdraw(UNIT, recipient(9)), d)]);
    await d.until(L - 1);
    expect(d.chain.world.checkpoints).toHaveLength(0);
    await d.until(2 * L);
    const w = d.chain.world;
    expect(w.checkpoints.map((c) => [c.epoch, c.height, c.firstWithdrawal, c.withdrawalCount])).toEqual([
      [1, L, 0, 3],
      [2, 2 * L, 3, 0],
    ]);
    // The root is the StandardMerkleTree of the epoch's leaves, recomputed here from the leaf fields.
    const leaves = w.withdrawals.map((x) => withdrawalLeaf(new TextEncoder().encode(net.chainId), x));
    expect(leaves[0]).toMatchObject({ chainId: chainIdHash(net.chainId), epoch: 1n, index: 0n, domain: bytesToHex(DOMAIN), token: ZERO32, amount: 5n * UNIT });
    const tree = withdrawalTree(leaves);
    expect(bytesToHex(w.checkpoints[0]!.withdrawalsRoot)).toBe(tree.root);
    expect(tree.root).not.toBe(ZERO32);
    expect(tree.leafHash(1)).toBe(withdrawalLeafHash(leaves[1]!));
    expect(bytesToHex(w.checkpoints[1]!.withdrawalsRoot)).toBe(ZERO32);
    // The set that signs: the genesis validators' anchor keys with their powers; unchanged, so next = this.
    const setHash = validatorSetHash(genesisAnchors());
    expect(bytesToHex(w.checkpoints[0]!.validatorSetHash)).toBe(setHash);
    expect(bytesToHex(w.checkpoints[0]!.nextValidatorSetHash)).toBe(setHash);
    const loaded = (await WorldState.load(d.db, d.height))!;
    expect(loaded.root).toEqual(w.root);
    // (records loaded from the database hold Buffers: compare their encodings)
    expect(loaded.checkpoints.map((c) => EpochCheckpoint.serialize(c))).toEqual(w.checkpoints.map((c) => EpochCheckpoint.serialize(c)));
    expect(loaded.withdrawals.map((x) => Withdrawal.serialize(x))).toEqual(w.withdrawals.map((x) => Withdrawal.serialize(x)));
    expect(loaded.totals.withdrawn).toBe(13n * UNIT);
  });

  it("a validator elected at an epoch boundary is in that checkpoint's next set and the next checkpoint's set", async () => {
    const d = await open();
    const newcomer = AccountKey.fromLabel("settle/validator/new");
    d.addKey(newcomer);
    const anchor = AnchorKey.fromSeed(newcomer.seed);
    const r = await d.next([tx(carol, body.createValidator(newcomer.publicKey, 200n * UNIT, 1000, anchor.addressBytes), d)]);
    expect(r.receipts.map(statusOf)).toEqual(["OK"]);
    await d.until(2 * L);
    const [c1, c2] = d.chain.world.checkpoints as [(typeof d.chain.world.checkpoints)[0], (typeof d.chain.world.checkpoints)[0]];
    const before = validatorSetHash(genesisAnchors());
    const after = validatorSetHash([...genesisAnchors(), { address: anchor.address, power: 200n }]);
    expect(bytesToHex(c1.validatorSetHash)).toBe(before);
    expect(bytesToHex(c1.nextValidatorSetHash)).toBe(after);
    expect(bytesToHex(c2.validatorSetHash)).toBe(after);
  });
});

describe("anchor addresses", () => {
  it("CreateValidator refuses a zero anchor address and one another validator uses", async () => {
    const d = await open();
    const k1 = AccountKey.fromLabel("settle/validator/x");
    const k2 = AccountKey.fromLabel("settle/validator/y");
    const taken = AnchorKey.fromSeed(net.validators[1]!.seed).addressBytes;
    const r = await d.next([tx(alice, body.createValidator(k1.publicKey, 10n * UNIT, 1000, new Uint8Array(20)), d), tx(bob, body.createValidator(k2.publicKey, 10n * UNIT, 1000, taken), d)]);
    expect(r.receipts.map(statusOf)).toEqual([ExecErrorCode.ANCHOR_ADDRESS_ZERO, ExecErrorCode.ANCHOR_ADDRESS_TAKEN]);
    expect(d.chain.world.staking).toHaveLength(3);
  });

  it("genesis requires every validator to have a nonzero anchor address of its own", () => {
    const g = JSON.parse(net.genesisJson) as GenesisJson;
    const withAnchors = (f: (a: string | undefined, i: number) => string | undefined) =>
      JSON.parse(JSON.stringify({ ...g, validators: g.validators.map((v, i) => ({ ...v, anchorAddress: f(v.anchorAddress, i) })) })) as GenesisJson;
    expect(() => parseGenesis(withAnchors(() => undefined))).toThrow(/anchorAddress must be the 20-byte EVM address/);
    expect(() => parseGenesis(withAnchors(() => `0x${"00".repeat(20)}`))).toThrow(/must not be zero/);
    expect(() => parseGenesis(withAnchors(() => "0x1234"))).toThrow(/anchorAddress must be/);
    expect(() => parseGenesis(withAnchors(() => g.validators[0]!.anchorAddress as Hex))).toThrow(/share an anchorAddress/);
    expect(parseGenesis(g).validators.map((v) => bytesToHex(v.anchorAddress))).toEqual(genesisAnchors().map((a) => a.address.toLowerCase()));
  });
});
