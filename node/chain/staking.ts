/**
 * Staking transactions (DESIGN §4, §7) over the tokens/shares model of the
 * Cosmos SDK: a validator holds `tokens` owned by its delegators in
 * proportion to their `shares`; delegating mints shares at the current rate,
 * undelegating burns them into an unbonding entry, slashing lowers `tokens`
 * only. Rewards accrue per share (`rewardPerShare`, scaled) and are paid to
 * the delegator's balance whenever its delegation changes or on
 * `WithdrawRewards`. Every function here is pure over the overlay.
 */
import { addressFromPublicKey } from "../crypto/address.ts";
import type { GenesisValidator } from "../types/genesis.ts";
import type { Params } from "../types/params.ts";
import { MAX_U64 } from "../types/primitives.ts";
import { bytesEqual } from "../util/hex.ts";
import type { ValueOf } from "@chainsafe/ssz";
import type { CreateValidator, Delegate, Undelegate, WithdrawRewards } from "../types/transaction.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import { REWARD_SCALE, type SigningInfoT, type StakingValidatorT } from "../state/schemas.ts";
import { addrKey, type GenesisStaking, type StateOverlay } from "../state/world.ts";
import type { BlockContext } from "./context.ts";
import { ExecErrorCode, type ExecErrorCode as ExecCode } from "./errors.ts";

const BPS = 10_000n;

export function emptySigningInfo(params: Params): SigningInfoT {
  return { indexOffset: 0, missedCount: 0, missed: new Uint8Array(Math.ceil(params.signedBlocksWindow / 8)) };
}

/** The staking records of genesis: each validator self-bonds `power × powerReduction`, operated by its own address. */
export function genesisStaking(validators: readonly GenesisValidator[], params: Params): GenesisStaking {
  const staking: StakingValidatorT[] = validators.map((v) => {
    const tokens = v.power * params.powerReduction;
    return {
      address: v.address,
      operator: v.address,
      consensusKey: v.publicKey,
      anchorAddress: v.anchorAddress,
      commissionBps: v.commissionBps,
      tokens,
      delegatorShares: tokens,
      jailed: false,
      jailedUntil: 0,
      tombstoned: false,
      rewardPerShare: 0n,
      commission: 0n,
      createdAt: 0,
    };
  });
  return {
    staking,
    signingInfos: validators.map(() => emptySigningInfo(params)),
    delegations: staking.map((v, i) => ({ delegator: v.address, validator: i, shares: v.delegatorShares, rewardSnapshot: 0n })),
    validators: validators.map((v) => ({ address: v.address, publicKey: v.publicKey, anchorAddress: v.anchorAddress, power: v.power })),
  };
}

/** What `shares` of validator `v` are worth in tokens now. */
export function sharesValue(v: Pick<StakingValidatorT, "tokens" | "delegatorShares">, shares: bigint): bigint {
  if (v.delegatorShares === 0n) return 0n;
  return (shares * v.tokens) / v.delegatorShares;
}

/** Rewards delegation `d` has earned and not yet been paid. */
export function pendingRewards(v: Pick<StakingValidatorT, "rewardPerShare">, d: { shares: bigint; rewardSnapshot: bigint }): bigint {
  return (d.shares * (v.rewardPerShare - d.rewardSnapshot)) / REWARD_SCALE;
}

/** Pays delegation `i` its pending rewards and moves its snapshot up; returns the amount paid. */
export function settleRewards(o: StateOverlay, i: number): bigint {
  const d = o.delegations.get(i)!;
  const v = o.staking.get(d.validator)!;
  if (d.rewardSnapshot === v.rewardPerShare) return 0n;
  const pending = pendingRewards(v, d);
  o.delegations.mutable(i).rewardSnapshot = v.rewardPerShare;
  if (pending > 0n) pay(o, d.delegator, pending);
  return pending;
}

/** Moves `amount` from the outstanding rewards to an account. */
function pay(o: StateOverlay, to: Uint8Array, amount: bigint): void {
  o.mutable(addrKey(to), to).balance += amount;
  o.totals.rewardsOutstanding -= amount;
}

