/**
 * Builds a large genesis state in a child process.
 *
 * Decoding a million genesis accounts and writing them to LevelDB leaves a
 * few hundred megabytes of freed memory that the process keeps (V8's heap and
 * the allocator do not hand it back). A node whose first start builds the
 * state itself would carry that for its whole life. So for a genesis of
 * `GENESIS_CHILD_MIN` accounts or more, the node runs this file as a child
 * process: it opens the empty data directory, writes genesis exactly as
 * `Blockchain.open` does in process (accounts, block, account snapshot), and
 * exits; the node then opens the directory as on any restart.
 *
 * The child reads `{ dataDir, genesisDir, maxFileBytes }` as a
 * JSON argument and the genesis text on stdin, and prints one error line on
 * failure (exit 1).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Blockchain, genesisFileHash } from "./chain/blockchain.ts";
import { openDb } from "./db/database.ts";
import { parseGenesis, type GenesisJson } from "./types/genesis.ts";

/** Genesis account count from which the state is built in a child process. */
export const GENESIS_CHILD_MIN = 20_000;

export interface GenesisInitArgs {
  dataDir: string;
  genesisDir: string;
  maxFileBytes?: number;
}

const SELF = fileURLToPath(import.meta.url);

/** Runs the genesis build in a child process; rejects with the child's error line. */
export function initGenesisInChild(args: GenesisInitArgs, genesisText: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, JSON.stringify(args)], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(err.trim().split("\n").pop() || `genesis build process exited with ${signal ?? code}`));
    });
    child.stdin!.end(genesisText);
  });
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]!) as GenesisInitArgs;
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const genesis = parseGenesis(JSON.parse(text) as GenesisJson, { dir: args.genesisDir });
  const db = await openDb(join(args.dataDir, "data"));
  try {
    const chain = await Blockchain.open(db, genesis, genesisFileHash(text), join(args.dataDir, "blocks"), {
      ...(args.maxFileBytes === undefined ? {} : { maxFileBytes: args.maxFileBytes }),
      accountSnapshot: join(args.dataDir, "state", "accounts.snapshot"),
    });
    await chain.close();
  } finally {
    await db.close();
  }
}

if (process.argv[1] === SELF) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
