/** EIP-1559 fees and the gas schedule (DESIGN §4). */
import type { Params } from "../types/params.ts";
import type { TxEnvelope } from "../types/txcodec.ts";

/** Gas a transaction uses: its type's base cost plus a cost per encoded byte (plus, for a challenge, per re-executed step). */
export function intrinsicGas(env: Pick<TxEnvelope, "type" | "bytes"> & { signed?: TxEnvelope["signed"] }, params: Params): number {
  const base = params.gas.base[env.type];
  if (base === undefined) throw new Error(`no gas schedule for ${env.type}`);
  // A challenge pays for the training steps it makes every node re-execute.
  const steps = env.type === "ChallengeProof" && env.signed ? (env.signed.tx.body.value as { steps: number }).steps : 0;
  return base + params.gas.perByte * env.bytes.length + params.gas.perVerifiedStep * steps;
}

/** Base fee of the block after one that used `parentGasUsed` at `parentBaseFee`. */
export function nextBaseFee(parentBaseFee: bigint, parentGasUsed: number, params: Params): bigint {
  const target = BigInt(Math.floor(params.maxBlockGas / params.elasticityMultiplier));
  const used = BigInt(parentGasUsed);
  const denom = BigInt(params.baseFeeChangeDenominator);
  let next: bigint;
  if (used === target) next = parentBaseFee;
  else if (used > target) {
    const delta = (parentBaseFee * (used - target)) / target / denom;
    next = parentBaseFee + (delta > 1n ? delta : 1n);
  } else {
    const delta = (parentBaseFee * (target - used)) / target / denom;
    next = parentBaseFee - delta;
  }
  return next < params.minBaseFeePerGas ? params.minBaseFeePerGas : next;
}

/** The tip per gas a transaction pays at `baseFee`: min(maxPriority, maxFee - baseFee). */
export function effectiveTip(maxFeePerGas: bigint, maxPriorityFeePerGas: bigint, baseFee: bigint): bigint {
  const room = maxFeePerGas - baseFee;
  if (room < 0n) return -1n;
  return maxPriorityFeePerGas < room ? maxPriorityFeePerGas : room;
}
