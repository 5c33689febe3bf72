/**
 * Writes contracts/move/tests/vector_tests.move from test/vectors/checkpoint.json
 * and contracts/move/tests/attack_tests.move from test/vectors/anchor-attacks.json
 * (run after regenerating the vectors): `node scripts/move-vectors.ts`.
 */
import { writeFileSync } from "node:fs";
import { moveAttackTests } from "../test/helpers/move-attack-tests.ts";
import { moveVectorTests } from "../test/helpers/move-vectors.ts";

for (const [name, source] of [
  ["vector_tests.move", await moveVectorTests()],
  ["attack_tests.move", await moveAttackTests()],
] as const) {
  writeFileSync(new URL(`../contracts/move/tests/${name}`, import.meta.url), source);
  console.log(`wrote ${source.split("\n").length} lines to contracts/move/tests/${name}`);
}
