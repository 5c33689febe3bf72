/**
 * Settlement in the state transition (DESIGN §9), through the real chain
 * code: `Withdraw` debits and records leaves per epoch, the last block of an
 * epoch records its checkpoint (withdrawals root, anchor-set hashes), anchor
 * addresses are required and distinct, and all of it survives a reload.
 */
import { describe, expect, it } from "vitest";
import { bytesToHex, type Hex } from "viem";
import { ExecErrorCode, TxError, TxErrorCode } from "../../../node/chain/errors.ts";
import { applyWithdraw, epochOf, withdrawalLeaf } from "../../../node/chain/settlement.ts";
import { checkTxStateless } from "../../../node/chain/transaction.ts";
import { PouwNode } from "../../../node/node.ts";
import { AnchorKey } from "../../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { EpochCheckpoint, Withdrawal } from "../../../node/state/schemas.ts";
import { StateOverlay, WorldState } from "../../../node/state/world.ts";
import { ReceiptStatus } from "../../../node/types/block.ts";
import { parseGenesis, type GenesisJson } from "../../../node/types/genesis.ts";
import type { Params } from "../../../node/types/params.ts";
import { chainIdHash, validatorSetHash, withdrawalTree, withdrawalLeafHash, ZERO32 } from "../../../node/types/settlement.ts";
import { TxSelector } from "../../../node/types/transaction.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { ChainDriver, useChainDrivers } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { body, signedTx } from "../../helpers/tx.ts";

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
  const balances = [...w.accounts].reduce((s, a) => s + a.balance, 0n);
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

