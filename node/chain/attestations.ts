/**
 * Work attestations (DESIGN §8): an active validator's signed verdict on a
 * pending proof, gossiped and included in blocks. Executed at the start of a
 * block (after rewards and slashing, before transactions): each adds its
 * signer's power to the proof's valid or invalid side; more than 2/3 of the
 * active power valid accepts the proof (payable after `challengeWindow`),
 * more than 2/3 invalid rejects it and slashes the bond.
 */
import { sha256 } from "../crypto/hash.ts";
import { mlDsa } from "../crypto/mldsa.ts";
import { ProofStatus } from "../state/schemas.ts";
import { addrKey, idKey, type StateOverlay } from "../state/world.ts";
import type { WorkAttestationT } from "../types/block.ts";
import { concatBytes, utf8 } from "../util/hex.ts";
import type { BlockContext } from "./context.ts";
import { BlockError, BlockErrorCode } from "./errors.ts";
import { slashProof } from "./jobs.ts";

export const ATTEST_DOMAIN = utf8("pouw/attest/v1");

/** What a validator signs: domain ‖ SHA-256(chainId) ‖ proofId ‖ (1 valid | 0 invalid). */
export function attestationSigningMessage(chainId: Uint8Array, proofId: Uint8Array, valid: boolean): Uint8Array {
  return concatBytes(ATTEST_DOMAIN, sha256(chainId), proofId, Uint8Array.of(valid ? 1 : 0));
}

/** Why an attestation cannot count now; null when it can. Does not check the signature. */
export function attestationProblem(o: StateOverlay, a: WorkAttestationT, seen: ReadonlySet<string>): string | null {
  const pi = o.proofIndexOf(idKey(a.proofId));
  if (pi === undefined) return "unknown proof";
  const p = o.proofs.get(pi)!;
  if (p.status !== ProofStatus.Pending) return "the proof is no longer pending";
  const k = addrKey(a.validator);
  if (!o.validators.some((v) => addrKey(v.address) === k)) return "the signer is not in the active set";
  if (seen.has(attestationKey(a)) || p.attesters.some((x) => addrKey(x) === k) || p.dissenters.some((x) => addrKey(x) === k)) return "the validator already attested this proof";
  return null;
}

export const attestationKey = (a: Pick<WorkAttestationT, "proofId" | "validator">): string => idKey(a.proofId) + "/" + addrKey(a.validator);

export function attestationSignatureValid(o: StateOverlay, chainId: Uint8Array, a: WorkAttestationT): boolean {
  const vi = o.validatorIndexOf(addrKey(a.validator));
  if (vi === undefined) return false;
  return mlDsa().verify(o.staking.get(vi)!.consensusKey, attestationSigningMessage(chainId, a.proofId, a.valid), a.signature);
}

/**
 * Applies a block's attestations. `build`: skips those that cannot count and
 * returns the rest; `verify`: any that cannot count makes the block invalid.
 */
export function applyAttestations(o: StateOverlay, ctx: BlockContext, attestations: Iterable<WorkAttestationT>, mode: "build" | "verify", max: number): WorkAttestationT[] {
  const included: WorkAttestationT[] = [];
  const seen = new Set<string>();
  const total = o.validators.reduce((s, v) => s + v.power, 0n);
  for (const a of attestations) {
    if (included.length >= max) {
      if (mode === "verify") throw new BlockError(BlockErrorCode.INVALID_ATTESTATION, `more than ${max} attestations`);
      break;
    }
    const problem = attestationProblem(o, a, seen) ?? (attestationSignatureValid(o, ctx.chainId, a) ? null : "bad signature");
    if (problem) {
      if (mode === "verify") throw new BlockError(BlockErrorCode.INVALID_ATTESTATION, `attestation of proof ${idKey(a.proofId)} by ${addrKey(a.validator)}: ${problem}`);
      continue;
    }
    seen.add(attestationKey(a));
    included.push(a);
    const pi = o.proofIndexOf(idKey(a.proofId))!;
    const power = o.validators.find((v) => addrKey(v.address) === addrKey(a.validator))!.power;
    const p = o.proofs.mutable(pi);
    if (a.valid) {
      p.attesters.push(a.validator);
      p.validPower += power;
    } else {
      p.dissenters.push(a.validator);
      p.invalidPower += power;
    }
    if (p.validPower * 3n > total * 2n) {
      p.status = ProofStatus.Accepted;
      p.decidedAt = ctx.height;
    } else if (p.invalidPower * 3n > total * 2n) {
      slashProof(o, pi, ProofStatus.Rejected, ctx.height, null);
    }
  }
  return included;
}
