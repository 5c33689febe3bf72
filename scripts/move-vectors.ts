/**
 * Writes contracts/move/tests/vector_tests.move from test/vectors/checkpoint.json
 * (run after regenerating the vectors): `node scripts/move-vectors.ts`.
 */
import { writeFileSync } from "node:fs";
import { moveVectorTests } from "../test/helpers/move-vectors.ts";

const source = await moveVectorTests();
writeFileSync(new URL("../contracts/move/tests/vector_tests.move", import.meta.url), source);
console.log(`wrote ${source.split("\n").length} lines to contracts/move/tests/vector_tests.move`);
