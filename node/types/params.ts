/**
 * The one typed parameter object of the chain (DESIGN §2). It comes from
 * genesis; nothing in the logic hard-codes these numbers.
 */
export interface GasSchedule {
  /** Intrinsic gas per body type, by the names of `TX_TYPES`. */
  base: Record<string, number>;
  /** Gas per byte of the encoded signed transaction. */
  perByte: number;
  /** Gas per training step re-executed on chain (ChallengeProof, DESIGN §8). */
  perVerifiedStep: number;
}

export interface Params {
  /** Target interval between blocks, ms. */
  blockTimeMs: number;
  /** How far a block's time may run ahead of local time, ms. */
  maxClockDriftMs: number;
  maxBlockGas: number;
  maxBlockTxs: number;
  maxTxBytes: number;
  initialBaseFeePerGas: bigint;
  minBaseFeePerGas: bigint;
  /** EIP-1559: the base fee moves by at most 1/denominator per block. */
  baseFeeChangeDenominator: number;
  /** EIP-1559: target gas = maxBlockGas / elasticity. */
  elasticityMultiplier: number;
  gas: GasSchedule;
  // Staking and slashing (network issue).
  epochLength: number;
  maxValidators: number;
  unbondingBlocks: number;
  signedBlocksWindow: number;
  minSignedPerWindowBps: number;
  downtimeJailBlocks: number;
  slashFractionDoubleSignBps: number;
  slashFractionDowntimeBps: number;
  /** Units issued per block (DESIGN §7). */
  blockReward: bigint;
  /** Part of the block reward that goes to stakers; the rest goes to the PoUW pool. */
  stakingShareBps: number;
  /** Part of the stakers' share that goes to the block's proposer; the rest to the lastCommit signers by power. */
  proposerRewardBps: number;
  /** Units of bonded tokens per unit of consensus power (and the least a validator may bond). */
  powerReduction: bigint;
  // Useful work (PoUW issue).
  challengeWindow: number;
  attestationDeadline: number;
  sampledSegments: number;
  slashFractionBadAttestationBps: number;
}

export const DEFAULT_PARAMS: Params = {
  blockTimeMs: 1000,
  maxClockDriftMs: 10_000,
  maxBlockGas: 400_000_000,
  maxBlockTxs: 20_000,
  maxTxBytes: 16 * 1024,
  initialBaseFeePerGas: 1n,
  minBaseFeePerGas: 1n,
  baseFeeChangeDenominator: 8,
  elasticityMultiplier: 2,
  gas: {
    base: {
      Transfer: 21_000,
      CreateValidator: 100_000,
      Delegate: 50_000,
      Undelegate: 50_000,
      Unjail: 30_000,
      WithdrawRewards: 40_000,
      CreateJob: 100_000,
      CancelJob: 30_000,
      SubmitProof: 80_000,
      ChallengeProof: 200_000,
      Withdraw: 50_000,
    },
    perByte: 2,
    perVerifiedStep: 50_000,
  },
  epochLength: 100,
  maxValidators: 100,
  unbondingBlocks: 1000,
  signedBlocksWindow: 100,
  minSignedPerWindowBps: 5000,
  downtimeJailBlocks: 100,
  slashFractionDoubleSignBps: 500,
  slashFractionDowntimeBps: 10,
  blockReward: 1_000_000_000n,
  stakingShareBps: 8000,
  proposerRewardBps: 1000,
  powerReduction: 1_000_000_000n,
  challengeWindow: 20,
  attestationDeadline: 50,
  sampledSegments: 3,
  slashFractionBadAttestationBps: 100,
};

const BIGINT_KEYS = ["initialBaseFeePerGas", "minBaseFeePerGas", "blockReward", "powerReduction"] as const;

/** Params as JSON (bigints as decimal strings). */
export function paramsToJson(p: Params): Record<string, unknown> {
  const out: Record<string, unknown> = { ...p };
  for (const k of BIGINT_KEYS) out[k] = p[k].toString();
  return out;
}

/** Params from JSON: missing keys take their defaults, unknown keys are an error. */
export function paramsFromJson(json: Record<string, unknown>): Params {
  const out: Record<string, unknown> = { ...DEFAULT_PARAMS };
  for (const [k, v] of Object.entries(json)) {
    if (!(k in DEFAULT_PARAMS)) throw new TypeError(`unknown param "${k}"`);
    if ((BIGINT_KEYS as readonly string[]).includes(k)) out[k] = BigInt(v as string);
    else if (k === "gas") out[k] = { ...DEFAULT_PARAMS.gas, ...(v as object), base: { ...DEFAULT_PARAMS.gas.base, ...((v as GasSchedule).base ?? {}) } };
    else out[k] = v;
  }
  const p = out as unknown as Params;
  validateParams(p);
  return p;
}

/** Refuses parameters the state transition cannot run with; throws `RangeError` naming the field. */
export function validateParams(p: Params): void {
  const positiveInt = (k: keyof Params) => {
    const v = p[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new RangeError(`param ${k} must be a positive integer, got ${String(v)}`);
  };
  for (const k of ["blockTimeMs", "maxBlockGas", "maxBlockTxs", "maxTxBytes", "baseFeeChangeDenominator", "elasticityMultiplier"] as const) positiveInt(k);
  if (Math.floor(p.maxBlockGas / p.elasticityMultiplier) < 1) throw new RangeError("param maxBlockGas / elasticityMultiplier must be at least 1 (the EIP-1559 gas target)");
  if (p.minBaseFeePerGas < 1n) throw new RangeError("param minBaseFeePerGas must be at least 1");
  if (p.initialBaseFeePerGas < p.minBaseFeePerGas) throw new RangeError("param initialBaseFeePerGas must be at least minBaseFeePerGas");
  for (const k of ["epochLength", "maxValidators", "unbondingBlocks", "signedBlocksWindow", "downtimeJailBlocks"] as const) positiveInt(k);
  if (p.maxValidators > 1024) throw new RangeError("param maxValidators must be at most 1024 (the largest validator set a block can carry)");
  if (p.signedBlocksWindow > 8192) throw new RangeError("param signedBlocksWindow must be at most 8192");
  const bps = (k: keyof Params) => {
    const v = p[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 10_000) throw new RangeError(`param ${k} must be basis points (0..10000), got ${String(v)}`);
  };
  for (const k of ["minSignedPerWindowBps", "slashFractionDoubleSignBps", "slashFractionDowntimeBps", "stakingShareBps", "proposerRewardBps"] as const) bps(k);
  if (p.powerReduction < 1n) throw new RangeError("param powerReduction must be at least 1");
  if (p.blockReward < 0n) throw new RangeError("param blockReward must not be negative");
}
