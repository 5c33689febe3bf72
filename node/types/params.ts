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

/**
 * The most validators a checkpoint's signing set may hold: every settlement
 * anchor accepts at most 256 signers (the EVM anchor takes them as one
 * uint256 bitmap), so `maxValidators` and a genesis set stay within it.
 */
export const MAX_ANCHOR_SET = 256;

/** What kind of vault a settlement domain names (DESIGN §9): it decides which recipients can ever be paid there. */
export type SettlementKind = "evm" | "sui";
export const SETTLEMENT_KINDS: readonly SettlementKind[] = ["evm", "sui"];

/** A settlement vault the chain knows: its domain word (lowercase 0x hex, 32 bytes) and kind. */
export interface SettlementDomain {
  domain: string;
  kind: SettlementKind;
}

export interface Params {
  /** Interval between blocks when no transaction is waiting, ms. */
  blockTimeMs: number;
  /**
   * Least interval between a block and its parent, ms (a validity rule on the
   * header's time; capped at `blockTimeMs`). A validator proposes this soon
   * after the parent when transactions, evidence or attestations wait, and
   * every `blockTimeMs` when none do (decision 0014). It bounds how fast
   * windows counted in blocks (challenge, liveness, epochs) can pass in time.
   */
  minBlockIntervalMs: number;
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
  // Settlement (DESIGN §9).
  /**
   * The vaults a Withdraw may name. Empty (devnets, whose vaults are deployed
   * after genesis): any non-zero domain. Otherwise a Withdraw to an unlisted
   * domain, or to an `evm` one with a recipient that is not an address
   * (upper 12 bytes not zero), is refused before inclusion and fails in
   * execution.
   */
  settlementDomains: SettlementDomain[];
  /**
   * Epochs of checkpoints and withdrawals kept in the live state (decision
   * 0010): at epoch E's checkpoint, epoch E − N's record and its withdrawals
   * leave the state (nodes keep them on disk, outside the state root, to
   * answer withdrawal proofs). 0 keeps everything.
   */
  settlementRetentionEpochs: number;
  /**
   * Blocks a finished job (completed, cancelled, expired) and its proofs stay
   * in the live state after it ended (decision 0010); then they leave it
   * (nodes keep them on disk, outside the state root, to answer RPC) and the
   * slots are reused. 0 keeps everything.
   */
  jobRetentionBlocks: number;
}

export const DEFAULT_PARAMS: Params = {
  blockTimeMs: 1000,
  minBlockIntervalMs: 200,
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
  settlementDomains: [],
  settlementRetentionEpochs: 1000,
  jobRetentionBlocks: 100_000,
};

/** The least time (ms) by which a block's time must exceed its parent's: minBlockIntervalMs, at most blockTimeMs, at least 1. */
export function blockSpacingMs(p: Pick<Params, "minBlockIntervalMs" | "blockTimeMs">): number {
  return Math.max(1, Math.min(p.minBlockIntervalMs, p.blockTimeMs));
}

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
    else if (k === "settlementDomains") out[k] = settlementDomainsFromJson(v);
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
  if (!Number.isSafeInteger(p.minBlockIntervalMs) || p.minBlockIntervalMs < 0) throw new RangeError(`param minBlockIntervalMs must be a whole number of ms, got ${String(p.minBlockIntervalMs)}`);
  if (Math.floor(p.maxBlockGas / p.elasticityMultiplier) < 1) throw new RangeError("param maxBlockGas / elasticityMultiplier must be at least 1 (the EIP-1559 gas target)");
  if (p.minBaseFeePerGas < 1n) throw new RangeError("param minBaseFeePerGas must be at least 1");
  if (p.initialBaseFeePerGas < p.minBaseFeePerGas) throw new RangeError("param initialBaseFeePerGas must be at least minBaseFeePerGas");
  for (const k of ["epochLength", "maxValidators", "unbondingBlocks", "signedBlocksWindow", "downtimeJailBlocks"] as const) positiveInt(k);
  if (p.maxValidators > MAX_ANCHOR_SET) {
    throw new RangeError(`param maxValidators must be at most ${MAX_ANCHOR_SET}: every settlement anchor accepts at most ${MAX_ANCHOR_SET} signers (the EVM anchor's uint256 signer bitmap)`);
  }
  if (p.signedBlocksWindow > 8192) throw new RangeError("param signedBlocksWindow must be at most 8192");
  const bps = (k: keyof Params) => {
    const v = p[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 10_000) throw new RangeError(`param ${k} must be basis points (0..10000), got ${String(v)}`);
  };
  for (const k of ["minSignedPerWindowBps", "slashFractionDoubleSignBps", "slashFractionDowntimeBps", "stakingShareBps", "proposerRewardBps"] as const) bps(k);
  if (p.powerReduction < 1n) throw new RangeError("param powerReduction must be at least 1");
  if (p.blockReward < 0n) throw new RangeError("param blockReward must not be negative");
  validateSettlementDomains(p.settlementDomains);
  if (!Number.isSafeInteger(p.settlementRetentionEpochs) || p.settlementRetentionEpochs < 0) throw new RangeError(`param settlementRetentionEpochs must be a whole number of epochs (0: keep all), got ${String(p.settlementRetentionEpochs)}`);
  if (!Number.isSafeInteger(p.jobRetentionBlocks) || p.jobRetentionBlocks < 0) throw new RangeError(`param jobRetentionBlocks must be a whole number of blocks (0: keep all), got ${String(p.jobRetentionBlocks)}`);
}

/** `settlementDomains` from JSON: each domain lowercased (compared as hex); checked by validateParams. */
function settlementDomainsFromJson(v: unknown): SettlementDomain[] {
  if (!Array.isArray(v)) throw new RangeError("param settlementDomains must be an array of { domain, kind }");
  return v.map((d: unknown, i) => {
    if (typeof d !== "object" || d === null) throw new RangeError(`param settlementDomains[${i}] must be { domain, kind }`);
    const { domain, kind, ...rest } = d as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new RangeError(`param settlementDomains[${i}] has unknown keys: ${Object.keys(rest).join(", ")}`);
    return { domain: typeof domain === "string" ? domain.toLowerCase() : (domain as string), kind: kind as SettlementKind };
  });
}

const DOMAIN_RE = /^0x[0-9a-f]{64}$/;

function validateSettlementDomains(domains: readonly SettlementDomain[]): void {
  if (!Array.isArray(domains)) throw new RangeError("param settlementDomains must be an array of { domain, kind }");
  const seen = new Set<string>();
  domains.forEach((d, i) => {
    if (typeof d.domain !== "string" || !DOMAIN_RE.test(d.domain)) throw new RangeError(`param settlementDomains[${i}].domain must be 32 bytes of lowercase 0x hex, got ${String(d.domain)}`);
    if (/^0x0+$/.test(d.domain)) throw new RangeError(`param settlementDomains[${i}].domain must not be zero`);
    if (!SETTLEMENT_KINDS.includes(d.kind)) throw new RangeError(`param settlementDomains[${i}].kind must be one of ${SETTLEMENT_KINDS.join(", ")}, got ${String(d.kind)}`);
    if (seen.has(d.domain)) throw new RangeError(`param settlementDomains[${i}].domain ${d.domain} is listed twice`);
    seen.add(d.domain);
  });
}
