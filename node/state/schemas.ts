/** The authenticated state tree (DESIGN §5) as SSZ schemas. */
import { ByteListType, ContainerType, ListBasicType, ListCompositeType, UintBigintType, type ValueOf } from "@chainsafe/ssz";
import { Address, Amount, Bool, Bytes32, EthAddress, PublicKey, Uint16, Uint32, Uint64, Uint8, UintNum64 } from "../types/primitives.ts";
import { MAX_VALIDATORS } from "../types/block.ts";
import { JobSpec, ProofCommitment } from "../types/transaction.ts";
import { ValidatorSet } from "../types/validator.ts";

/** An account leaf carries its address, so a proof shows address → account. */
export const Account = new ContainerType({ address: Address, balance: Amount, nonce: Uint64 }, { typeName: "Account" });

export const MAX_ACCOUNTS = 2 ** 32;
export const AccountList = new ListCompositeType(Account, MAX_ACCOUNTS);

/** Reward accumulators are scaled by 10^18 and need more than 64 bits. */
export const Uint256 = new UintBigintType(32);
/** Reward per share is kept multiplied by this, so small rewards over many shares are not lost. */
export const REWARD_SCALE = 10n ** 18n;

/**
 * A registered validator (every candidate, active or not), index-addressed and
 * never removed. `address` is the address of its consensus key; `operator` is
 * the account that created it and may unjail it and withdraw its commission.
 * Tokens/shares as in the Cosmos SDK: a delegation's value is
 * `shares × tokens / delegatorShares`, so a slash of `tokens` reaches every
 * delegator at once.
 */
export const StakingValidator = new ContainerType(
  {
    address: Address,
    operator: Address,
    consensusKey: PublicKey,
    anchorAddress: EthAddress,
    commissionBps: Uint16,
    tokens: Amount,
    delegatorShares: Uint64,
    jailed: Bool,
    /** First height at which `Unjail` is accepted. */
    jailedUntil: UintNum64,
    /** Double-signed: jailed for good. */
    tombstoned: Bool,
    /** Delegators' rewards per share, × REWARD_SCALE, since registration. */
    rewardPerShare: Uint256,
    /** The operator's accrued, unwithdrawn commission. */
    commission: Amount,
    createdAt: UintNum64,
  },
  { typeName: "StakingValidator" },
);

/** Liveness record of a validator (parallel to the validator list): a ring of the last `signedBlocksWindow` blocks. */
export const MAX_SIGNED_BLOCKS_WINDOW = 8192;
export const SigningInfo = new ContainerType(
  {
    /** Blocks observed since the validator (re)started being tracked. */
    indexOffset: UintNum64,
    missedCount: Uint32,
    /** Bit i set: the block at ring position i was missed. */
    missed: new ByteListType(MAX_SIGNED_BLOCKS_WINDOW / 8),
  },
  { typeName: "SigningInfo" },
);

export const Delegation = new ContainerType(
  {
    delegator: Address,
    /** Index into the validator list. */
    validator: Uint32,
    shares: Uint64,
    /** The validator's rewardPerShare when this delegation last settled its rewards. */
    rewardSnapshot: Uint256,
  },
  { typeName: "Delegation" },
);

/** Tokens on their way out; paid at `completionHeight` (zeroed then), slashed with the validator until then. */
export const UnbondingEntry = new ContainerType(
  {
    delegator: Address,
    validator: Uint32,
    amount: Amount,
    initialAmount: Amount,
    creationHeight: UintNum64,
    completionHeight: UintNum64,
  },
  { typeName: "UnbondingEntry" },
);

/** A job's life (DESIGN §8). */
export const JobStatus = {
  /** Waiting for a proof (again, after a rejected one). */
  Open: 0,
  /** A proof is being attested or is in its challenge window. */
  Proving: 1,
  /** Paid to a worker. */
  Completed: 2,
  /** Cancelled by the requester before any proof; reward refunded. */
  Cancelled: 3,
  /** The deadline passed with no accepted proof; reward refunded. */
  Expired: 4,
  /**
   * An empty slot: the job that held it left the live state (decision 0010)
   * and the next new job takes the lowest such slot. Never a job's status.
   */
  Vacant: 5,
} as const;

/**
 * A training job: its spec, the escrowed reward and the bond a worker must
 * post. Index-addressed; a finished job leaves the live state with its proofs
 * `jobRetentionBlocks` after it ended, and its slot is reused (decision 0010).
 */
