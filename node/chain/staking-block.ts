/**
 * What staking does to every block besides its transactions (DESIGN §7), in
 * this order: before the transactions, issue the block reward, record who
 * signed the previous block (jailing the absent past the window) and slash
 * the evidence the block carries; after them, pay matured unbonding entries,
 * move proposer priorities on by one height and, at an epoch boundary,
 * recompute the active set. Pure over the overlay.
 */
import { isEpochEnd } from "./settlement.ts";
import type { CommitT, DuplicateVoteEvidenceT } from "../types/block.ts";
import type { ValidatorSetT } from "../types/validator.ts";
import { addrKey, type StateOverlay } from "../state/world.ts";
import type { BlockContext } from "./context.ts";
import { ProposerSet } from "./proposer.ts";
import { creditValidator } from "./staking.ts";

const BPS = 10_000n;
/** `jailedUntil` of a tombstoned validator: never. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

export interface BlockStakingInput {
  lastCommit: CommitT;
  evidence: readonly DuplicateVoteEvidenceT[];
}

export function beginBlock(o: StateOverlay, ctx: BlockContext, input: BlockStakingInput): void {
  const signers = new Set(input.lastCommit.signatures.map((s) => addrKey(s.validator)));
  distributeReward(o, ctx, signers);
  if (ctx.height > 1) trackLiveness(o, ctx, signers);
  for (const ev of input.evidence) slashDoubleSign(o, ev, ctx);
}

export function endBlock(o: StateOverlay, ctx: BlockContext): void {
  matureUnbonding(o, ctx.height);
  advanceValidatorSet(o, ctx);
}

/** Issues `blockReward`: `stakingShareBps` of it to the proposer and the lastCommit signers by power, the rest to the PoUW pool. */
function distributeReward(o: StateOverlay, ctx: BlockContext, signers: Set<string>): void {
  const { params } = ctx;
  const minted = params.blockReward;
  if (minted === 0n) return;
  const staking = (minted * BigInt(params.stakingShareBps)) / BPS;
  o.totals.supply += minted;
  o.totals.pouwPool += minted - staking;
  o.totals.rewardsOutstanding += staking;
  let toProposer = (staking * BigInt(params.proposerRewardBps)) / BPS;
  const rest = staking - toProposer;
  const signed = o.lastValidators.filter((v) => signers.has(addrKey(v.address)));
  const signedPower = signed.reduce((s, v) => s + v.power, 0n);
  let given = 0n;
  if (signedPower > 0n) {
    for (const v of signed) {
      const share = (rest * v.power) / signedPower;
      const vi = o.validatorIndexOf(addrKey(v.address));
      if (vi === undefined) continue;
      creditValidator(o, vi, share);
      given += share;
    }
  }
  toProposer += rest - given; // rounding dust, or everything when nobody signed (the first block)
  const pi = o.validatorIndexOf(addrKey(ctx.proposer));
  if (pi === undefined) {
    o.totals.rewardsOutstanding -= toProposer;
    o.totals.pouwPool += toProposer;
  } else {
    creditValidator(o, pi, toProposer);
  }
}

/**
 * Cosmos x/slashing's liveness rule: a ring of the last `signedBlocksWindow`
 * blocks per member of the set that signed the previous block; more than
 * `window − minSigned` misses slashes `slashFractionDowntimeBps` and jails for
 * `downtimeJailBlocks`.
 */
function trackLiveness(o: StateOverlay, ctx: BlockContext, signers: Set<string>): void {
  const { params } = ctx;
  const window = params.signedBlocksWindow;
  const minSigned = Math.ceil((window * params.minSignedPerWindowBps) / 10_000);
  const maxMissed = window - minSigned;
  for (const member of o.lastValidators) {
    const vi = o.validatorIndexOf(addrKey(member.address));
    if (vi === undefined) continue;
    const v = o.staking.get(vi)!;
    if (v.jailed) continue; // already out; tracking starts again on Unjail
    const signed = signers.has(addrKey(member.address));
    const old = o.signingInfos.get(vi)!;
    const pos = old.indexOffset % window;
    const wasMissed = (old.missed[pos >> 3]! & (1 << (pos & 7))) !== 0;
    const info = o.signingInfos.mutable(vi);
    info.indexOffset += 1;
    if (!signed && !wasMissed) {
      info.missed[pos >> 3]! |= 1 << (pos & 7);
      info.missedCount += 1;
    } else if (signed && wasMissed) {
      info.missed[pos >> 3]! &= ~(1 << (pos & 7));
      info.missedCount -= 1;
    }
    if (info.indexOffset >= window && info.missedCount > maxMissed) {
      slash(o, vi, params.slashFractionDowntimeBps, ctx.height - 1);
      const mv = o.staking.mutable(vi);
      mv.jailed = true;
      mv.jailedUntil = ctx.height + params.downtimeJailBlocks;
      info.indexOffset = 0;
      info.missedCount = 0;
      info.missed.fill(0);
    }
  }
}

