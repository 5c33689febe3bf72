/** The `pouw` CLI as a user runs it: keys, init, and a transfer against a live node over RPC. */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountKey } from "../../node/crypto/keys.ts";
import { PouwNode } from "../../node/node.ts";
import { CLI, freePort } from "../helpers/child.ts";
import { until } from "../helpers/until.ts";
import { parsePouw } from "../../node/cli/amount.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pouw-cli-"));
const keyring = join(dir, "keyring");

async function pouw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, POUW_KEYRING: keyring } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("pouw keys", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Plaintext keys (--insecure-plaintext); encrypted keystores are cli-keys.test.ts's.
  it("creates, shows, lists and imports keys, and never overwrites one", async () => {
    const created = await pouw("keys", "new", "--name", "alice", "--insecure-plaintext", "--json");
    expect(created.code).toBe(0);
    const alice = JSON.parse(created.stdout) as { name: string; address: string; file: string };
    expect(alice.address).toMatch(/^pouw1[02-9ac-hj-np-z]{38}$/);
    expect(statSync(alice.file).mode & 0o077).toBe(0); // readable by the owner only

    const shown = JSON.parse((await pouw("keys", "show", "alice", "--json")).stdout) as { address: string; publicKey: string };
    expect(shown.address).toBe(alice.address);
    expect(shown.publicKey).toMatch(/^0x[0-9a-f]{2624}$/);

    const again = await pouw("keys", "new", "--name", "alice");
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);

    const seed = "11".repeat(32);
    const imported = JSON.parse((await pouw("keys", "import", "--name", "bob", "--seed", seed, "--insecure-plaintext", "--json")).stdout) as { address: string };
    expect(imported.address).toBe(new AccountKey(Buffer.from(seed, "hex")).bech32);
    const bad = await pouw("keys", "import", "--name", "carol", "--seed", "zz", "--insecure-plaintext");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/seed/i);

    const list = (await pouw("keys", "list", "--json")).stdout;
    expect(list).toContain(alice.address);
    expect(list).toContain(imported.address);
  });

  it("initialises a home once", async () => {
    const home = join(dir, "home");
    const first = await pouw("init", "--home", home, "--dev-validator", "0");
    expect(first.code).toBe(0);
    for (const f of ["config.json", "genesis.json", "keys/validator.json"]) expect(existsSync(join(home, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(home, "genesis.json"), "utf8")).chainId).toBe("pouw-devnet-1");
    const second = await pouw("init", "--home", home, "--dev-validator", "0");
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already initialised/);
  });
});