export const Job = new ContainerType(
  {
    /** The hash of the CreateJob transaction. */
    id: Bytes32,
    requester: Address,
    spec: JobSpec,
    reward: Amount,
    workerBond: Amount,
    status: Uint8,
    createdAt: UintNum64,
    /** Index + 1 in `proofs` of the proof in progress or paid; 0 when none. */
    proof: Uint32,
    /** Height at which it became Completed, Cancelled or Expired; 0 before. */
    endedAt: UintNum64,
  },
  { typeName: "Job" },
);

export const ProofStatus = {
  /** Waiting for attestations until `attestationDeadline` blocks after submission. */
  Pending: 0,
  /** More than 2/3 of power attested valid; paid after `challengeWindow` blocks unless challenged. */
  Accepted: 1,
  /** The worker was paid and got the bond back. */
  Paid: 2,
  /** Not accepted by the deadline: bond slashed, job open again. */
  Rejected: 3,
  /** A challenge proved a segment forged: bond slashed, attesters slashed, job open again. */
  Fraudulent: 4,
  /** An empty slot (its proof left the live state with its job); never a proof's status. */
  Vacant: 5,
} as const;

/** A worker's proof of learning for a job, with the attestations it gathered. */
export const Proof = new ContainerType(
  {
    id: Bytes32,
    job: Uint32,
    worker: Address,
    commitment: ProofCommitment,
    submittedAt: UintNum64,
    status: Uint8,
    /** Height at which it was accepted, rejected, paid or found fraudulent (0 while pending). */
    decidedAt: UintNum64,
    validPower: Uint64,
    invalidPower: Uint64,
    /** Validators that attested valid (slashed if a challenge proves fraud). */
    attesters: new ListCompositeType(Address, MAX_VALIDATORS),
    /** Validators that attested invalid. */
    dissenters: new ListCompositeType(Address, MAX_VALIDATORS),
  },
  { typeName: "Proof" },
);

/**
 * A `Withdraw` (DESIGN §9): value that left the chain for a vault, a leaf of
 * its epoch's withdrawal tree. `index` counts within the epoch; the token is
 * always the native coin (zero) in this release.
 */
export const Withdrawal = new ContainerType(
  {
    epoch: UintNum64,
    index: UintNum64,
    sender: Address,
    domain: Bytes32,
    recipient: Bytes32,
    amount: Amount,
    height: UintNum64,
    /** The Withdraw transaction (wallets look their leaf up by it). */
    txHash: Bytes32,
  },
  { typeName: "Withdrawal" },
);

/**
 * What the state transition fixes of an epoch's checkpoint at the epoch's
 * last block: the withdrawals root and the anchor sets' hashes. The block
 * hash and state root of that block complete it (they are not known inside
 * it), and validators sign the whole with their anchor keys.
 */
/** A member of a checkpoint's anchor set: the validator's anchor address and consensus power. */
export const AnchorMemberRecord = new ContainerType({ address: EthAddress, power: Uint64 }, { typeName: "AnchorMember" });

export const EpochCheckpoint = new ContainerType(
  {
    epoch: UintNum64,
    height: UintNum64,
    withdrawalsRoot: Bytes32,
    /** Index in `withdrawals` of the epoch's first withdrawal. */
    firstWithdrawal: UintNum64,
    withdrawalCount: UintNum64,
    validatorSetHash: Bytes32,
    nextValidatorSetHash: Bytes32,
    /** The set that signs this checkpoint, ascending by address (what `validatorSetHash` commits to). */
    members: new ListCompositeType(AnchorMemberRecord, MAX_VALIDATORS),
  },
  { typeName: "EpochCheckpoint" },
);

export const WithdrawalList = new ListCompositeType(Withdrawal, 2 ** 32);
export const CheckpointList = new ListCompositeType(EpochCheckpoint, 2 ** 32);

export const JobList = new ListCompositeType(Job, 2 ** 32);
export const ProofList = new ListCompositeType(Proof, 2 ** 32);

