/** Building and verifying blocks (DESIGN §6). Pure: the caller supplies time and state. */
import { bytesEqual } from "../util/hex.ts";
import { AttestationRootList, BlockHeader, EvidenceRootList, MAX_EVIDENCE, TxHashList, type BlockHeaderT, type BlockT, type CommitT, type DuplicateVoteEvidenceT, type WorkAttestationT } from "../types/block.ts";
import { evidenceHash, verifyEvidence, type EvidenceContext } from "./evidence.ts";
import { blockSpacingMs, type Params } from "../types/params.ts";
import type { DatasetInfo } from "../types/genesis.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import { validatorSetRoot } from "../types/validator.ts";
import type { WorldState } from "../state/world.ts";
import { commitHash, emptyCommit, verifyCommit } from "./commit.ts";
import { BlockError, BlockErrorCode } from "./errors.ts";
import { executeTxs, type ExecutionResult } from "./execute.ts";
import { nextBaseFee } from "./fees.ts";

export const EMPTY_ATTESTATION_ROOT = AttestationRootList.hashTreeRoot([]);
export const EMPTY_EVIDENCE_ROOT = EvidenceRootList.hashTreeRoot([]);

export function blockHash(header: BlockHeaderT): Uint8Array {
  return BlockHeader.hashTreeRoot(header);
}

/** Why `block`'s body is not the one its header commits to (transactions, attestations, evidence, last commit), or null when it is. */
export function bodyMismatch(block: BlockT): string | null {
  const h = block.header;
  if (!bytesEqual(h.txRoot, txRoot(block.body.txs.map((t) => envelopeFromSigned(t))))) return "txRoot does not match the transactions";
  if (!bytesEqual(h.attestationRoot, AttestationRootList.hashTreeRoot(block.body.attestations))) return "attestationRoot does not match the attestations";
  if (!bytesEqual(h.evidenceRoot, EvidenceRootList.hashTreeRoot(block.body.evidence))) return "evidenceRoot does not match the evidence";
  if (!bytesEqual(h.lastCommitHash, commitHash(block.body.lastCommit))) return "lastCommitHash does not match the last commit";
  return null;
}

export function txRoot(txs: readonly TxEnvelope[]): Uint8Array {
  return TxHashList.hashTreeRoot(txs.map((t) => t.hash));
}

export interface ChainContext {
  chainId: Uint8Array;
  params: Params;
  /** The genesis datasets, by id hex (no 0x). */
  datasets: ReadonlyMap<string, DatasetInfo>;
  /** Blobs held in memory for challenges (set by the node). */
  blob?: (id: Uint8Array) => Uint8Array | undefined;
}

export function datasetMap(datasets: readonly DatasetInfo[]): ReadonlyMap<string, DatasetInfo> {
  return new Map(datasets.map((d) => [Buffer.from(d.id).toString("hex"), d]));
}

/** The committed head a new block builds on. */
export interface Head {
  header: BlockHeaderT;
  hash: Uint8Array;
}

export function baseFeeAfter(head: Head, params: Params): bigint {
  if (head.header.height === 0) return params.initialBaseFeePerGas;
  return nextBaseFee(head.header.baseFeePerGas, head.header.gasUsed, params);
}

export interface BuildInput {
  time: number;
  proposer: Uint8Array;
  /** The commit of `head` (empty when head is genesis). */
  lastCommit: CommitT;
  candidates: Iterable<TxEnvelope>;
  verified?: (env: TxEnvelope) => boolean;
  /** Duplicate-vote evidence to include (invalid or already included pieces are left out). */
  evidence?: Iterable<DuplicateVoteEvidenceT>;
  /** True when a committed block already included the evidence with this hash. */
  evidenceIncluded?: (hashHex: string) => boolean;
  /** Work attestations to include (those that cannot count are left out). */
  attestations?: Iterable<WorkAttestationT>;
}

export interface BuiltBlock {
  block: BlockT;
  hash: Uint8Array;
  result: ExecutionResult;
}

