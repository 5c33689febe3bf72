/**
 * A child process that prunes a chain on disk one height per batch, printing
 * "floor <n>" after each, until killed or `to` is reached (pruning kill test).
 * argv: <home> <genesis.json path> <to>
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Blockchain, genesisFileHash } from "../../node/chain/blockchain.ts";
import { openDb } from "../../node/db/database.ts";
import { parseGenesis } from "../../node/types/genesis.ts";

const [home, genesisPath, toText] = process.argv.slice(2) as [string, string, string];
const json = readFileSync(genesisPath, "utf8");
const db = await openDb(join(home, "db"));
const chain = await Blockchain.open(db, parseGenesis(JSON.parse(json)), genesisFileHash(json), join(home, "blocks"), { maxFileBytes: 16 * 1024 });
const to = Number(toText);
process.stdout.write(`open ${chain.store.floor}\n`);
while (chain.store.floor < to) {
  await chain.store.prune(chain.store.floor + 1);
  process.stdout.write(`floor ${chain.store.floor}\n`);
}
await chain.close();
await db.close();
process.stdout.write("done\n");
