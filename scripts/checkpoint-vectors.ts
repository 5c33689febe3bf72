/**
 * Writes test/vectors/checkpoint.json (settlement formats, DESIGN §9). The
 * TypeScript, Solidity and Move tests all assert it, so regenerate it only
 * when a shared format changes on purpose: `node scripts/checkpoint-vectors.ts`.
 */
import { writeFileSync } from "node:fs";
import { buildCheckpointVectors } from "../test/helpers/checkpoint-vectors.ts";

const vectors = await buildCheckpointVectors();
const path = new URL("../test/vectors/checkpoint.json", import.meta.url);
writeFileSync(path, JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${vectors.epochs.length} epochs to ${path.pathname}`);
