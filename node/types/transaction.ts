/**
 * The transaction envelope and body union of DESIGN §4, as SSZ schemas.
 * The byte layout and signing rules are documented for wallet authors in
 * docs/transactions.md; test/vectors/transfer.json pins a worked example.
 */
import { ContainerType, ListBasicType, ListCompositeType, UnionType, type ValueOf } from "@chainsafe/ssz";
import { Address, Amount, Bytes32, ChainId, EthAddress, PublicKey, Signature, Uint16, Uint32, Uint64, Uint8, UintNum64 } from "./primitives.ts";

export const Transfer = new ContainerType({ to: Address, amount: Amount }, { typeName: "Transfer" });

export const CreateValidator = new ContainerType(
  { consensusKey: PublicKey, anchorAddress: EthAddress, commissionBps: Uint16, amount: Amount },
  { typeName: "CreateValidator" },
);
export const Delegate = new ContainerType({ validator: Address, amount: Amount }, { typeName: "Delegate" });
export const Undelegate = new ContainerType({ validator: Address, shares: Uint64 }, { typeName: "Undelegate" });
export const Unjail = new ContainerType({ reserved: Uint8 }, { typeName: "Unjail" });
/** `validator` all-zero means every delegation of the sender. */
export const WithdrawRewards = new ContainerType({ validator: Address }, { typeName: "WithdrawRewards" });

export const MlpLayers = new ListBasicType(Uint32, 8);
export const JobSpec = new ContainerType(
  {
    datasetId: Bytes32,
    layers: MlpLayers,
    /** float32 bit patterns of the learning rate and momentum (DESIGN §8). */
    learningRateBits: Uint32,
    momentumBits: Uint32,
    batchSize: Uint32,
    steps: Uint32,
    segmentLength: Uint32,
    seed: Bytes32,
    /** 0 = accuracy (basis points, at least), 1 = loss (float32 bits, at most). */
    targetMetric: Uint8,
    targetThreshold: Uint32,
    deadline: UintNum64,
  },
  { typeName: "JobSpec" },
);
/** A job's target as people write it (genesis, RPC, CLI): an accuracy in basis points (at least) or a loss (at most). */
export type JobTargetJson = { metric: "accuracy"; thresholdBps: number } | { metric: "loss"; threshold: number };

/** A job's training settings as people write them (genesis, RPC, golden vectors); float32 fields as numbers. */
export interface TrainingSettingsJson {
  layers: number[];
  learningRate: number;
  momentum: number;
  batchSize: number;
  steps: number;
  segmentLength: number;
}

export const CreateJob = new ContainerType({ spec: JobSpec, reward: Amount, workerBond: Amount }, { typeName: "CreateJob" });
export const CancelJob = new ContainerType({ jobId: Bytes32 }, { typeName: "CancelJob" });
export const ProofCommitment = new ContainerType(
  { checkpointsRoot: Bytes32, count: Uint32, finalWeightsHash: Bytes32, claimedMetric: Uint32, bond: Amount },
  { typeName: "ProofCommitment" },
);
export const SubmitProof = new ContainerType({ jobId: Bytes32, commitment: ProofCommitment }, { typeName: "SubmitProof" });
/**
 * A fraud proof against one segment: its start and end checkpoint hashes with
 * their Merkle branches in the proof's checkpoint tree, and its length in
 * steps (it prices the on-chain re-execution). The start checkpoint's bytes
 * are a blob the chain fetches by `startHash`.
 */
export const ChallengeProof = new ContainerType(
  {
    proofId: Bytes32,
    segment: Uint32,
    steps: Uint32,
    startHash: Bytes32,
    startBranch: new ListCompositeType(Bytes32, 32),
    endHash: Bytes32,
    endBranch: new ListCompositeType(Bytes32, 32),
  },
  { typeName: "ChallengeProof" },
);
export const Withdraw = new ContainerType({ domain: Bytes32, recipient: Bytes32, amount: Amount }, { typeName: "Withdraw" });

/**
 * The body union. Selectors are part of the wire format and never reused.
 * `Transfer` and the staking types execute in this release; the others are
 * designed (schema and gas) and rejected at admission with
 * `TX_TYPE_NOT_ENABLED` until their issue lands.
 */
export const TX_TYPES = [
  "Transfer",
  "CreateValidator",
  "Delegate",
  "Undelegate",
  "Unjail",
  "WithdrawRewards",
  "CreateJob",
  "CancelJob",
  "SubmitProof",
  "ChallengeProof",
  "Withdraw",
] as const;
export type TxTypeName = (typeof TX_TYPES)[number];
export const TxSelector = Object.fromEntries(TX_TYPES.map((n, i) => [n, i])) as { [K in TxTypeName]: number };

export const TxBody = new UnionType(
  [Transfer, CreateValidator, Delegate, Undelegate, Unjail, WithdrawRewards, CreateJob, CancelJob, SubmitProof, ChallengeProof, Withdraw],
  { typeName: "TxBody" },
);

export const Transaction = new ContainerType(
  {
    chainId: ChainId,
    nonce: Uint64,
    maxFeePerGas: Amount,
    maxPriorityFeePerGas: Amount,
    gasLimit: UintNum64,
    body: TxBody,
    publicKey: PublicKey,
  },
  { typeName: "Transaction" },
);

export const SignedTransaction = new ContainerType({ tx: Transaction, signature: Signature }, { typeName: "SignedTransaction" });

export type JobSpecT = ValueOf<typeof JobSpec>;
export type TransferT = ValueOf<typeof Transfer>;
export type TxBodyT = ValueOf<typeof TxBody>;
export type TransactionT = ValueOf<typeof Transaction>;
export type SignedTransactionT = ValueOf<typeof SignedTransaction>;

/** Upper bound of one encoded signed transaction, enforced before decoding. */
export const MAX_TX_BYTES = 16 * 1024;

