/**
 * Writes test/vectors/pouw-golden.json: the golden training jobs' inputs and
 * the checkpoint hashes, final weights hash and metrics the reference kernel
 * gives. Run it only when the kernel's definition changes on purpose (that
 * is a consensus change): `node scripts/pouw-vectors.ts`.
 */
import { writeFileSync } from "node:fs";
import { GOLDEN_INPUTS, runGolden } from "../test/helpers/pouw-golden.ts";

const vectors = GOLDEN_INPUTS.map((input) => ({ input, expected: runGolden(input) }));
const path = new URL("../test/vectors/pouw-golden.json", import.meta.url);
writeFileSync(path, JSON.stringify({ description: "Reference-kernel training jobs (DESIGN §8): checkpoint hashes are SHA-256 of the checkpoint blobs, lossBits the float32 bits of the mean validation loss.", vectors }, null, 2) + "\n");
console.log(`wrote ${vectors.length} vectors to ${path.pathname}`);