/** Bonds `amount` from `delegator`'s balance to validator `vi` (the caller checked the balance). */
function bond(o: StateOverlay, vi: number, delegator: Uint8Array, delegatorHex: string, amount: bigint): ExecCode | null {
  const v = o.staking.get(vi)!;
  if (v.tombstoned) return ExecErrorCode.VALIDATOR_TOMBSTONED;
  if (v.tokens === 0n && v.delegatorShares > 0n) return ExecErrorCode.VALIDATOR_HAS_NO_TOKENS;
  const shares = v.delegatorShares === 0n ? amount : (amount * v.delegatorShares) / v.tokens;
  if (shares === 0n) return ExecErrorCode.STAKE_TOO_SMALL;
  if (v.delegatorShares + shares > MAX_U64 || v.tokens + amount > MAX_U64) return ExecErrorCode.SHARES_OVERFLOW;
  const di = o.delegationIndexOf(delegatorHex, vi);
  if (di === undefined) {
    o.addDelegation({ delegator: new Uint8Array(delegator), validator: vi, shares, rewardSnapshot: v.rewardPerShare });
  } else {
    settleRewards(o, di);
    o.delegations.mutable(di).shares += shares;
  }
  const mv = o.staking.mutable(vi);
  mv.tokens += amount;
  mv.delegatorShares += shares;
  o.mutable(delegatorHex, delegator).balance -= amount;
  o.totals.staked += amount;
  return null;
}

/** Whether a registered validator already uses this anchor address (a scan: CreateValidator is rare and costs 100,000 gas). */
function anchorAddressTaken(o: StateOverlay, anchor: Uint8Array): boolean {
  for (let i = 0; i < o.staking.length; i++) if (bytesEqual(o.staking.get(i)!.anchorAddress, anchor)) return true;
  return false;
}

export function applyCreateValidator(env: TxEnvelope, body: ValueOf<typeof CreateValidator>, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const { params } = ctx;
  if (body.commissionBps > 10_000) return ExecErrorCode.COMMISSION_TOO_HIGH;
  const address = addressFromPublicKey(body.consensusKey);
  if (o.validatorIndexOf(addrKey(address)) !== undefined) return ExecErrorCode.VALIDATOR_EXISTS;
  if (o.operatorIndexOf(env.senderHex) !== undefined) return ExecErrorCode.OPERATOR_HAS_VALIDATOR;
  if (body.amount < params.powerReduction) return ExecErrorCode.STAKE_TOO_SMALL;
  if (body.anchorAddress.every((b) => b === 0)) return ExecErrorCode.ANCHOR_ADDRESS_ZERO;
  if (anchorAddressTaken(o, body.anchorAddress)) return ExecErrorCode.ANCHOR_ADDRESS_TAKEN;
  if ((o.get(env.senderHex)?.balance ?? 0n) < body.amount) return ExecErrorCode.INSUFFICIENT_BALANCE;
  const vi = o.addValidator(
    {
      address,
      operator: new Uint8Array(env.sender),
      consensusKey: new Uint8Array(body.consensusKey),
      anchorAddress: new Uint8Array(body.anchorAddress),
      commissionBps: body.commissionBps,
      tokens: 0n,
      delegatorShares: 0n,
      jailed: false,
      jailedUntil: 0,
      tombstoned: false,
      rewardPerShare: 0n,
      commission: 0n,
      createdAt: ctx.height,
    },
    emptySigningInfo(params),
  );
  return bond(o, vi, env.sender, env.senderHex, body.amount);
}

export function applyDelegate(env: TxEnvelope, body: ValueOf<typeof Delegate>, o: StateOverlay): ExecCode | null {
  const vi = o.validatorIndexOf(addrKey(body.validator));
  if (vi === undefined) return ExecErrorCode.UNKNOWN_VALIDATOR;
  if (body.amount === 0n) return ExecErrorCode.STAKE_TOO_SMALL;
  if ((o.get(env.senderHex)?.balance ?? 0n) < body.amount) return ExecErrorCode.INSUFFICIENT_BALANCE;
  return bond(o, vi, env.sender, env.senderHex, body.amount);
}

