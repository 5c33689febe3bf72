/**
 * Settlement in the state transition (DESIGN §9): `Withdraw` moves value off
 * the chain into an epoch's withdrawal tree, and the last block of each
 * epoch fixes that epoch's checkpoint record (withdrawals root, the hash of
 * the anchor set that signs it and of the next one). Epoch e is heights
 * (e-1)·epochLength + 1 … e·epochLength; its checkpoint is at the last.
 */
import type { ValueOf } from "@chainsafe/ssz";
import { bytesToHex, keccak256 } from "viem";
import type { Withdraw } from "../types/transaction.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import type { Params } from "../types/params.ts";
import { anchorMembersOf, validatorSetHash, withdrawalTree, ZERO32, type WithdrawalLeaf } from "../types/settlement.ts";
import type { StateOverlay } from "../state/world.ts";
import type { WithdrawalT } from "../state/schemas.ts";
import { toHex } from "../util/hex.ts";
import type { BlockContext } from "./context.ts";
import { ExecErrorCode, type ExecErrorCode as ExecCode } from "./errors.ts";

/** The epoch a height belongs to (height ≥ 1). */
export const epochOf = (height: number, params: Pick<Params, "epochLength">): number => Math.floor((height - 1) / params.epochLength) + 1;

/** Whether `height` is the last block of its epoch: the set is re-elected and the checkpoint recorded there. */
export const isEpochEnd = (height: number, params: Pick<Params, "epochLength">): boolean => height % params.epochLength === 0;

/** The last height of epoch e: where its checkpoint is taken. */
export const checkpointHeight = (epoch: number, params: Pick<Params, "epochLength">): number => epoch * params.epochLength;

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Global number of the open epoch's first withdrawal: the end of the last checkpoint's range. */
function openEpochStart(o: StateOverlay): number {
  const n = o.checkpoints.length;
  if (n === 0) return 0;
  const last = o.checkpoints.get(n - 1)!;
  return last.firstWithdrawal + last.withdrawalCount;
}

/** Global number the next withdrawal gets. */
const nextWithdrawal = (o: StateOverlay): number => o.withdrawalBase + o.withdrawals.length;

/**
 * Whether the vault a Withdraw names can ever pay it, by `settlementDomains`
 * (params only, so admission can ask too): with domains listed, the domain
 * must be one of them, and an `evm` one's recipient must be an address (a
 * 32-byte word whose upper 12 bytes are zero). No domains listed: not checked.
 */
export function withdrawDomainError(body: Pick<ValueOf<typeof Withdraw>, "domain" | "recipient">, params: Pick<Params, "settlementDomains">): "WITHDRAW_UNKNOWN_DOMAIN" | "WITHDRAW_RECIPIENT_NOT_EVM" | null {
  const domains = params.settlementDomains;
  if (domains.length === 0) return null;
  const hex = toHex(body.domain);
  const known = domains.find((d) => d.domain === hex);
  if (!known) return ExecErrorCode.WITHDRAW_UNKNOWN_DOMAIN;
  if (known.kind === "evm" && !isZero(body.recipient.subarray(0, 12))) return ExecErrorCode.WITHDRAW_RECIPIENT_NOT_EVM;
  return null;
}

/** `Withdraw`: debits `amount` now; the leaf is claimable from the vault named by `domain` once the epoch's checkpoint is anchored. */
export function applyWithdraw(env: TxEnvelope, body: ValueOf<typeof Withdraw>, o: StateOverlay, ctx: BlockContext): ExecCode | null {
  if (body.amount === 0n) return ExecErrorCode.WITHDRAW_ZERO_AMOUNT;
  if (isZero(body.domain)) return ExecErrorCode.WITHDRAW_ZERO_DOMAIN;
  if (isZero(body.recipient)) return ExecErrorCode.WITHDRAW_ZERO_RECIPIENT;
  const domainError = withdrawDomainError(body, ctx.params);
  if (domainError) return domainError;
  const sender = o.mutable(env.senderHex, env.sender);
  if (sender.balance < body.amount) return ExecErrorCode.INSUFFICIENT_BALANCE;
  sender.balance -= body.amount;
  o.totals.supply -= body.amount;
  o.totals.withdrawn += body.amount;
  o.withdrawals.push({
    epoch: epochOf(ctx.height, ctx.params),
    index: nextWithdrawal(o) - openEpochStart(o),
    sender: new Uint8Array(env.sender),
    domain: new Uint8Array(body.domain),
    recipient: new Uint8Array(body.recipient),
    amount: body.amount,
    height: ctx.height,
    txHash: new Uint8Array(env.hash),
  });
  return null;
}

/** keccak256 of the chain-id string, as the checkpoint and leaves carry it. */
export const chainIdWord = (chainId: Uint8Array) => keccak256(chainId);

/** A stored withdrawal as its tree leaf (native coin: token zero). */
export function withdrawalLeaf(chainId: Uint8Array, w: WithdrawalT): WithdrawalLeaf {
  return {
    chainId: chainIdWord(chainId),
    epoch: BigInt(w.epoch),
    index: BigInt(w.index),
    domain: bytesToHex(w.domain),
    recipient: bytesToHex(w.recipient),
    token: ZERO32,
    amount: w.amount,
  };
}

/**
 * At an epoch's last block, after the validator set advanced (`lastValidators`
 * is the set that signs this height, `validators` the next epoch's): records
 * the epoch's checkpoint.
 */
export function endBlockCheckpoint(o: StateOverlay, ctx: BlockContext): void {
  if (!isEpochEnd(ctx.height, ctx.params)) return;
  const first = openEpochStart(o);
  const leaves: WithdrawalLeaf[] = [];
  for (let n = first; n < nextWithdrawal(o); n++) leaves.push(withdrawalLeaf(ctx.chainId, o.withdrawals.get(n - o.withdrawalBase)!));
  const hex = (h: string) => Buffer.from(h.slice(2), "hex");
  const members = anchorMembersOf(o.lastValidators);
  o.checkpoints.push({
    epoch: ctx.height / ctx.params.epochLength,
    height: ctx.height,
    withdrawalsRoot: hex(withdrawalTree(leaves).root),
    firstWithdrawal: first,
    withdrawalCount: leaves.length,
    validatorSetHash: hex(validatorSetHash(members)),
    nextValidatorSetHash: hex(validatorSetHash(anchorMembersOf(o.validators))),
    members: members.map((m) => ({ address: hex(m.address), power: m.power })),
  });
  trimSettlement(o, ctx);
}

/**
 * With `settlementRetentionEpochs` N > 0, epoch E's checkpoint makes epoch
 * E − N's record and withdrawals leave the live state (decision 0010): the
 * checkpoints kept are epochs E − N + 1 … E, and the withdrawals from the
 * first of them on. Nodes keep what left on disk, outside the state root.
 */
function trimSettlement(o: StateOverlay, ctx: BlockContext): void {
  const keep = ctx.params.settlementRetentionEpochs;
  if (keep === 0) return;
  const epoch = ctx.height / ctx.params.epochLength;
  let drop = 0;
  while (drop < o.checkpoints.length && o.checkpoints.get(drop)!.epoch <= epoch - keep) drop++;
  if (drop === 0) return;
  const firstKept = o.checkpoints.get(drop)!;
  o.checkpoints.trimFront(drop);
  o.withdrawals.trimFront(firstKept.firstWithdrawal - o.withdrawalBase);
}
