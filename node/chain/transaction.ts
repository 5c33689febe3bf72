/**
 * One transaction's state transition. `checkTx` decides whether a transaction
 * may be included at all (wrong chain, bad signature, bad nonce, cannot pay:
 * never included, nothing charged); `applyTx` executes an includable one (it
 * always pays its fee and bumps its nonce; its body may still fail).
 */
import { mlDsa } from "../crypto/mldsa.ts";
import { bytesEqual, toHex } from "../util/hex.ts";
import { MAX_U64 } from "../types/primitives.ts";
import { ReceiptStatus, type ReceiptT } from "../types/block.ts";
import type { ValueOf } from "@chainsafe/ssz";
import { TxSelector, type CancelJob, type CreateJob, type CreateValidator, type Delegate, type SubmitProof, type TransferT, type Undelegate, type Withdraw, type WithdrawRewards } from "../types/transaction.ts";
import { applyWithdraw, withdrawDomainError } from "./settlement.ts";
import { applyCancelJob, applyCreateJob, applySubmitProof } from "./jobs.ts";
import { applyChallengeProof, type ChallengeBody } from "./challenge.ts";
import { applyCreateValidator, applyDelegate, applyUndelegate, applyUnjail, applyWithdrawRewards } from "./staking.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import type { StateOverlay } from "../state/world.ts";
import { addrKey } from "../state/world.ts";
import type { BlockContext } from "./context.ts";
import { ExecErrorCode, TxError, TxErrorCode, type ExecErrorCode as ExecCode } from "./errors.ts";
import { effectiveTip, intrinsicGas } from "./fees.ts";

/** Body types that execute in this release (every type so far). */
export const ENABLED_TYPES: ReadonlySet<number> = new Set([
  TxSelector.Transfer,
  TxSelector.CreateValidator,
  TxSelector.Delegate,
  TxSelector.Undelegate,
  TxSelector.Unjail,
  TxSelector.WithdrawRewards,
  TxSelector.CreateJob,
  TxSelector.CancelJob,
  TxSelector.SubmitProof,
  TxSelector.ChallengeProof,
  TxSelector.Withdraw,
]);

/** Checks that need no state: size, chain id, type, gas and fee fields, and (params only) a Withdraw's domain and recipient. */
export function checkTxStateless(env: Pick<TxEnvelope, "signed" | "bytes" | "type">, ctx: Pick<BlockContext, "chainId" | "params">): number {
  const { tx } = env.signed;
  const { params } = ctx;
  if (env.bytes.length > params.maxTxBytes) throw new TxError(TxErrorCode.TX_TOO_LARGE, `transaction is ${env.bytes.length} bytes, limit ${params.maxTxBytes}`);
  if (!bytesEqual(tx.chainId, ctx.chainId)) {
    throw new TxError(TxErrorCode.WRONG_CHAIN_ID, `transaction is for chain "${Buffer.from(tx.chainId).toString()}", this is "${Buffer.from(ctx.chainId).toString()}"`);
  }
  if (!ENABLED_TYPES.has(tx.body.selector)) throw new TxError(TxErrorCode.TX_TYPE_NOT_ENABLED, `${env.type} transactions are not enabled yet`);
  const gas = intrinsicGas(env, params);
  if (tx.gasLimit < gas) throw new TxError(TxErrorCode.GAS_LIMIT_TOO_LOW, `gasLimit ${tx.gasLimit} is below the ${gas} this transaction uses`, { required: gas });
  if (tx.gasLimit > params.maxBlockGas) {
    // A u64 above 2^53 decodes as Infinity (the SSZ number type clips): say so rather than print "Infinity".
    const given = Number.isFinite(tx.gasLimit) ? String(tx.gasLimit) : "above 2^53";
    throw new TxError(TxErrorCode.GAS_LIMIT_ABOVE_BLOCK, `gasLimit ${given} exceeds the block gas limit ${params.maxBlockGas}`, { limit: params.maxBlockGas });
  }
  if (tx.maxPriorityFeePerGas > tx.maxFeePerGas) {
    throw new TxError(TxErrorCode.TIP_ABOVE_MAX_FEE, `maxPriorityFeePerGas ${tx.maxPriorityFeePerGas} exceeds maxFeePerGas ${tx.maxFeePerGas}`);
  }
  if (maxCost(env) > MAX_U64) throw new TxError(TxErrorCode.COST_OVERFLOW, "gasLimit × maxFeePerGas + amount exceeds u64");
  if (tx.body.selector === TxSelector.Withdraw) {
    // Refused before inclusion: executed, it would fail and still cost its fee (or, unchecked, lose the amount for good).
    const w = tx.body.value as ValueOf<typeof Withdraw>;
    const code = withdrawDomainError(w, params);
    if (code === TxErrorCode.WITHDRAW_UNKNOWN_DOMAIN) throw new TxError(code, `withdrawal domain ${toHex(w.domain)} is not a settlement vault of this chain (settlementDomains)`);
    if (code === TxErrorCode.WITHDRAW_RECIPIENT_NOT_EVM) throw new TxError(code, `recipient ${toHex(w.recipient)} is not an EVM address (its upper 12 bytes must be zero) and domain ${toHex(w.domain)} is an EVM vault`);
  }
  return gas;
}