export function applyUndelegate(env: TxEnvelope, body: ValueOf<typeof Undelegate>, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const vi = o.validatorIndexOf(addrKey(body.validator));
  if (vi === undefined) return ExecErrorCode.UNKNOWN_VALIDATOR;
  const di = o.delegationIndexOf(env.senderHex, vi);
  if (di === undefined || o.delegations.get(di)!.shares === 0n) return ExecErrorCode.NO_DELEGATION;
  if (body.shares === 0n || body.shares > o.delegations.get(di)!.shares) return ExecErrorCode.INSUFFICIENT_SHARES;
  settleRewards(o, di);
  const v = o.staking.mutable(vi);
  const amount = body.shares === v.delegatorShares ? v.tokens : sharesValue(v, body.shares);
  v.tokens -= amount;
  v.delegatorShares -= body.shares;
  o.delegations.mutable(di).shares -= body.shares;
  o.unbonding.push({
    delegator: new Uint8Array(env.sender),
    validator: vi,
    amount,
    initialAmount: amount,
    creationHeight: ctx.height,
    completionHeight: ctx.height + ctx.params.unbondingBlocks,
  });
  return null;
}

export function applyUnjail(env: TxEnvelope, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  const vi = o.operatorIndexOf(env.senderHex);
  if (vi === undefined) return ExecErrorCode.NOT_AN_OPERATOR;
  const v = o.staking.get(vi)!;
  if (v.tombstoned) return ExecErrorCode.VALIDATOR_TOMBSTONED;
  if (!v.jailed) return ExecErrorCode.NOT_JAILED;
  if (ctx.height < v.jailedUntil) return ExecErrorCode.STILL_JAILED;
  if (v.tokens < ctx.params.powerReduction) return ExecErrorCode.STAKE_TOO_SMALL;
  o.staking.mutable(vi).jailed = false;
  const info = o.signingInfos.mutable(vi);
  info.indexOffset = 0;
  info.missedCount = 0;
  info.missed.fill(0);
  return null;
}

/** Pays the sender's pending rewards (one validator, or all when `validator` is all zeros) and, for an operator, its commission. */
export function applyWithdrawRewards(env: TxEnvelope, body: ValueOf<typeof WithdrawRewards>, o: StateOverlay): ExecCode | null {
  const all = body.validator.every((b) => b === 0);
  let scope: number[];
  const own = o.operatorIndexOf(env.senderHex);
  if (all) {
    scope = o.delegationIndicesOf(env.senderHex);
  } else {
    const vi = o.validatorIndexOf(addrKey(body.validator));
    if (vi === undefined) return ExecErrorCode.UNKNOWN_VALIDATOR;
    const di = o.delegationIndexOf(env.senderHex, vi);
    if (di === undefined && own !== vi) return ExecErrorCode.NO_DELEGATION;
    scope = di === undefined ? [] : [di];
  }
  for (const di of scope) settleRewards(o, di);
  if (own !== undefined && (all || bytesEqual(o.staking.get(own)!.address, body.validator))) {
    const v = o.staking.get(own)!;
    if (v.commission > 0n) {
      pay(o, env.sender, v.commission);
      o.staking.mutable(own).commission = 0n;
    }
  }
  return null;
}

/** Splits `amount` of rewards to validator `vi`: commission to its operator, the rest per share to its delegators. */
export function creditValidator(o: StateOverlay, vi: number, amount: bigint): void {
  if (amount === 0n) return;
  const v = o.staking.mutable(vi);
  const commission = (amount * BigInt(v.commissionBps)) / BPS;
  v.commission += commission;
  const rest = amount - commission;
  if (v.delegatorShares === 0n) v.commission += rest;
  else v.rewardPerShare += (rest * REWARD_SCALE) / v.delegatorShares;
}
