/**
 * Writes test/vectors/checkpoint.json (settlement formats, DESIGN §9) and
 * test/vectors/anchor-attacks.json (the Sui anchor attacks of decision 0008).
 * The TypeScript, Solidity and Move tests assert them, so regenerate them only
 * when a shared format changes on purpose: `node scripts/checkpoint-vectors.ts`
 * (then `node scripts/move-vectors.ts`).
 */
import { writeFileSync } from "node:fs";
import { buildAnchorAttackVectors } from "../test/helpers/anchor-attacks.ts";
import { buildCheckpointVectors } from "../test/helpers/checkpoint-vectors.ts";

const vectors = await buildCheckpointVectors();
const path = new URL("../test/vectors/checkpoint.json", import.meta.url);
writeFileSync(path, JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${vectors.epochs.length} epochs to ${path.pathname}`);

const attacks = await buildAnchorAttackVectors();
const attacksPath = new URL("../test/vectors/anchor-attacks.json", import.meta.url);
writeFileSync(attacksPath, JSON.stringify(attacks, null, 2) + "\n");
console.log(`wrote ${attacks.cases.length} attack cases to ${attacksPath.pathname}`);