describe("pouw tx transfer against a live devnet node", () => {
  let node: PouwNode;
  let rpc: string;
  beforeAll(async () => {
    const port = await freePort();
    node = await PouwNode.create({
      dataDir: null,
      // The devnet, with a signing window long enough that the keyless validator the staking test creates is never
      // jailed (and slashed) for downtime while the test still reads its stake.
      genesisJson: (() => {
        const g = JSON.parse(readFileSync(new URL("../../genesis/devnet.json", import.meta.url), "utf8")) as { params: Record<string, unknown> };
        g.params.signedBlocksWindow = 8192;
        return JSON.stringify(g);
      })(),
      validatorKey: AccountKey.fromLabel("pouw/devnet/validator/0"),
      rpc: { host: "127.0.0.1", port },
      blockTimeMs: 100,
    });
    await node.start();
    rpc = `http://127.0.0.1:${port}/`;
  });
  afterAll(() => node.close());

  it("sends from a dev account to a key name, waits for finality and shows the new balance", async () => {
    const before = JSON.parse((await pouw("balance", "dev:3", "--rpc", rpc, "--json")).stdout) as { balance: string };
    const sent = await pouw("tx", "transfer", "--from", "dev:2", "--to", "dev:3", "--amount", "1.5", "--rpc", rpc, "--json");
    expect(sent.code, sent.stderr).toBe(0);
    const final = JSON.parse(sent.stdout) as { status: string; receipt: { status: string } };
    expect(final.status).toBe("finalized");
    expect(final.receipt.status).toBe("success");
    const after = JSON.parse((await pouw("balance", "dev:3", "--rpc", rpc, "--json")).stdout) as { balance: string };
    expect(BigInt(after.balance) - BigInt(before.balance)).toBe(1_500_000_000n);

    const text = await pouw("tx", "transfer", "--from", "dev:2", "--to", "dev:3", "--amount", "0.000000001", "--rpc", rpc);
    expect(text.stdout).toMatch(/finalized in block \d+/);
  });

  it("explains a refused transfer and exits non-zero", async () => {
    const broke = await pouw("tx", "transfer", "--from", "dev:4", "--to", "dev:3", "--amount", "2000000", "--rpc", rpc);
    expect(broke.code).not.toBe(0);
    expect(broke.stderr + broke.stdout).toMatch(/INSUFFICIENT_FUNDS/);
  });

  it("refuses an amount or number that does not fit its field, naming the maximum, and sends nothing", async () => {
    const payee = AccountKey.fromLabel("cli-test/too-much").bech32;
    const nonce0 = JSON.parse((await pouw("balance", "dev:0", "--rpc", rpc, "--json")).stdout).nonce as string;
    // 18446744074 POUW is 2^64 + 290448384 units: it used to be sent, and the payee got 0.290448384 POUW.
    const over = await pouw("tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "18446744074", "--rpc", rpc);
    expect(over.code).toBe(1);
    expect(over.stderr.trim()).toBe("error: --amount 18446744074 POUW is more than the largest amount, 18446744073.709551615 POUW");
    expect((await pouw("tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "18446744073.709551616", "--rpc", rpc)).stderr).toMatch(/is more than the largest amount, 18446744073\.709551615 POUW/);
    const bad: [string[], RegExp][] = [
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "-1"], /--amount -1 is negative/],
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "1.0000000001"], /--amount 1\.0000000001 has 10 decimals: POUW has 9/],
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "1e3"], /--amount "1e3" is not an amount in POUW/],
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "1", "--tip", "18446744073709551616"], /--tip 18446744073709551616 is more than the largest fee per gas \(units\), 18446744073709551615/],
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "1", "--max-fee", "-3"], /--max-fee -3 is negative/],
      [["tx", "transfer", "--from", "dev:0", "--to", payee, "--amount", "1", "--nonce", "x"], /--nonce "x" is not a whole number/],
      [["tx", "create-validator", "--from", "dev:0", "--consensus-key", "dev:7", "--amount", "20000000000"], /--amount 20000000000 POUW is more than the largest amount/],
      [["tx", "delegate", "--from", "dev:0", "--validator", payee, "--amount", "99999999999"], /--amount 99999999999 POUW is more than the largest amount/],
      [["tx", "undelegate", "--from", "dev:0", "--validator", payee, "--shares", "18446744073709551616"], /--shares 18446744073709551616 is more than the largest number of shares/],
      [["tx", "withdraw", "--from", "dev:0", "--to", "0x" + "11".repeat(20), "--domain", "0x" + "22".repeat(32), "--amount", "18446744074"], /--amount 18446744074 POUW is more than the largest amount/],
      [["job", "create", "--from", "dev:0", "--reward", "18446744074"], /--reward 18446744074 POUW is more than the largest amount/],
      [["job", "create", "--from", "dev:0", "--reward", "1", "--bond", "1.5.0"], /--bond "1\.5\.0" is not an amount/],
      [["worker", "--from", "dev:0", "--once", "--min-reward", "-2"], /--min-reward -2 is negative/],
    ];
    // Side by side: each is a process of its own that sends nothing (one after another they took a minute on busy CI).
    const results = await Promise.all(bad.map(([args]) => pouw(...args, "--rpc", rpc)));
    for (const [i, [args, message]] of bad.entries()) {
      expect(results[i]!.code, args.join(" ")).toBe(1);
      expect(results[i]!.stderr, args.join(" ")).toMatch(message);
    }
    const payeeAfter = JSON.parse((await pouw("balance", payee, "--rpc", rpc, "--json")).stdout) as { balance: string; nonce: string };
    expect(payeeAfter.balance).toBe("0");
    expect(JSON.parse((await pouw("balance", "dev:0", "--rpc", rpc, "--json")).stdout).nonce).toBe(nonce0); // nothing was sent
  }, 120_000);

  it("an address: upper-case bech32 is accepted (normalised), mixed case and a hex 0x… address are refused as addresses, not taken for key names", async () => {
    const payee = AccountKey.fromLabel("cli-test/upper").bech32;
    const upper = payee.toUpperCase();
    const sent = await pouw("tx", "transfer", "--from", "dev:2", "--to", upper, "--amount", "2", "--rpc", rpc);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain(`to ${payee}`);
    expect(JSON.parse((await pouw("balance", upper, "--rpc", rpc, "--json")).stdout)).toMatchObject({ address: payee, balance: "2000000000" });

    const hex = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
    const toHex = await pouw("tx", "transfer", "--from", "dev:2", "--to", hex, "--amount", "1", "--rpc", rpc);
    expect(toHex.code).toBe(1);
    expect(toHex.stderr.trim()).toBe(`error: --to ${hex} is an EVM/hex address, not a pouw address (pouw1…)`);
    expect((await pouw("balance", hex, "--rpc", rpc)).stderr.trim()).toBe(`error: ${hex} is an EVM/hex address, not a pouw address (pouw1…)`);
    expect((await pouw("tx", "delegate", "--from", "dev:2", "--validator", hex, "--amount", "1", "--rpc", rpc)).stderr).toMatch(/--validator 0x90F7\w+ is an EVM\/hex address/);
    const mixed = payee.slice(0, 10) + payee.slice(10).toUpperCase();
    const m = await pouw("tx", "transfer", "--from", "dev:2", "--to", mixed, "--amount", "1", "--rpc", rpc);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/--to pouw1\S+ is not a valid pouw address \(invalid bech32m address: mixed upper and lower case/);
    expect(m.stderr).not.toMatch(/keys new/);
    const fromAddr = await pouw("tx", "transfer", "--from", payee, "--to", "dev:3", "--amount", "1", "--rpc", rpc);
    expect(fromAddr.stderr).toMatch(/is an address, not a key: signing needs a key name/);
  });

  it("jobs: create on mnist-10k, list, show and cancel; an unknown dataset and a bad shape are refused before any fee", async () => {
    const created = await pouw("job", "create", "--from", "dev:8", "--reward", "25", "--bond", "3", "--steps", "120", "--segment", "20", "--rpc", rpc);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/create a job on mnist-10k: MLP 784-128-10, 120 steps of 64 \(7 checkpoints\), reward 25 POUW/);
    const id = /job id (0x[0-9a-f]{64})/.exec(created.stdout)![1]!;
    const list = JSON.parse((await pouw("job", "list", "--status", "open", "--rpc", rpc, "--json")).stdout) as { total: number; jobs: { id: string; reward: string }[] };
    expect(list.jobs.find((j) => j.id === id)?.reward).toBe("25000000000");
    const shown = await pouw("job", "show", id, "--rpc", rpc);
    expect(shown.stdout).toMatch(/OPEN/);
    expect(shown.stdout).toMatch(/target accuracy ≥ 90 %; reward 25 POUW; worker bond 3 POUW/);
    const info = JSON.parse((await pouw("status", "--rpc", rpc, "--json")).stdout) as { totals: { escrowed: string } };
    expect(BigInt(info.totals.escrowed) >= 25_000_000_000n).toBe(true);

    const notMine = await pouw("job", "cancel", id, "--from", "dev:9", "--rpc", rpc);
    expect(notMine.code).not.toBe(0);
    expect(notMine.stdout).toMatch(/FAILED \(NOT_REQUESTER\)/);
    const cancelled = await pouw("job", "cancel", id, "--from", "dev:8", "--rpc", rpc, "--json");
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse((await pouw("job", "show", id, "--rpc", rpc, "--json")).stdout).job.status).toBe("cancelled");

    const unknown = await pouw("job", "create", "--from", "dev:8", "--reward", "1", "--dataset", "cifar-10", "--rpc", rpc);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/dataset "cifar-10" is not registered on pouw-devnet-1; it has mnist-10k/);
    const shape = await pouw("job", "create", "--from", "dev:8", "--reward", "1", "--layers", "100,10", "--rpc", rpc);
    expect(shape.code).not.toBe(0);
    expect(shape.stderr).toMatch(/first layer has 100 inputs, the dataset 784 features/);
  });

  it("stakes: create-validator, delegate, undelegate, withdraw-rewards; validators and delegations show it; a failed body exits non-zero", async () => {
    const consensus = AccountKey.fromLabel("cli-test/consensus");
    await pouw("keys", "import", "--name", "cons", "--seed", "0x" + Buffer.from(consensus.seed).toString("hex"), "--insecure-plaintext");
    const created = await pouw("tx", "create-validator", "--from", "dev:5", "--consensus-key", "cons", "--amount", "10", "--commission", "7.5", "--rpc", rpc, "--json");
    expect(created.code, created.stderr).toBe(0);
    expect((JSON.parse(created.stdout) as { receipt: { status: string } }).receipt.status).toBe("success");
    const delegated = await pouw("tx", "delegate", "--from", "dev:6", "--validator", consensus.bech32, "--amount", "4", "--rpc", rpc);
    expect(delegated.code, delegated.stderr).toBe(0);
    expect(delegated.stdout).toMatch(/delegate 4 POUW to pouw1/);
    const all = JSON.parse((await pouw("validators", "--all", "--json", "--rpc", rpc)).stdout) as { candidates: { address: string; commissionBps: number; tokens: string }[] };
    expect(all.candidates.find((v) => v.address === consensus.bech32)).toMatchObject({ commissionBps: 750, tokens: "14000000000" });
    const text = await pouw("delegations", "dev:6", "--rpc", rpc);
    expect(text.stdout).toMatch(new RegExp(`${consensus.bech32}: 4 POUW`));
    const un = await pouw("tx", "undelegate", "--from", "dev:6", "--validator", consensus.bech32, "--shares", "all", "--rpc", rpc);
    expect(un.code, un.stderr).toBe(0);
    const after = JSON.parse((await pouw("delegations", "dev:6", "--json", "--rpc", rpc)).stdout) as { delegations: unknown[]; unbonding: { amount: string }[] };
    expect(after.delegations).toEqual([]);
    expect(after.unbonding.map((u) => u.amount)).toEqual(["4000000000"]);
    const nothing = await pouw("tx", "withdraw-rewards", "--from", "dev:5", "--rpc", rpc);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toMatch(/withdrew [\d.]+ POUW \(balance [\d.]+ → [\d.]+ POUW\)/);
    // A delegator of an active validator: it says how much it withdrew, at least what was pending before it sent.
    const active = (JSON.parse((await pouw("validators", "--json", "--rpc", rpc)).stdout) as { active: { address: string }[] }).active[0]!.address;
    expect((await pouw("tx", "delegate", "--from", "dev:7", "--validator", active, "--amount", "3", "--rpc", rpc)).code).toBe(0);
    const pending = async () => (JSON.parse((await pouw("delegations", "dev:7", "--json", "--rpc", rpc)).stdout) as { delegations: { pendingRewards: string }[] }).delegations[0]!.pendingRewards;
    await until(pending, (p) => BigInt(p) > 0n, 30_000, "rewards to accrue", 200);
    const before = BigInt(await pending());
    const withdrew = await pouw("tx", "withdraw-rewards", "--from", "dev:7", "--rpc", rpc);
    expect(withdrew.code, withdrew.stderr).toBe(0);
    const m = /withdrew ([\d.]+) POUW \(balance ([\d.]+) → ([\d.]+) POUW\)/.exec(withdrew.stdout);
    expect(m, withdrew.stdout).not.toBeNull();
    const units = (s: string) => parsePouw(s);
    expect(units(m![1]!)).toBeGreaterThanOrEqual(before);
    expect(units(m![1]!)).toBeGreaterThan(0n);
    // The body fails, the fee is paid, the command says why and exits non-zero (never jailed: the window is long).
    const unjail = await pouw("tx", "unjail", "--from", "dev:5", "--rpc", rpc);
    expect(unjail.code).not.toBe(0);
    expect(unjail.stdout).toMatch(/FAILED \(NOT_JAILED\) in block \d+; fee/);
  });
});