describe("Withdraw against the settlement domains in params", () => {
  const EVM = new Uint8Array(32).fill(0xe1);
  const SUI = new Uint8Array(32).fill(0x5a);
  const domains = [
    { domain: bytesToHex(EVM), kind: "evm" as const },
    { domain: bytesToHex(SUI), kind: "sui" as const },
  ];
  const listed = makeTestNet({ validators: 1, accounts: 2, label: "settle-domains", params: { settlementDomains: domains } });
  const [ann, ben] = listed.accounts as [AccountKey, AccountKey];
  const openListed = useChainDrivers(listed.genesisJson, listed.validators);
  /** A Sui address: a full 32-byte word. */
  const SUI_RECIPIENT = new Uint8Array(32).fill(0x77);
  const EVM_RECIPIENT = recipient(9);
  const at = (key: AccountKey, nonce: bigint, b: ReturnType<typeof withdraw>) => signedTx(key, { nonce, body: b as Parameters<typeof signedTx>[1]["body"], gasLimit: 100_000 }).env;

  it("admission refuses a Withdraw to an unlisted domain or a non-address recipient on an EVM vault, before inclusion (no fee)", async () => {
    const d = await openListed();
    const ctx = d.chain.ctx;
    const code = (b: ReturnType<typeof withdraw>) => {
      try {
        checkTxStateless(at(ann, 0n, b), ctx);
        return "OK";
      } catch (e) {
        expect(e).toBeInstanceOf(TxError);
        return (e as TxError).code;
      }
    };
    expect(code(withdraw(UNIT, SUI_RECIPIENT, EVM))).toBe(TxErrorCode.WITHDRAW_RECIPIENT_NOT_EVM);
    expect(code(withdraw(UNIT, EVM_RECIPIENT, DOMAIN))).toBe(TxErrorCode.WITHDRAW_UNKNOWN_DOMAIN);
    expect(code(withdraw(UNIT, EVM_RECIPIENT, EVM))).toBe("OK");
    expect(code(withdraw(UNIT, SUI_RECIPIENT, SUI))).toBe("OK"); // a Sui vault takes any 32-byte recipient
    // One non-zero byte in the upper 12 is enough to be refused.
    const almost = new Uint8Array(EVM_RECIPIENT);
    almost[0] = 1;
    expect(code(withdraw(UNIT, almost, EVM))).toBe(TxErrorCode.WITHDRAW_RECIPIENT_NOT_EVM);

    // Building a block: the bad ones are dropped, not included, and cost nothing; the good ones go in.
    const before = d.chain.world.getAccount(ann.address)!.balance;
    const bad1 = at(ann, 0n, withdraw(UNIT, SUI_RECIPIENT, EVM));
    const bad2 = at(ben, 0n, withdraw(UNIT, EVM_RECIPIENT, DOMAIN));
    const built = d.chain.build({ time: d.chain.head.header.time + 1000, proposer: d.proposer(), candidates: [bad1, bad2] });
    expect(built.result.txs).toHaveLength(0);
    expect(built.result.dropped.map((x) => x.error.code)).toEqual([TxErrorCode.WITHDRAW_RECIPIENT_NOT_EVM, TxErrorCode.WITHDRAW_UNKNOWN_DOMAIN]);
    const r = await d.next([at(ann, 0n, withdraw(UNIT, EVM_RECIPIENT, EVM)), at(ben, 0n, withdraw(2n * UNIT, SUI_RECIPIENT, SUI))]);
    expect(r.receipts.map(statusOf)).toEqual(["OK", "OK"]);
    expect(d.chain.world.withdrawals.map((w) => [bytesToHex(w.domain), w.amount])).toEqual([
      [bytesToHex(EVM), UNIT],
      [bytesToHex(SUI), 2n * UNIT],
    ]);
    expect(d.chain.world.getAccount(ann.address)!.balance).toBe(before - UNIT - r.receipts[0]!.feeBurned - r.receipts[0]!.tip);
  });

  it("a node submitting through its mempool gets the code back", async () => {
    const node = await PouwNode.create({ dataDir: null, genesisJson: listed.genesisJson, validatorKey: null, rpc: null, verifierThreads: 0 });
    try {
      const bad = signedTx(ann, { nonce: 0n, body: withdraw(UNIT, SUI_RECIPIENT, EVM) as Parameters<typeof signedTx>[1]["body"], gasLimit: 100_000 });
      await expect(node.submitTransaction(bad.bytes)).rejects.toMatchObject({ code: TxErrorCode.WITHDRAW_RECIPIENT_NOT_EVM });
      const unknown = signedTx(ann, { nonce: 0n, body: withdraw(UNIT, EVM_RECIPIENT, DOMAIN) as Parameters<typeof signedTx>[1]["body"], gasLimit: 100_000 });
      await expect(node.submitTransaction(unknown.bytes)).rejects.toMatchObject({ code: TxErrorCode.WITHDRAW_UNKNOWN_DOMAIN });
      expect(node.mempoolSize()).toBe(0);
    } finally {
      await node.close();
    }
  });

  it("execution refuses them too and records no leaf; a block from a node whose params list no domains is invalid here", async () => {
    const d = await openListed();
    const overlay = new StateOverlay(d.chain.world);
    const ctx = { ...d.chain.ctx, height: 1, baseFeePerGas: 1n, proposer: d.proposer() };
    const apply = (to: typeof EVM_RECIPIENT, domain: typeof EVM) => {
      const env = d.sign(ann, withdraw(UNIT, to, domain));
      return applyWithdraw(env, env.signed.tx.body.value as Parameters<typeof applyWithdraw>[1], overlay, ctx);
    };
    expect(apply(SUI_RECIPIENT, EVM)).toBe(ExecErrorCode.WITHDRAW_RECIPIENT_NOT_EVM);
    expect(apply(EVM_RECIPIENT, DOMAIN)).toBe(ExecErrorCode.WITHDRAW_UNKNOWN_DOMAIN);
    expect(overlay.withdrawals.length).toBe(0);
    expect(apply(EVM_RECIPIENT, EVM)).toBeNull();
    expect(overlay.withdrawals.length).toBe(1);

    // Through a whole block: a chain whose params list no domains built it; this one finds it invalid.
    const loose = await ChainDriver.open(listed.genesisJson.replace(/"settlementDomains":\[[^\]]*\]/, '"settlementDomains":[]'), listed.validators);
    try {
      expect(loose.chain.params.settlementDomains).toEqual([]);
      const built = loose.chain.build({ time: loose.chain.head.header.time + 1000, proposer: loose.proposer(), candidates: [loose.sign(ann, withdraw(UNIT, SUI_RECIPIENT, EVM))] });
      expect(built.result.txs).toHaveLength(1); // no domains listed: not checked, as on a devnet
      expect(() => d.chain.verify(built.block, built.result.txs, Number.MAX_SAFE_INTEGER)).toThrow(/cannot be included: WITHDRAW_RECIPIENT_NOT_EVM/);
    } finally {
      await loose.close();
    }
  });
});