function slashDoubleSign(o: StateOverlay, ev: DuplicateVoteEvidenceT, ctx: BlockContext): void {
  const vi = o.validatorIndexOf(addrKey(ev.voteA.validator));
  if (vi === undefined || o.staking.get(vi)!.tombstoned) return;
  slash(o, vi, ctx.params.slashFractionDoubleSignBps, ev.voteA.height);
  const v = o.staking.mutable(vi);
  v.tombstoned = true;
  v.jailed = true;
  v.jailedUntil = FOREVER;
}

/**
 * Burns `bps` of validator `vi`'s tokens (so of every delegation's value) and
 * of its unbonding entries created at or after `infractionHeight`.
 */
export function slash(o: StateOverlay, vi: number, bps: number, infractionHeight: number): bigint {
  const f = BigInt(bps);
  const v = o.staking.mutable(vi);
  let burned = (v.tokens * f) / BPS;
  v.tokens -= burned;
  for (let i = o.unbondingCursor; i < o.unbonding.length; i++) {
    const e = o.unbonding.get(i)!;
    if (e.validator !== vi || e.creationHeight < infractionHeight || e.amount === 0n) continue;
    const cut = (e.initialAmount * f) / BPS;
    const take = cut < e.amount ? cut : e.amount;
    o.unbonding.mutable(i).amount -= take;
    burned += take;
  }
  o.totals.staked -= burned;
  o.totals.supply -= burned;
  o.totals.burned += burned;
  return burned;
}

function matureUnbonding(o: StateOverlay, height: number): void {
  while (o.unbondingCursor < o.unbonding.length) {
    const e = o.unbonding.get(o.unbondingCursor)!;
    if (e.completionHeight > height) break;
    if (e.amount > 0n) {
      o.mutable(addrKey(e.delegator), e.delegator).balance += e.amount;
      o.totals.staked -= e.amount;
      o.unbonding.mutable(o.unbondingCursor).amount = 0n;
    }
    o.unbondingCursor++;
  }
}

/** The active set an epoch boundary elects: the top `maxValidators` by tokens that are not jailed, with at least one unit of power. */
export function electValidators(o: StateOverlay, ctx: BlockContext): ValidatorSetT {
  const { params } = ctx;
  const eligible: { i: number; tokens: bigint; hex: string }[] = [];
  for (let i = 0; i < o.staking.length; i++) {
    const v = o.staking.get(i)!;
    if (v.jailed || v.tombstoned || v.tokens < params.powerReduction) continue;
    eligible.push({ i, tokens: v.tokens, hex: addrKey(v.address) });
  }
  eligible.sort((a, b) => (a.tokens !== b.tokens ? (a.tokens > b.tokens ? -1 : 1) : a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
  return eligible.slice(0, params.maxValidators).map(({ i }) => {
    const v = o.staking.get(i)!;
    return { address: v.address, publicKey: v.consensusKey, anchorAddress: v.anchorAddress, power: v.tokens / params.powerReduction };
  });
}

function sameSet(a: ValidatorSetT, b: ValidatorSetT): boolean {
  return a.length === b.length && a.every((v, i) => addrKey(v.address) === addrKey(b[i]!.address) && v.power === b[i]!.power && addrKey(v.anchorAddress) === addrKey(b[i]!.anchorAddress));
}

/**
 * The set of the next height: this height's priorities moved on by one
 * (CometBFT), then at an epoch boundary the elected set with newcomers placed
 * behind. An election that finds nobody keeps the current set (the chain
 * must not halt for want of validators).
 */
function advanceValidatorSet(o: StateOverlay, ctx: BlockContext): void {
  const current = o.validators;
  const ps = ProposerSet.fromPriorities(current.map((v, i) => ({ id: addrKey(v.address), power: v.power, priority: o.priorities[i]! }))).increment(1);
  let priorities = ps.validators.map((v) => v.priority);
  o.lastValidators = current;
  if (isEpochEnd(ctx.height, ctx.params)) {
    const elected = electValidators(o, ctx);
    if (elected.length > 0 && !sameSet(elected, current)) {
      priorities = ProposerSet.changedPriorities(
        ps.validators,
        elected.map((v) => ({ id: addrKey(v.address), power: v.power })),
      );
      o.validators = elected;
    }
  }
  o.priorities = priorities;
}
