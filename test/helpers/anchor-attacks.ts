/**
 * The Sui anchor attacks of the security review (decision 0008) as shared
 * vectors, test/vectors/anchor-attacks.json: genesis sets, checkpoints signed
 * with the published vector anchor keys, and the lists a caller presents at
 * submit, with what the Move anchor did before the hardening (`legacy`) and
 * must do now (`hardened`). The TypeScript model of the Move anchor
 * (move-anchor-model.ts) replays them in test/unit/anchor/move-set-attacks.test.ts;
 * scripts/move-vectors.ts turns them into contracts/move/tests/attack_tests.move.
 */
import { concat, getAddress, keccak256, pad, toBytes, toHex, type Hex } from "viem";
import { anchorAddress, chainIdHash, checkpointDigest, signDigest, ZERO32, type Checkpoint } from "../../node/anchor/checkpoint.ts";
import { anchorKey, VECTOR_CHAIN_ID } from "./checkpoint-vectors.ts";
import { moveCreate, moveSetHash, moveSubmit, outcome } from "./move-anchor-model.ts";

/** Synthetic member i of a large set: 12 zero bytes then i + 1 as 8 big-endian bytes (ascending in i, below any real key). */
export const syntheticAddress = (i: number): Hex => `0x${"00".repeat(12)}${(BigInt(i) + 1n).toString(16).padStart(16, "0")}`;

export interface AttackSubmission {
  checkpoint: Record<keyof Checkpoint, string>;
  /** What the caller presents: entries of any length (hex), and powers. */
  validators: Hex[];
  powers: string[];
  signers: number[];
  signatures: Hex[];
  legacy: string;
  hardened: string;
}

export interface AttackCase {
  name: string;
  description: string;
  genesis: { validators: Hex[]; powers: string[] };
  create: { legacy: string; hardened: string };
  /** In order; every one but the last is accepted by both versions. */
  submissions: AttackSubmission[];
}

const lower = (h: Hex): Hex => h.toLowerCase() as Hex;
const word = (n: bigint): Hex => pad(toHex(n), { size: 32 });

