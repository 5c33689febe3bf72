/**
 * The short form of `npm run bench:state-scale`: a real `pouw start` process
 * on a genesis of 30,000 accounts given as an accountsFile, whose state a
 * child process builds on the first start. A clean restart
 * loads the state from the account snapshot; a SIGKILL after transfers to new
 * accounts restarts from the snapshot plus the accounts touched since; a
 * damaged snapshot is refused with a warning and the state read from the
 * database. Each time the balances are right and the chain goes on.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { initHome } from "../../node/cli/home.ts";
import { encodeAddress } from "../../node/crypto/address.ts";
import { AnchorKey } from "../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../node/crypto/keys.ts";
import { freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { signedTransfer } from "../helpers/tx.ts";

const ACCOUNTS = 30_000;
const CHAIN_ID = "pouw-state-scale-test";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const validator = AccountKey.fromLabel("state-scale-test/validator");
const sender = AccountKey.fromLabel("state-scale-test/sender");

async function makeHome(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "pouw-state-scale-"));
  dirs.push(dir);
  const lines = [`${sender.bech32},1000000000000`];
  for (let i = 1; i < ACCOUNTS; i++) lines.push(`${encodeAddress(randomBytes(20))},${1000 + i}`);
  const csv = lines.join("\n") + "\n";
  writeFileSync(join(dir, "accounts.csv"), csv);
  const genesis = {
    chainId: CHAIN_ID,
    genesisTime: Date.now() - 1000,
    params: {},
    validators: [{ name: "v0", publicKey: Buffer.from(validator.publicKey).toString("hex"), anchorAddress: AnchorKey.fromSeed(validator.seed).address, power: "100" }],
    accountsFile: { path: "accounts.csv", sha256: createHash("sha256").update(csv).digest("hex"), count: ACCOUNTS },
  };
  writeFileSync(join(dir, "genesis.json"), JSON.stringify(genesis));
  const home = join(dir, "home");
  await initHome(home, { genesisPath: join(dir, "genesis.json"), validatorKey: validator });
  return home;
}

const loadedLine = (node: ChildNode) => {
  const line = node.output().split("\n").find((l) => l.includes('"Loaded the state"'));
  return line ? (JSON.parse(line) as { from: string; accounts: number; height: number }) : undefined;
};

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("state at scale, as a process", { timeout: 180_000 }, () => {
  it("restarts from the account snapshot after a clean stop and after a SIGKILL; a damaged snapshot falls back to the database", async () => {
    const home = await makeHome();
    const port = await freePort();
    const start = () => startChild(home, port, ["--no-worker", "--log-level", "info", "--block-time", "200"]);
    let nonce = 0n;
    const newcomers: AccountKey[] = [];
    /** Pays a new account 1,000 + k units and waits until it is committed. */
    const payNew = async (node: ChildNode) => {
      const k = AccountKey.fromLabel(`state-scale-test/new/${newcomers.length}`);
      newcomers.push(k);
      const tx = signedTransfer(sender, { chainId: CHAIN_ID, nonce: nonce++, to: k.address, amount: 1000n + BigInt(newcomers.length) });
      await node.client.sendRawTransaction(tx.bytes);
      await until("the transfer is committed", async () => (await node.client.getAccount(k.bech32, { proof: false })).exists || undefined);
    };
    const checkBalances = async (node: ChildNode) => {
      for (const [i, k] of newcomers.entries()) expect(BigInt((await node.client.getAccount(k.bech32, { proof: false })).balance)).toBe(1001n + BigInt(i));
    };
    const stop = async (node: ChildNode, signal: NodeJS.Signals) => {
      node.proc.kill(signal);
      await node.exited;
    };

    // Accounts after k transfers to new accounts: the genesis ones, the k new ones, and the validator's (paid tips).
    let node = await start();
    try {
      // 30,000 ≥ GENESIS_CHILD_MIN: a child process built the genesis state, and the node loads it like a restart.
      expect(await until("state loaded", () => loadedLine(node))).toMatchObject({ from: "snapshot", accounts: ACCOUNTS });
      expect(node.output()).toContain('"accounts":30000');
      expect(node.output()).toContain("Built the genesis state (in a child process");
      await payNew(node);
      await payNew(node);
      await stop(node, "SIGTERM");

      node = await start();
      expect(await until("state loaded", () => loadedLine(node))).toMatchObject({ from: "snapshot", accounts: ACCOUNTS + 2 + 1 });
      await checkBalances(node);
      await payNew(node);
      await payNew(node);
      await stop(node, "SIGKILL"); // no final snapshot: the restart needs the touched marks

      node = await start();
      expect(await until("state loaded", () => loadedLine(node))).toMatchObject({ from: "snapshot", accounts: ACCOUNTS + 4 + 1 });
      await checkBalances(node);
      await payNew(node);
      await stop(node, "SIGTERM");

      const path = join(home, "state", "accounts.snapshot");
      const b = readFileSync(path);
      b[200] ^= 1;
      writeFileSync(path, b);
      node = await start();
      expect(await until("state loaded", () => loadedLine(node))).toMatchObject({ from: "database", accounts: ACCOUNTS + 5 + 1 });
      expect(node.output()).toContain("account snapshot damaged (checksum mismatch)");
      await checkBalances(node);
      await payNew(node);
      await checkBalances(node);
    } finally {
      await stop(node, "SIGTERM");
    }
  });

  it("an accounts file changed after init stops the first start with the reason (from the child process)", async () => {
    const home = await makeHome();
    const csv = join(home, "accounts.csv");
    writeFileSync(csv, readFileSync(csv, "utf8").replace(",1001\n", ",9001\n"));
    const port = await freePort();
    // The process exits before it serves RPC: startChild rejects with its exit status and output.
    await expect(startChild(home, port, ["--no-worker"])).rejects.toThrow(/node exited with [1-9][\s\S]*invalid genesis: accountsFile .*accounts\.csv has SHA-256 [0-9a-f]{64}, the genesis pins [0-9a-f]{64}/);
  });
});
