/** Votes and commits: what validators sign, and checking that a commit carries > 2/3 of the power. */
import { mlDsa } from "../crypto/mldsa.ts";
import { concatBytes, utf8 } from "../util/hex.ts";
import { CanonicalProposal, CanonicalVote, Commit, VoteType, type CommitT } from "../types/block.ts";
import type { ValidatorSetT } from "../types/validator.ts";
import { addrKey } from "../state/world.ts";
import { BlockError, BlockErrorCode } from "./errors.ts";

export const VOTE_DOMAIN = utf8("pouw/vote/v1");

/** The bytes a validator signs for a vote: domain ‖ hashTreeRoot(CanonicalVote). */
export function voteSigningMessage(chainId: Uint8Array, type: number, height: number, round: number, blockHash: Uint8Array): Uint8Array {
  return concatBytes(VOTE_DOMAIN, CanonicalVote.hashTreeRoot({ chainId, type, height, round, blockHash }));
}

/** The bytes a proposer signs: domain ‖ hashTreeRoot(CanonicalProposal); `polRound` -1 for none. */
export function proposalSigningMessage(chainId: Uint8Array, height: number, round: number, polRound: number, blockHash: Uint8Array): Uint8Array {
  return concatBytes(VOTE_DOMAIN, CanonicalProposal.hashTreeRoot({ chainId, type: VoteType.Proposal, height, round, polRound: polRound + 1, blockHash }));
}

export function commitHash(commit: CommitT): Uint8Array {
  return Commit.hashTreeRoot(commit);
}

export function emptyCommit(): CommitT {
  return { height: 0, round: 0, blockHash: new Uint8Array(32), signatures: [] };
}

const memberMaps = new WeakMap<ValidatorSetT, Map<string, ValidatorSetT[number]>>();

/** The set's members by address hex, built once per set object (sets are replaced, not mutated). */
function membersByAddress(validators: ValidatorSetT): Map<string, ValidatorSetT[number]> {
  let m = memberMaps.get(validators);
  if (!m) memberMaps.set(validators, (m = new Map(validators.map((v) => [addrKey(v.address), v]))));
  return m;
}

export function totalPower(validators: ValidatorSetT): bigint {
  return validators.reduce((s, v) => s + v.power, 0n);
}

/**
 * Throws unless `commit` holds valid, distinct precommit signatures for
 * (height, blockHash) from members of `validators` with more than 2/3 of its power.
 */
export function verifyCommit(
  commit: CommitT,
  validators: ValidatorSetT,
  chainId: Uint8Array,
  height: number,
  blockHash: Uint8Array,
  opts: { signaturesChecked?: boolean } = {},
): void {
  const bad = (msg: string): never => {
    throw new BlockError(BlockErrorCode.BAD_LAST_COMMIT, msg, { height });
  };
  if (commit.height !== height) bad(`commit is for height ${commit.height}, expected ${height}`);
  if (!Buffer.from(commit.blockHash).equals(Buffer.from(blockHash))) bad("commit is for another block");
  const byAddr = membersByAddress(validators);
  const seen = new Set<string>();
  // Only needed when the signatures are checked here (sync checks a range's in the worker pool first).
  const msg = opts.signaturesChecked ? null : voteSigningMessage(chainId, VoteType.Precommit, commit.height, commit.round, commit.blockHash);
  let power = 0n;
  for (const sig of commit.signatures) {
    const k = addrKey(sig.validator);
    const v = byAddr.get(k);
    if (!v) bad(`signer ${k} is not in the validator set`);
    if (seen.has(k)) bad(`signer ${k} appears twice`);
    seen.add(k);
    if (msg && !mlDsa().verify(v!.publicKey, msg, sig.signature)) bad(`signature of ${k} does not verify`);
    power += v!.power;
  }
  if (power * 3n <= totalPower(validators) * 2n) bad(`commit carries ${power} of ${totalPower(validators)} power, not more than 2/3`);
}

