/**
 * Duplicate-vote evidence (DESIGN §7): two votes by one validator for the same
 * (height, round, type) and different block hashes, both validly signed. The
 * pair is kept in a canonical order (by vote root) so the same equivocation
 * has one encoding and one hash; a block may include it once, within
 * `unbondingBlocks` of the offence.
 */
import { mlDsa } from "../crypto/mldsa.ts";
import { DuplicateVoteEvidence, Vote, VoteType, type DuplicateVoteEvidenceT, type VoteT } from "../types/block.ts";
import { bytesEqual, toHex } from "../util/hex.ts";
import { voteSigningMessage } from "./commit.ts";
import { BlockError, BlockErrorCode } from "./errors.ts";

export function evidenceHash(ev: DuplicateVoteEvidenceT): string {
  return toHex(DuplicateVoteEvidence.hashTreeRoot(ev));
}

/** The evidence for two conflicting votes, in canonical order. */
export function makeEvidence(a: VoteT, b: VoteT): DuplicateVoteEvidenceT {
  return Buffer.compare(Buffer.from(Vote.hashTreeRoot(a)), Buffer.from(Vote.hashTreeRoot(b))) < 0 ? { voteA: a, voteB: b } : { voteA: b, voteB: a };
}

export interface EvidenceContext {
  chainId: Uint8Array;
  /** The consensus key of a registered validator (any, active or not: the offence may predate a set change). */
  publicKeyOf: (address: Uint8Array) => Uint8Array | undefined;
  /** Height of the block that would include it. */
  height: number;
  maxAgeBlocks: number;
  /** True when a committed block already included this evidence. */
  included: (hashHex: string) => boolean;
}

/** Throws `BlockError(INVALID_EVIDENCE)` saying what is wrong. */
export function verifyEvidence(ev: DuplicateVoteEvidenceT, ctx: EvidenceContext): void {
  const bad = (why: string): never => {
    throw new BlockError(BlockErrorCode.INVALID_EVIDENCE, `invalid duplicate-vote evidence: ${why}`);
  };
  const { voteA: a, voteB: b } = ev;
  if (!bytesEqual(a.validator, b.validator)) bad("votes by different validators");
  if (a.height !== b.height || a.round !== b.round || a.type !== b.type) bad("votes for different height, round or type");
  if (a.type !== VoteType.Prevote && a.type !== VoteType.Precommit) bad("not prevotes or precommits");
  if (bytesEqual(a.blockHash, b.blockHash)) bad("the votes do not conflict");
  if (Buffer.compare(Buffer.from(Vote.hashTreeRoot(a)), Buffer.from(Vote.hashTreeRoot(b))) >= 0) bad("votes not in canonical order");
  if (a.height >= ctx.height) bad(`offence at height ${a.height} is not before ${ctx.height}`);
  if (ctx.height - a.height > ctx.maxAgeBlocks) bad(`offence at height ${a.height} is older than ${ctx.maxAgeBlocks} blocks`);
  const publicKey = ctx.publicKeyOf(a.validator);
  if (!publicKey) bad("the validator is not registered");
  for (const vote of [a, b]) {
    if (!mlDsa().verify(publicKey!, voteSigningMessage(ctx.chainId, vote.type, vote.height, vote.round, vote.blockHash), vote.signature)) bad("a signature does not verify");
  }
  if (ctx.included(evidenceHash(ev))) bad("already included in an earlier block");
}