/** A proposer's block: executes candidates in order, dropping those that cannot be included. */
export function buildBlock(world: WorldState, head: Head, ctx: ChainContext, input: BuildInput): BuiltBlock {
  const height = head.header.height + 1;
  const baseFeePerGas = baseFeeAfter(head, ctx.params);
  const evidence: DuplicateVoteEvidenceT[] = [];
  const seen = new Set<string>();
  const evCtx = evidenceContext(world, ctx, height, input.evidenceIncluded);
  for (const ev of input.evidence ?? []) {
    if (evidence.length >= MAX_EVIDENCE) break;
    const id = evidenceHash(ev);
    if (seen.has(id)) continue;
    try {
      verifyEvidence(ev, evCtx);
    } catch {
      continue;
    }
    seen.add(id);
    evidence.push(ev);
  }
  const result = executeTxs(world, input.candidates, { chainId: ctx.chainId, height, baseFeePerGas, proposer: input.proposer, params: ctx.params, datasets: ctx.datasets, blob: ctx.blob }, {
    mode: "build",
    verified: input.verified,
    staking: { lastCommit: input.lastCommit, evidence },
    attestations: input.attestations,
  });
  const validatorsHash = validatorSetRoot(world.validators);
  const header: BlockHeaderT = {
    chainId: ctx.chainId,
    height,
    time: Math.max(input.time, head.header.time + blockSpacingMs(ctx.params)),
    lastBlockHash: head.hash,
    lastCommitHash: commitHash(input.lastCommit),
    txRoot: txRoot(result.txs),
    attestationRoot: AttestationRootList.hashTreeRoot(result.attestations),
    evidenceRoot: EvidenceRootList.hashTreeRoot(evidence),
    stateRoot: result.sealed.root,
    validatorsHash,
    nextValidatorsHash: validatorSetRoot(result.sealed.validators),
    proposer: input.proposer,
    baseFeePerGas,
    gasUsed: result.gasUsed,
  };
  const block: BlockT = {
    header,
    body: { txs: result.txs.map((t) => t.signed), attestations: result.attestations, evidence, lastCommit: input.lastCommit },
  };
  return { block, hash: blockHash(header), result };
}

export interface VerifyInput {
  /** Local time (ms) for the clock-drift check. */
  now: number;
  /** The decoded transactions of `block.body.txs`, in order. */
  txs: TxEnvelope[];
  verified?: (env: TxEnvelope) => boolean;
  /** The lastCommit's signatures were already verified (sync checks a batch's signatures in the worker pool). */
  lastCommitSignaturesChecked?: boolean;
  /** True when a committed block already included the evidence with this hash. */
  evidenceIncluded?: (hashHex: string) => boolean;
}

function check(cond: boolean, code: (typeof BlockErrorCode)[keyof typeof BlockErrorCode], msg: string): void {
  if (!cond) throw new BlockError(code, msg);
}