export const MAX_STAKING_VALIDATORS = 2 ** 20;
export const StakingValidatorList = new ListCompositeType(StakingValidator, MAX_STAKING_VALIDATORS);
export const SigningInfoList = new ListCompositeType(SigningInfo, MAX_STAKING_VALIDATORS);
export const DelegationList = new ListCompositeType(Delegation, 2 ** 32);
export const UnbondingList = new ListCompositeType(UnbondingEntry, 2 ** 32);
/** Proposer priorities of the active set, i64 as two's-complement u64 (CometBFT's int64). */
export const PriorityList = new ListBasicType(Uint64, MAX_VALIDATORS);

export const Totals = new ContainerType(
  {
    /** Units in existence: genesis plus issuance minus burns. */
    supply: Amount,
    /** Units burned so far (base fees, slashes). */
    burned: Amount,
    /** Undistributed PoUW issuance (DESIGN §8). */
    pouwPool: Amount,
    /** Bonded tokens of every validator plus unbonding entries not yet paid. */
    staked: Amount,
    /** Staking rewards and commission credited but not yet withdrawn (plus rounding dust). */
    rewardsOutstanding: Amount,
    /** Job rewards and worker bonds held in escrow (DESIGN §8). */
    escrowed: Amount,
    /** Units withdrawn to settlement vaults (left the supply; DESIGN §9). */
    withdrawn: Amount,
  },
  { typeName: "Totals" },
);

/**
 * The state root in every header is `hashTreeRoot(State)`. `validators` is the
 * active set of the next height (what `validatorsHash` commits to),
 * `lastValidators` the set that signs the head's commit, `priorities` the
 * active set's proposer priorities before the next height's increment.
 */
export const State = new ContainerType(
  {
    accounts: AccountList,
    validators: ValidatorSet,
    lastValidators: ValidatorSet,
    priorities: PriorityList,
    staking: StakingValidatorList,
    signingInfos: SigningInfoList,
    delegations: DelegationList,
    unbonding: UnbondingList,
    totals: Totals,
    jobs: JobList,
    proofs: ProofList,
    withdrawals: WithdrawalList,
    checkpoints: CheckpointList,
  },
  { typeName: "State" },
);

/** Everything of the state but the index-addressed lists, stored as one record, with the lists' lengths. */
export const StateMeta = new ContainerType(
  {
    validators: ValidatorSet,
    lastValidators: ValidatorSet,
    priorities: PriorityList,
    totals: Totals,
    accountCount: Uint64,
    stakingCount: Uint64,
    delegationCount: Uint64,
    unbondingCount: Uint64,
    jobCount: Uint64,
    proofCount: Uint64,
    withdrawalCount: Uint64,
    checkpointCount: Uint64,
  },
  { typeName: "StateMeta" },
);

export type AccountT = ValueOf<typeof Account>;
export type TotalsT = ValueOf<typeof Totals>;
export type StakingValidatorT = ValueOf<typeof StakingValidator>;
export type SigningInfoT = ValueOf<typeof SigningInfo>;
export type DelegationT = ValueOf<typeof Delegation>;
export type UnbondingEntryT = ValueOf<typeof UnbondingEntry>;
export type JobT = ValueOf<typeof Job>;
export type ProofT = ValueOf<typeof Proof>;

/** What an empty job slot holds (decision 0010). */
export const vacantJob = (): JobT => ({ ...Job.defaultValue(), status: JobStatus.Vacant });
/** What an empty proof slot holds. */
export const vacantProof = (): ProofT => ({ ...Proof.defaultValue(), status: ProofStatus.Vacant });
export const isVacantJob = (j: Pick<JobT, "status">): boolean => j.status === JobStatus.Vacant;
export const isVacantProof = (p: Pick<ProofT, "status">): boolean => p.status === ProofStatus.Vacant;
/** A job nothing can change any more: paid, cancelled or expired (its proofs are all decided too). */
export const isEndedJob = (j: Pick<JobT, "status">): boolean => j.status === JobStatus.Completed || j.status === JobStatus.Cancelled || j.status === JobStatus.Expired;

/**
 * A job that left the live state, with every proof it had, as nodes keep it
 * on disk outside the state root (Bucket.jobArchive) to answer RPC.
 */
export const ArchivedJob = new ContainerType({ job: Job, proofs: new ListCompositeType(Proof, 2 ** 20) }, { typeName: "ArchivedJob" });
export type ArchivedJobT = ValueOf<typeof ArchivedJob>;
export type WithdrawalT = ValueOf<typeof Withdrawal>;
export type EpochCheckpointT = ValueOf<typeof EpochCheckpoint>;