/** The most a transaction can cost its sender: gasLimit × maxFeePerGas plus the value it moves. */
export function maxCost(env: Pick<TxEnvelope, "signed">): bigint {
  const { tx } = env.signed;
  let cost = BigInt(tx.gasLimit) * tx.maxFeePerGas;
  if (tx.body.selector === TxSelector.Transfer) cost += (tx.body.value as TransferT).amount;
  else if (tx.body.selector === TxSelector.CreateValidator) cost += (tx.body.value as ValueOf<typeof CreateValidator>).amount;
  else if (tx.body.selector === TxSelector.Delegate) cost += (tx.body.value as ValueOf<typeof Delegate>).amount;
  else if (tx.body.selector === TxSelector.CreateJob) cost += (tx.body.value as ValueOf<typeof CreateJob>).reward;
  else if (tx.body.selector === TxSelector.SubmitProof) cost += (tx.body.value as ValueOf<typeof SubmitProof>).commitment.bond;
  else if (tx.body.selector === TxSelector.Withdraw) cost += (tx.body.value as ValueOf<typeof Withdraw>).amount;
  return cost;
}

export function verifyTxSignature(env: TxEnvelope): void {
  if (!mlDsa().verify(env.signed.tx.publicKey, env.signingMessage, env.signed.signature)) {
    throw new TxError(TxErrorCode.BAD_SIGNATURE, "signature does not verify against the transaction's public key");
  }
}

/** Checks against the state and base fee; throws `TxError` when the transaction cannot be included. */
export function checkTxAgainstState(env: TxEnvelope, overlay: StateOverlay, baseFee: bigint, blob?: BlockContext["blob"]): void {
  const { tx } = env.signed;
  if (tx.maxFeePerGas < baseFee) throw new TxError(TxErrorCode.FEE_BELOW_BASE_FEE, `maxFeePerGas ${tx.maxFeePerGas} is below the base fee ${baseFee}`, { baseFee });
  const acc = overlay.get(env.senderHex);
  const nonce = acc?.nonce ?? 0n;
  if (tx.nonce < nonce) throw new TxError(TxErrorCode.NONCE_TOO_LOW, `nonce ${tx.nonce} is below the account nonce ${nonce}`, { expected: nonce });
  if (tx.nonce > nonce) throw new TxError(TxErrorCode.NONCE_GAP, `nonce ${tx.nonce} leaves a gap after the account nonce ${nonce}`, { expected: nonce });
  const balance = acc?.balance ?? 0n;
  const upfront = BigInt(tx.gasLimit) * tx.maxFeePerGas;
  if (balance < upfront) throw new TxError(TxErrorCode.INSUFFICIENT_FUNDS, `balance ${balance} cannot pay the maximum fee ${upfront}`, { balance, required: upfront });
  if (tx.body.selector === TxSelector.ChallengeProof) {
    const start = (tx.body.value as ChallengeBody).startHash;
    if (!blob?.(start)) throw new TxError(TxErrorCode.BLOB_UNAVAILABLE, `the challenged segment's start checkpoint ${toHex(start)} is not available to this node yet`);
  }
}