/** Fully validates `block` on top of `head` and returns its execution; throws `BlockError`. */
export function verifyBlock(world: WorldState, head: Head, block: BlockT, ctx: ChainContext, input: VerifyInput): ExecutionResult {
  const h = block.header;
  const { params } = ctx;
  check(bytesEqual(h.chainId, ctx.chainId), BlockErrorCode.WRONG_CHAIN_ID, "block is for another chain");
  check(h.height === head.header.height + 1, BlockErrorCode.BAD_HEIGHT, `height ${h.height}, expected ${head.header.height + 1}`);
  check(bytesEqual(h.lastBlockHash, head.hash), BlockErrorCode.BAD_PARENT, "lastBlockHash is not the head");
  const spacing = blockSpacingMs(params);
  check(h.time >= head.header.time + spacing, BlockErrorCode.BAD_TIME, `time is ${h.time - head.header.time} ms after its parent's, at least ${spacing} ms required (minBlockIntervalMs)`);
  check(h.time <= input.now + params.maxClockDriftMs, BlockErrorCode.TIME_TOO_FAR_AHEAD, `time is ${h.time - input.now} ms ahead of local time`);
  check(h.baseFeePerGas === baseFeeAfter(head, params), BlockErrorCode.BAD_BASE_FEE, "baseFeePerGas does not follow EIP-1559 from the parent");
  check(h.gasUsed <= params.maxBlockGas, BlockErrorCode.GAS_LIMIT_EXCEEDED, "gasUsed exceeds the block gas limit");
  check(input.txs.length === block.body.txs.length, BlockErrorCode.INVALID_TX, "decoded transactions do not match the body");
  check(bytesEqual(h.txRoot, txRoot(input.txs)), BlockErrorCode.BAD_TX_ROOT, "txRoot does not match the transactions");
  check(bytesEqual(h.attestationRoot, AttestationRootList.hashTreeRoot(block.body.attestations)), BlockErrorCode.BAD_ATTESTATION_ROOT, "attestationRoot mismatch");
  check(bytesEqual(h.evidenceRoot, EvidenceRootList.hashTreeRoot(block.body.evidence)), BlockErrorCode.BAD_EVIDENCE_ROOT, "evidenceRoot mismatch");
  check(bytesEqual(h.lastCommitHash, commitHash(block.body.lastCommit)), BlockErrorCode.BAD_LAST_COMMIT, "lastCommitHash mismatch");
  if (head.header.height === 0) {
    check(Buffer.from(commitHash(block.body.lastCommit)).equals(Buffer.from(commitHash(emptyCommit()))), BlockErrorCode.BAD_LAST_COMMIT, "the first block's lastCommit must be empty");
  } else {
    verifyCommit(block.body.lastCommit, world.lastValidators, ctx.chainId, head.header.height, head.hash, { signaturesChecked: input.lastCommitSignaturesChecked });
  }
  check(block.body.evidence.length <= MAX_EVIDENCE, BlockErrorCode.INVALID_EVIDENCE, "too much evidence");
  const evSeen = new Set<string>();
  const evCtx = evidenceContext(world, ctx, h.height, input.evidenceIncluded);
  for (const ev of block.body.evidence) {
    const id = evidenceHash(ev);
    check(!evSeen.has(id), BlockErrorCode.INVALID_EVIDENCE, "the same evidence twice");
    evSeen.add(id);
    verifyEvidence(ev, evCtx);
  }
  const validatorsHash = validatorSetRoot(world.validators);
  check(bytesEqual(h.validatorsHash, validatorsHash), BlockErrorCode.BAD_VALIDATORS_HASH, "validatorsHash mismatch");
  check(world.validators.some((v) => bytesEqual(v.address, h.proposer)), BlockErrorCode.BAD_PROPOSER, "proposer is not a validator");
  const result = executeTxs(world, input.txs, { chainId: ctx.chainId, height: h.height, baseFeePerGas: h.baseFeePerGas, proposer: h.proposer, params, datasets: ctx.datasets, blob: ctx.blob }, {
    mode: "verify",
    verified: input.verified,
    staking: { lastCommit: block.body.lastCommit, evidence: block.body.evidence },
    attestations: block.body.attestations,
  });
  check(bytesEqual(h.nextValidatorsHash, validatorSetRoot(result.sealed.validators)), BlockErrorCode.BAD_VALIDATORS_HASH, "nextValidatorsHash does not match the set this block elects");
  check(result.gasUsed === h.gasUsed, BlockErrorCode.BAD_GAS_USED, `gasUsed ${h.gasUsed}, execution used ${result.gasUsed}`);
  check(bytesEqual(result.sealed.root, h.stateRoot), BlockErrorCode.BAD_STATE_ROOT, "stateRoot does not match execution");
  return result;
}

/** Evidence is checked against every registered validator's key. */
export function evidenceContext(world: WorldState, ctx: ChainContext, height: number, included?: (hashHex: string) => boolean): EvidenceContext {
  return {
    chainId: ctx.chainId,
    publicKeyOf: (address) => world.getValidator(address)?.consensusKey,
    height,
    maxAgeBlocks: ctx.params.unbondingBlocks,
    included: included ?? (() => false),
  };
}

/** The genesis header (height 0): carries the genesis state root; block 1 builds on it. */
export function genesisHeader(world: WorldState, ctx: ChainContext, genesisTime: number): BlockHeaderT {
  const validatorsHash = validatorSetRoot(world.validators);
  return {
    chainId: ctx.chainId,
    height: 0,
    time: genesisTime,
    lastBlockHash: new Uint8Array(32),
    lastCommitHash: new Uint8Array(32),
    txRoot: txRoot([]),
    attestationRoot: EMPTY_ATTESTATION_ROOT,
    evidenceRoot: EMPTY_EVIDENCE_ROOT,
    stateRoot: world.root,
    validatorsHash,
    nextValidatorsHash: validatorsHash,
    proposer: new Uint8Array(20),
    baseFeePerGas: ctx.params.initialBaseFeePerGas,
    gasUsed: 0,
  };
}