export async function buildAnchorAttackVectors() {
  const chainId = chainIdHash(VECTOR_CHAIN_ID);
  // K signs for the attacker; H holds the power it wants; L is anyone. Anchor keys 20-22, by address.
  const ids = [20, 21, 22].sort((a, b) => (BigInt(anchorAddress(anchorKey(a))) < BigInt(anchorAddress(anchorKey(b))) ? -1 : 1));
  const [K, H, L] = ids.map((i) => lower(anchorAddress(anchorKey(i)))) as [Hex, Hex, Hex];
  const keyOf = new Map(ids.map((i) => [lower(anchorAddress(anchorKey(i))), anchorKey(i)]));
  const Z: Hex = `0x000000000000beef${"00".repeat(12)}`; // an anchor address ending in 12 zero bytes
  const X: Hex = `0x${"ff".repeat(20)}`; // above every key
  if (!(BigInt(Z) < BigInt(K)) || BigInt(K) >> 64n === 0n) throw new Error("vector keys out of the assumed order");

  const hash = (validators: readonly Hex[], powers: readonly bigint[]) => moveSetHash(validators, powers, "legacy");
  const strs = (ps: readonly bigint[]) => ps.map(String);
  let tag = 0;
  function checkpoint(epoch: bigint, set: Hex, next: Hex, withdrawalsRoot: Hex = ZERO32): Checkpoint {
    tag++;
    return { chainId, epoch, height: 100n * epoch, blockHash: keccak256(toBytes(`attack/block/${tag}`)), stateRoot: keccak256(toBytes(`attack/state/${tag}`)), withdrawalsRoot, validatorSetHash: set, nextValidatorSetHash: next };
  }
  const asRecord = (c: Checkpoint): Record<keyof Checkpoint, string> => ({ ...c, epoch: c.epoch.toString(), height: c.height.toString() });

  /** A submission signed by `signers` (their keys by address: real keys only). */
  async function submission(c: Checkpoint, validators: Hex[], powers: bigint[], signers: number[]) {
    const digest = checkpointDigest(c);
    const signatures = await Promise.all(signers.map((i) => signDigest(digest, keyOf.get(lower(validators[i]!))!)));
    return { checkpoint: c, validators, powers, signers, signatures };
  }

  type Draft = { name: string; description: string; genesis: { validators: Hex[]; powers: bigint[] }; submissions: Awaited<ReturnType<typeof submission>>[] };
  const drafts: Draft[] = [];
  const ATTACKER_ROOT = keccak256(toBytes("attack/attacker-withdrawals-root"));
  const attackerSet = hash([K], [1n]);

  // 1. Fewer, longer entries: K (power 1) takes H's 100 of 101.
  {
    const genesis = { validators: [K, H, L], powers: [1n, 100n, 1n] };
    const set = hash(genesis.validators, genesis.powers);
    const blob = concat([H, word(BigInt(L)), word(1n)]); // H ‖ word(L) ‖ word(power of K)
    drafts.push({
      name: "regrouped_fewer_longer_entries",
      description: "Set [K:1, H:100, L:1]. Presented as [K, H‖word(L)‖word(1)] with powers [100, 1]: the same hashed bytes, so K signs 100 of 101 and installs its own set and withdrawals root.",
      genesis,
      submissions: [await submission(checkpoint(1n, set, attackerSet, ATTACKER_ROOT), [K, blob], [100n, 1n], [0])],
    });
  }
  // 2. An address ending in 12 zero bytes: split it, merge two later ones, and every key between moves one power along.
  {
    const genesis = { validators: [Z, K, H, L], powers: [1n, 1n, 100n, 1n] };
    const set = hash(genesis.validators, genesis.powers);
    const z8 = Z.slice(0, 18) as Hex;
    drafts.push({
      name: "zero_tail_address_shifts_keys",
      description: "Set [Z:1, K:1, H:100, L:1], Z = 0x000000000000beef followed by 12 zero bytes. Presented as [Z's first 8 bytes, empty, K, H‖word(L)]: the same hashed bytes with K on H's power, 100 of 103.",
      genesis,
      submissions: [await submission(checkpoint(1n, set, attackerSet, ATTACKER_ROOT), [z8, "0x", K, concat([H, word(BigInt(L))])], [1n, 1n, 100n, 1n], [2])],
    });
    drafts.push({
      name: "zero_tail_address_is_a_valid_member",
      description: "The same set presented as it is: H's signature (100 of 103) anchors it, before and after.",
      genesis,
      submissions: [await submission(checkpoint(1n, set, set), [...genesis.validators], [...genesis.powers], [2])],
    });
  }
  // 3. Set size: 256 is the most; 257 is refused at creation and when a rotated-in one is presented.
  const synthetic = (n: number) => Array.from({ length: n }, (_, i) => syntheticAddress(i));
  const large = (n: number) => ({ validators: [...synthetic(n - 1), K], powers: [...Array.from({ length: n - 1 }, () => 1n), 1000n] });
  {
    const genesis = large(256);
    const set = hash(genesis.validators, genesis.powers);
    drafts.push({ name: "set_of_256_anchors", description: "255 synthetic members of power 1 and K of power 1000: created, and K's signature (1000 of 1255) anchors epoch 1.", genesis, submissions: [await submission(checkpoint(1n, set, set), genesis.validators, genesis.powers, [255])] });
  }
  drafts.push({ name: "set_of_257_refused_at_creation", description: "256 synthetic members of power 1 and K of power 1000.", genesis: large(257), submissions: [] });
  /** Genesis {K:1}; epoch 1 rotates to `next`; epoch 2 presents it, signed by K. */
  async function rotated(name: string, description: string, next: { validators: Hex[]; powers: bigint[] }, signers: number[]): Promise<Draft> {
    const genesis = { validators: [K], powers: [1n] };
    const g = hash(genesis.validators, genesis.powers);
    const n = hash(next.validators, next.powers);
    return {
      name,
      description,
      genesis,
      submissions: [await submission(checkpoint(1n, g, n), genesis.validators, genesis.powers, [0]), await submission(checkpoint(2n, n, attackerSet, ATTACKER_ROOT), next.validators, next.powers, signers)],
    };
  }
  drafts.push(await rotated("set_of_257_refused_at_submit", "Genesis {K:1} rotates to 256 synthetic members and K:1000; presenting that set is refused.", large(257), [256]));
  drafts.push(await rotated("zero_power_refused_at_submit", "Genesis {K:1} rotates to [K:100, X:0]; presenting it is refused.", { validators: [K, X], powers: [100n, 0n] }, [0]));
  drafts.push(await rotated("unsorted_set_refused_at_submit", "Genesis {K:1} rotates to [X:1, K:100], descending; presenting it is refused.", { validators: [X, K], powers: [1n, 100n] }, [1]));
  drafts.push(await rotated("repeated_member_refused_at_submit", "Genesis {K:1} rotates to [K:60, K:60, H:50]: K signing twice would carry 120 of 170.", { validators: [K, K, H], powers: [60n, 60n, 50n] }, [0, 1]));

  const cases: AttackCase[] = [];
  for (const d of drafts) {
    const create = {
      legacy: await outcome(() => moveCreate(chainId, d.genesis.validators, d.genesis.powers, "legacy")),
      hardened: await outcome(() => moveCreate(chainId, d.genesis.validators, d.genesis.powers, "hardened")),
    };
    const results: Record<"legacy" | "hardened", string[]> = { legacy: [], hardened: [] };
    for (const mode of ["legacy", "hardened"] as const) {
      if (create[mode] !== "accepted") continue;
      const state = moveCreate(chainId, d.genesis.validators, d.genesis.powers, mode);
      for (const s of d.submissions) results[mode].push(await outcome(() => moveSubmit(state, s, mode)));
    }
    cases.push({
      name: d.name,
      description: d.description,
      genesis: { validators: d.genesis.validators.map(lower), powers: strs(d.genesis.powers) },
      create,
      submissions: d.submissions.map((s, i) => ({
        checkpoint: asRecord(s.checkpoint),
        validators: s.validators.map(lower),
        powers: strs(s.powers),
        signers: s.signers,
        signatures: s.signatures,
        legacy: results.legacy[i] ?? "not reached",
        hardened: results.hardened[i] ?? "not reached",
      })),
    });
  }
  return {
    description: "Sui anchor attacks of the security review (decision 0008), generated by scripts/checkpoint-vectors.ts; keys are keccak256 of published labels (pouw/vector/anchor/<i>).",
    chainId,
    attacker: { K: getAddress(K), H: getAddress(H), L: getAddress(L), attackerSetHash: attackerSet, attackerWithdrawalsRoot: ATTACKER_ROOT },
    syntheticAddress: "12 zero bytes then i + 1 as 8 big-endian bytes",
    cases,
  };
}

export type AnchorAttackVectors = Awaited<ReturnType<typeof buildAnchorAttackVectors>>;
