/**
 * A TypeScript model of the Move anchor (contracts/move/sources/anchor.move's
 * `new` and `submit_checkpoint`, vault_math.move's set hash), step for step
 * and abort for abort, in two versions: `legacy`, the code the security
 * review attacked (entries of any length padded to a word, the set's shape
 * checked only at creation), and `hardened`, the code now (decision 0008).
 * There is no Move VM on this machine; this lets the review's attacks run
 * here against both, and the vectors they use are the ones the Move unit
 * tests (contracts/move/tests/attack_tests.move) assert under `sui move test`.
 */
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from "viem";
import { checkpointDigest, recoverSigner, type Checkpoint } from "../../node/anchor/checkpoint.ts";

export type MoveMode = "legacy" | "hardened";

/** A Move abort: the module and the name of its abort constant. */
export class MoveAbort extends Error {
  readonly module: "anchor" | "vault_math";
  readonly constant: string;

  constructor(module: "anchor" | "vault_math", constant: string) {
    super(`${module}::${constant}`);
    this.module = module;
    this.constant = constant;
  }
}

const MAX_VALIDATORS = 256;
const U64_MAX = 2n ** 64n - 1n;
const word = (n: bigint): Uint8Array => hexToBytes(`0x${n.toString(16).padStart(64, "0")}`);

/** vault_math::word_address: 12 zero bytes then the address; hardened, anything but 20 bytes aborts. */
function wordAddress(addr: Uint8Array, mode: MoveMode): Uint8Array {
  if (mode === "hardened" && addr.length !== 20) throw new MoveAbort("vault_math", "EAddressLength");
  return Uint8Array.from([...new Uint8Array(12), ...addr]);
}

/** vault_math::validator_set_hash. */
export function moveSetHash(validators: readonly Hex[], powers: readonly bigint[], mode: MoveMode): Hex {
  if (mode === "hardened" && validators.length !== powers.length) throw new MoveAbort("vault_math", "ESetLength");
  for (const p of powers) if (p < 0n || p > U64_MAX) throw new RangeError(`power ${p} is not a u64`);
  const parts = [...validators.map((v) => wordAddress(hexToBytes(v), mode)), ...powers.map(word)];
  return keccak256(concat(parts.map((b) => bytesToHex(b))));
}

const less = (a: Uint8Array, b: Uint8Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

/** anchor::check_set (hardened; legacy has the same checks less the size bound, and uses ESetMismatch for a zero power). */
function checkSet(validators: readonly Hex[], powers: readonly bigint[], mode: MoveMode): void {
  const n = validators.length;
  if (n !== powers.length || n === 0) throw new MoveAbort("anchor", "ESetMismatch");
  if (mode === "hardened" && n > MAX_VALIDATORS) throw new MoveAbort("anchor", "ETooManyValidators");
  for (let i = 0; i < n; i++) {
    if (hexToBytes(validators[i]!).length !== 20) throw new MoveAbort("anchor", "EBadLength");
    if (powers[i] === 0n) throw new MoveAbort("anchor", mode === "hardened" ? "EZeroPower" : "ESetMismatch");
    if (i > 0 && !less(hexToBytes(validators[i - 1]!), hexToBytes(validators[i]!))) throw new MoveAbort("anchor", "EUnsortedSet");
  }
}

export interface MoveAnchorState {
  chainId: Hex;
  setHash: Hex;
  lastEpoch: bigint;
  /** Anchored epochs' withdrawals roots. */
  withdrawalsRoots: Map<bigint, Hex>;
}

/** anchor::new. */
export function moveCreate(chainId: Hex, validators: readonly Hex[], powers: readonly bigint[], mode: MoveMode): MoveAnchorState {
  if (hexToBytes(chainId).length !== 32) throw new MoveAbort("anchor", "EBadLength");
  checkSet(validators, powers, mode);
  return { chainId, setHash: moveSetHash(validators, powers, mode), lastEpoch: 0n, withdrawalsRoots: new Map() };
}

export interface MoveSubmit {
  checkpoint: Checkpoint;
  validators: readonly Hex[];
  powers: readonly bigint[];
  /** Indices into `validators`, strictly ascending. */
  signers: readonly number[];
  /** 65-byte r‖s‖v signatures, one per signer. */
  signatures: readonly Hex[];
}

/**
 * anchor::submit_checkpoint on `state` (mutated when accepted). A signature
 * the node's recoverSigner refuses (high s, bad v) is modelled as
 * EBadSignature (Move aborts EHighS for a high s).
 */
export async function moveSubmit(state: MoveAnchorState, s: MoveSubmit, mode: MoveMode): Promise<void> {
  const c = s.checkpoint;
  if (c.chainId !== state.chainId) throw new MoveAbort("anchor", "EWrongChain");
  if (c.epoch !== state.lastEpoch + 1n) throw new MoveAbort("anchor", "EWrongEpoch");
  if (c.validatorSetHash !== state.setHash) throw new MoveAbort("anchor", "EWrongSet");
  if (mode === "hardened") checkSet(s.validators, s.powers, mode);
  else if (s.validators.length !== s.powers.length) throw new MoveAbort("anchor", "ESetMismatch");
  if (moveSetHash(s.validators, s.powers, mode) !== c.validatorSetHash) throw new MoveAbort("anchor", "ESetMismatch");
  if (s.signers.length !== s.signatures.length) throw new MoveAbort("anchor", "EBadLength");
  const digest = checkpointDigest(c);
  const total = s.powers.reduce((a, p) => a + p, 0n);
  let signed = 0n;
  for (let k = 0; k < s.signers.length; k++) {
    const idx = s.signers[k]!;
    if (k > 0 && idx <= s.signers[k - 1]!) throw new MoveAbort("anchor", "ESignerOrder");
    if (idx >= s.validators.length) throw new MoveAbort("anchor", "ESignerOrder");
    const who = await recoverSigner(digest, s.signatures[k]!);
    if (who === null || who.toLowerCase() !== s.validators[idx]!.toLowerCase()) throw new MoveAbort("anchor", "EBadSignature");
    signed += s.powers[idx]!;
  }
  if (signed * 3n <= total * 2n) throw new MoveAbort("anchor", "ENotEnoughPower");
  state.withdrawalsRoots.set(c.epoch, c.withdrawalsRoot);
  state.lastEpoch = c.epoch;
  state.setHash = c.nextValidatorSetHash;
}

/** What an operation came to: "accepted", or the abort constant's name. */
export async function outcome(f: () => unknown): Promise<string> {
  try {
    await f();
    return "accepted";
  } catch (e) {
    if (e instanceof MoveAbort) return e.constant;
    throw e;
  }
}
