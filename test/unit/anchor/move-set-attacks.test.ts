/**
 * The Sui anchor takeover of the security review, reproduced on a TypeScript
 * model of the Move anchor (test/helpers/move-anchor-model.ts; no Move VM
 * here): before the hardening a caller regroups the set's hashed bytes into
 * other entries, the set hash is unchanged, and a power-1 key signs for
 * another validator's power and installs its own set and withdrawals root;
 * now the set's shape is checked at every submit and every entry is one
 * 20-byte address, so the same calls are refused. The vectors replayed here
 * (test/vectors/anchor-attacks.json) are the ones contracts/move/tests/
 * attack_tests.move asserts under `sui move test`.
 */
import { readFileSync } from "node:fs";
import { encodePacked, keccak256, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { validatorSetHash } from "../../../node/anchor/checkpoint.ts";
import { buildAnchorAttackVectors, type AnchorAttackVectors, type AttackCase } from "../../helpers/anchor-attacks.ts";
import { vectorCheckpoint } from "../../helpers/checkpoint-vectors.ts";
import { moveCreate, moveSetHash, moveSubmit, outcome, type MoveMode } from "../../helpers/move-anchor-model.ts";

const file = JSON.parse(readFileSync(new URL("../../vectors/anchor-attacks.json", import.meta.url), "utf8")) as AnchorAttackVectors;
const byName = (name: string): AttackCase => file.cases.find((c) => c.name === name)!;
const powers = (ps: string[]) => ps.map(BigInt);
const sub = (s: AttackCase["submissions"][number]) => ({ checkpoint: vectorCheckpoint(s.checkpoint), validators: s.validators, powers: powers(s.powers), signers: s.signers, signatures: s.signatures });
const create = (c: AttackCase, mode: MoveMode) => moveCreate(file.chainId, c.genesis.validators, powers(c.genesis.powers), mode);

describe("Sui anchor attack vectors", () => {
  it("the TypeScript code regenerates the vector file exactly", async () => {
    expect(JSON.parse(JSON.stringify(await buildAnchorAttackVectors()))).toEqual(file);
  });

  it("every abort the model raises is a constant of the Move sources", () => {
    const src = (m: string) => readFileSync(new URL(`../../../contracts/move/sources/${m}.move`, import.meta.url), "utf8");
    for (const c of file.cases) {
      for (const o of [c.create.hardened, ...c.submissions.map((s) => s.hardened)]) if (o !== "accepted") expect(src("anchor")).toMatch(new RegExp(`const ${o}: u64 = \\d+;`));
    }
    expect(src("vault_math")).toMatch(/const EAddressLength: u64 = \d+;/);
  });

  it("the Move sources carry what the model's hardened mode assumes (no Move compiler here to run them)", () => {
    const src = (m: string) => readFileSync(new URL(`../../../contracts/move/sources/${m}.move`, import.meta.url), "utf8");
    const fn = (text: string, name: string) => text.slice(text.indexOf(`fun ${name}(`), text.indexOf("\n}\n", text.indexOf(`fun ${name}(`)));
    const submit = fn(src("anchor"), "submit_checkpoint");
    // The shape check runs before the set is hashed and compared.
    expect(submit.indexOf("check_set(&validators, &powers);")).toBeGreaterThan(0);
    expect(submit.indexOf("check_set(&validators, &powers);")).toBeLessThan(submit.indexOf("vault_math::validator_set_hash(&validators, &powers)"));
    const check = fn(src("anchor"), "check_set");
    expect(check).toContain("assert!(n <= MAX_VALIDATORS, ETooManyValidators);");
    expect(check).toContain("assert!(validators[i].length() == 20, EBadLength);");
    expect(check).toContain("assert!(powers[i] > 0, EZeroPower);");
    expect(src("anchor")).toContain("const MAX_VALIDATORS: u64 = 256;");
    expect(fn(src("vault_math"), "word_address")).toContain("assert!(addr.length() == 20, EAddressLength);");
    expect(fn(src("vault_math"), "validator_set_hash")).toContain("assert!(validators.length() == powers.length(), ESetLength);");
  });
});

describe.each(["regrouped_fewer_longer_entries", "zero_tail_address_shifts_keys"])("%s", (name) => {
  const c = byName(name);
  const attack = c.submissions[0]!;

  it("collides with the set's hash under the old encoding, and takes the anchor over", async () => {
    const genuine = attack.checkpoint.validatorSetHash as Hex;
    expect(attack.validators.some((v) => v.length !== 42)).toBe(true);
    expect(moveSetHash(attack.validators, powers(attack.powers), "legacy")).toBe(genuine);
    // The set created as it is (its shape was checked then), hashing as Solidity's encodePacked.
    const members = c.genesis.validators.map((address, i) => ({ address, power: BigInt(c.genesis.powers[i]!) }));
    expect(genuine).toBe(validatorSetHash(members));
    expect(genuine).toBe(keccak256(encodePacked(["address[]", "uint256[]"], [c.genesis.validators, powers(c.genesis.powers)])));

    const state = create(c, "legacy");
    // The signer holds power 1 in the real set, 100 in the regrouped one.
    const signer = attack.validators[attack.signers[0]!]!;
    expect(c.genesis.powers[c.genesis.validators.indexOf(signer)]).toBe("1");
    expect(attack.powers[attack.signers[0]!]).toBe("100");
    await moveSubmit(state, sub(attack), "legacy");
    expect(state.setHash).toBe(file.attacker.attackerSetHash);
    expect(state.withdrawalsRoots.get(1n)).toBe(file.attacker.attackerWithdrawalsRoot);
  });

  it("is refused now: the entries must be 20-byte addresses, at submit (EBadLength) and in the hash (EAddressLength)", async () => {
    const state = create(c, "hardened");
    expect(await outcome(() => moveSubmit(state, sub(attack), "hardened"))).toBe("EBadLength");
    expect(state.lastEpoch).toBe(0n);
    expect(await outcome(() => moveSetHash(attack.validators, powers(attack.powers), "hardened"))).toBe("EAddressLength");
    // The set as it is still hashes the same, so existing deployments and vectors hold.
    expect(moveSetHash(c.genesis.validators, powers(c.genesis.powers), "hardened")).toBe(attack.checkpoint.validatorSetHash);
  });
});

describe("set shape at every submit", () => {
  it.each([
    ["set_of_257_refused_at_submit", "ETooManyValidators"],
    ["zero_power_refused_at_submit", "EZeroPower"],
    ["unsorted_set_refused_at_submit", "EUnsortedSet"],
    ["repeated_member_refused_at_submit", "EUnsortedSet"],
  ])("%s: a rotated-in set the old code accepted when presented is refused (%s)", async (name, abort) => {
    const c = byName(name);
    const [rotate, present] = c.submissions as [AttackCase["submissions"][number], AttackCase["submissions"][number]];
    for (const mode of ["legacy", "hardened"] as const) {
      const state = create(c, mode);
      await moveSubmit(state, sub(rotate), mode);
      expect(state.setHash).toBe(present.checkpoint.validatorSetHash);
      expect(await outcome(() => moveSubmit(state, sub(present), mode))).toBe(mode === "legacy" ? "accepted" : abort);
      expect(state.lastEpoch).toBe(mode === "legacy" ? 2n : 1n);
    }
  });

  it("256 members are created and anchor; 257 are refused at creation", async () => {
    const ok = byName("set_of_256_anchors");
    expect(ok.genesis.validators).toHaveLength(256);
    const state = create(ok, "hardened");
    await moveSubmit(state, sub(ok.submissions[0]!), "hardened");
    expect(state.lastEpoch).toBe(1n);
    const big = byName("set_of_257_refused_at_creation");
    expect(big.genesis.validators).toHaveLength(257);
    expect(await outcome(() => create(big, "legacy"))).toBe("accepted");
    expect(await outcome(() => create(big, "hardened"))).toBe("ETooManyValidators");
  });

  it("a valid set with an address ending in 12 zero bytes still anchors", async () => {
    const c = byName("zero_tail_address_is_a_valid_member");
    expect(c.genesis.validators[0]).toMatch(/0{24}$/);
    const state = create(c, "hardened");
    await moveSubmit(state, sub(c.submissions[0]!), "hardened");
    expect(state.lastEpoch).toBe(1n);
  });

  it("every recorded outcome is what the model gives", async () => {
    for (const c of file.cases) {
      for (const mode of ["legacy", "hardened"] as const) {
        expect(await outcome(() => create(c, mode)), `${c.name} create ${mode}`).toBe(c.create[mode]);
        if (c.create[mode] !== "accepted") continue;
        const state = create(c, mode);
        for (const s of c.submissions) expect(await outcome(() => moveSubmit(state, sub(s), mode)), `${c.name} ${mode}`).toBe(s[mode]);
      }
    }
  });
});