/**
 * Executes an includable transaction (callers ran `checkTxStateless` and
 * `checkTxAgainstState`). Pure over the overlay: no clock, no I/O.
 */
export function applyTx(env: TxEnvelope, gasUsed: number, overlay: StateOverlay, ctx: BlockContext): ReceiptT {
  const { tx } = env.signed;
  const sender = overlay.mutable(env.senderHex, env.sender);
  const tip = effectiveTip(tx.maxFeePerGas, tx.maxPriorityFeePerGas, ctx.baseFeePerGas);
  const gas = BigInt(gasUsed);
  const burned = gas * ctx.baseFeePerGas;
  const tipPaid = gas * tip;
  sender.balance -= burned + tipPaid;
  sender.nonce += 1n;
  overlay.totals.burned += burned;
  overlay.totals.supply -= burned;
  if (tipPaid > 0n) overlay.mutable(addrKey(ctx.proposer), ctx.proposer).balance += tipPaid;

  let error: ExecCode | null = null;
  const { selector, value } = tx.body;
  if (selector === TxSelector.Transfer) error = applyTransfer(env, value as TransferT, overlay);
  else if (selector === TxSelector.CreateValidator) error = applyCreateValidator(env, value as ValueOf<typeof CreateValidator>, overlay, ctx);
  else if (selector === TxSelector.Delegate) error = applyDelegate(env, value as ValueOf<typeof Delegate>, overlay);
  else if (selector === TxSelector.Undelegate) error = applyUndelegate(env, value as ValueOf<typeof Undelegate>, overlay, ctx);
  else if (selector === TxSelector.Unjail) error = applyUnjail(env, overlay, ctx);
  else if (selector === TxSelector.WithdrawRewards) error = applyWithdrawRewards(env, value as ValueOf<typeof WithdrawRewards>, overlay);
  else if (selector === TxSelector.CreateJob) error = applyCreateJob(env, value as ValueOf<typeof CreateJob>, overlay, ctx);
  else if (selector === TxSelector.CancelJob) error = applyCancelJob(env, value as ValueOf<typeof CancelJob>, overlay, ctx);
  else if (selector === TxSelector.SubmitProof) error = applySubmitProof(env, value as ValueOf<typeof SubmitProof>, overlay, ctx);
  else if (selector === TxSelector.ChallengeProof) error = applyChallengeProof(env, value as ChallengeBody, overlay, ctx);
  else if (selector === TxSelector.Withdraw) error = applyWithdraw(env, value as ValueOf<typeof Withdraw>, overlay, ctx);

  return {
    txHash: env.hash,
    status: error === null ? ReceiptStatus.Success : ReceiptStatus.Failed,
    gasUsed,
    feeBurned: burned,
    tip: tipPaid,
    error: error === null ? ZERO_BYTES : new TextEncoder().encode(error),
  };
}

const ZERO_BYTES = new Uint8Array(0);

function applyTransfer(env: TxEnvelope, body: TransferT, overlay: StateOverlay): ExecCode | null {
  const sender = overlay.mutable(env.senderHex, env.sender);
  if (sender.balance < body.amount) return ExecErrorCode.INSUFFICIENT_BALANCE;
  const toKey = addrKey(body.to);
  const to = overlay.mutable(toKey, body.to);
  if (to !== sender && to.balance + body.amount > MAX_U64) return ExecErrorCode.BALANCE_OVERFLOW;
  sender.balance -= body.amount;
  to.balance += body.amount;
  return null;
}
