/**
 * The Move side of the shared settlement vectors: contracts/move/tests/
 * vector_tests.move is exactly what the generator makes from
 * test/vectors/checkpoint.json (so `sui move test` asserts the same values
 * as the TypeScript and Solidity tests), and every Move file parses with the
 * Sui team's tree-sitter grammar.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { moveVectorTests } from "../../helpers/move-vectors.ts";

const dir = new URL("../../../contracts/move/", import.meta.url);

describe("Move package", () => {
  it("its vector tests are generated from the current vectors", async () => {
    expect(readFileSync(new URL("tests/vector_tests.move", dir), "utf8")).toBe(await moveVectorTests());
  });

  it("every module parses, and a syntax error would not", async () => {
    const files = [...readdirSync(new URL("sources/", dir)).map((f) => `sources/${f}`), ...readdirSync(new URL("tests/", dir)).map((f) => `tests/${f}`)];
    expect(files).toEqual(expect.arrayContaining(["sources/anchor.move", "sources/vault.move", "sources/vault_math.move", "tests/vector_tests.move"]));
    const opts = { parser: "move", plugins: ["@mysten/prettier-plugin-move"] };
    for (const f of files) await expect(prettier.format(readFileSync(new URL(f, dir), "utf8"), opts), f).resolves.toBeTypeOf("string");
    const broken = readFileSync(new URL("sources/vault_math.move", dir), "utf8").replace("let mut i = 0;", "let mut i = ;");
    await expect(prettier.format(broken, opts)).rejects.toThrow();
  });
});
