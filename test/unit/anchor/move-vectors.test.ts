/**
 * The Move side of the shared settlement vectors: contracts/move/tests/
 * vector_tests.move and attack_tests.move are exactly what the generators
 * make from test/vectors/checkpoint.json and anchor-attacks.json (so `sui
 * move test` asserts the same values as the TypeScript and Solidity tests),
 * and every Move file parses with the Sui team's tree-sitter grammar.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { moveAttackTests } from "../../helpers/move-attack-tests.ts";
import { moveVectorTests } from "../../helpers/move-vectors.ts";

const dir = new URL("../../../contracts/move/", import.meta.url);

describe("Move package", () => {
  it("its vector tests are generated from the current vectors", async () => {
    expect(readFileSync(new URL("tests/vector_tests.move", dir), "utf8")).toBe(await moveVectorTests());
  });

  it("its attack tests are generated from the current attack vectors, one per case", async () => {
    const source = readFileSync(new URL("tests/attack_tests.move", dir), "utf8");
    expect(source).toBe(await moveAttackTests());
    for (const [name, abort] of [
      ["regrouped_fewer_longer_entries", "EBadLength"],
      ["zero_tail_address_shifts_keys", "EBadLength"],
      ["set_of_257_refused_at_creation", "ETooManyValidators"],
      ["set_of_257_refused_at_submit", "ETooManyValidators"],
      ["zero_power_refused_at_submit", "EZeroPower"],
      ["unsorted_set_refused_at_submit", "EUnsortedSet"],
    ]) {
      expect(source).toContain(`#[test, expected_failure(abort_code = anchor::${abort})]\nfun ${name}() {`);
    }
    expect(source).toContain("#[test]\nfun set_of_256_anchors() {");
    expect(source).toContain("#[test, expected_failure(abort_code = vault_math::EAddressLength)]\nfun regrouped_entries_do_not_hash() {");
  });

  it("every module parses, and a syntax error would not", async () => {
    const files = [...readdirSync(new URL("sources/", dir)).map((f) => `sources/${f}`), ...readdirSync(new URL("tests/", dir)).map((f) => `tests/${f}`)];
    expect(files).toEqual(expect.arrayContaining(["sources/anchor.move", "sources/vault.move", "sources/vault_math.move", "tests/vector_tests.move", "tests/attack_tests.move"]));
    const opts = { parser: "move", plugins: ["@mysten/prettier-plugin-move"] };
    for (const f of files) await expect(prettier.format(readFileSync(new URL(f, dir), "utf8"), opts), f).resolves.toBeTypeOf("string");
    const broken = readFileSync(new URL("sources/vault_math.move", dir), "utf8").replace("let mut i = 0;", "let mut i = ;");
    await expect(prettier.format(broken, opts)).rejects.toThrow();
  });
});
