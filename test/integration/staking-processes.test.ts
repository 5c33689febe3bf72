/**
 * Staking on real processes (`pouw start` children on 127.0.0.1, libp2p),
 * with short epochs and a short liveness window:
 * - a new validator joins with CreateValidator and a delegation, enters the
 *   set at the next epoch boundary and its signatures appear in commits;
 * - a validator offline past the window is jailed and slashed 0.1 %, leaves
 *   the set at the epoch, and Unjail brings it back;
 * - a validator run by two processes with one key (test-only) equivocates:
 *   evidence lands in a block, 5 % of its tokens and of its delegator's value
 *   is slashed, it is tombstoned and removed at the next epoch, and the
 *   chain goes on.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDevnet } from "../../node/cli/devnet.ts";
import { writeNodeKey } from "../../node/cli/home.ts";
import { PouwClient } from "../../node/client/client.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../../node/crypto/keys.ts";
import { freePortRange, startChild, type ChildNode } from "../helpers/child.ts";
import { body, signedTx } from "../helpers/tx.ts";

const N = 4;
const PR = 1_000_000_000n;
// 30 of 40 blocks (6 s) may be missed before a downtime jail: validator 3 is down for a few seconds while its twin is set up.
const PARAMS = { epochLength: 10, signedBlocksWindow: 40, minSignedPerWindowBps: 2500, downtimeJailBlocks: 10, unbondingBlocks: 200 };

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe("staking on four validator processes", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-staking-"));
  const children = new Map<string, ChildNode>();
  afterAll(async () => {
    for (const c of children.values()) c.proc.kill("SIGKILL");
    await Promise.all([...children.values()].map((c) => c.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it("joins a validator, jails and unjails an absent one, and slashes, tombstones and removes an equivocating one", async () => {
    // One range for both, so RPC and P2P ports cannot collide.
    const rpcBase = await freePortRange(2 * (N + 2));
    const p2pBase = rpcBase + N + 2;
    const { homes } = await prepareDevnet(N, dir, rpcBase, p2pBase, { params: PARAMS, extra: 1 });
    const start = async (name: string, home: string, port: number, blockTime = 200) => children.set(name, await startChild(home, port, ["--block-time", String(blockTime)]));
    const kill = async (name: string) => {
      const c = children.get(name)!;
      c.proc.kill("SIGKILL");
      await c.exited;
      children.delete(name);
    };
    await Promise.all(homes.slice(0, N).map((h, i) => start(`v${i}`, h, rpcBase + i)));
    const client = new PouwClient(`http://127.0.0.1:${rpcBase}/`);
    const chainId = (await client.chainInfo()).chainId;
    const vals = Array.from({ length: N + 1 }, (_, i) => AccountKey.fromLabel(devValidatorLabel(i)));
    const dev = (i: number) => AccountKey.fromLabel(devAccountLabel(i));
    const nonces = new Map<string, bigint>();
    const send = async (key: AccountKey, b: Parameters<typeof signedTx>[1]["body"]) => {
      const n = nonces.get(key.bech32) ?? BigInt((await client.getAccount(key.bech32, { proof: false })).nonce);
      nonces.set(key.bech32, n + 1n);
      const { env, bytes } = signedTx(key, { chainId, nonce: n, body: b });
      await client.sendRawTransaction(bytes);
      const final = await until(() => client.getTransaction(env.hashHex), (t) => t?.status === "finalized" || t?.status === "rejected", 30_000, `tx ${env.hashHex}`);
      expect(final!.status).toBe("finalized");
      if (final!.status === "finalized") expect(final!.receipt.status, `${final!.receipt.error}`).toBe("success");
      return final!;
    };
    const active = async () => (await client.getValidators()).active.map((v) => v.address);
    const signedCommit = async (who: string) => {
      const head = (await client.chainInfo()).height;
      const b = await client.getBlock(head);
      return b.commit?.signatures.some((s) => s.validator === who) ?? false;
    };
    await until(() => client.chainInfo(), (i) => i.height >= 3, 60_000, "height 3");
    // Fees for the validators' own accounts (operators of the genesis validators).
    for (const i of [2, 3]) await send(dev(0), { selector: 0, value: { to: vals[i]!.address, amount: 1000n * PR } });

    // ---- a new validator joins
    const joiner = vals[N]!;
    const created = await send(dev(7), body.createValidator(joiner.publicKey, 150n * PR, 500));
    await send(dev(8), body.delegate(joiner.address, 50n * PR));
    const record = await client.getValidator(joiner.bech32);
    expect(record).toMatchObject({ operator: dev(7).bech32, tokens: (200n * PR).toString() });
    expect(["candidate", "active"]).toContain(record.status); // 10-block epochs pass quickly
    await start("joiner", homes[N]!, rpcBase + N);
    await until(active, (a) => a.includes(joiner.bech32), 60_000, "the joiner in the active set");
    await until(() => signedCommit(joiner.bech32), Boolean, 60_000, "a commit signed by the joiner");
    // It entered at an epoch boundary after its registration: the first header whose set holds it follows one.
    const createdAt = created.status === "finalized" ? created.blockHeight : 0;
    // (A validator created in a boundary block itself is elected at the end of that block.)
    const boundary = Math.ceil(createdAt / PARAMS.epochLength) * PARAMS.epochLength;
    const setHash = (await client.getBlock((await client.chainInfo()).height)).validatorsHash;
    let firstWith = (await client.chainInfo()).height;
    while (firstWith > 1 && (await client.getBlock(firstWith - 1)).validatorsHash === setHash) firstWith--;
    expect(firstWith).toBeGreaterThan(createdAt);
    expect((firstWith - 1) % PARAMS.epochLength).toBe(0);
    expect(firstWith - 1).toBeGreaterThanOrEqual(boundary);

    // ---- downtime: validator 2 offline past the window
    const v2 = vals[2]!;
    // Everyone started in time: nobody was jailed while the processes came up.
    expect((await client.getValidators({ all: true })).candidates!.filter((v) => v.jailed).map((v) => v.address)).toEqual([]);
    const tokens2 = BigInt((await client.getValidator(v2.bech32)).tokens);
    await kill("v2");
    const jailed = await until(() => client.getValidator(v2.bech32), (v) => v.jailed, 60_000, "validator 2 jailed");
    expect(BigInt(jailed.tokens)).toBe(tokens2 - (tokens2 * 10n) / 10_000n);
    await until(active, (a) => !a.includes(v2.bech32), 60_000, "validator 2 out of the set");
    await start("v2", homes[2]!, rpcBase + 2);
    await until(() => client.chainInfo(), (i) => i.height >= jailed.jailedUntil!, 60_000, "the end of the jail time");
    await send(v2, body.unjail());
    await until(active, (a) => a.includes(v2.bech32), 60_000, "validator 2 back in the set");
    await until(() => signedCommit(v2.bech32), Boolean, 60_000, "a commit signed by validator 2 after Unjail");

    // ---- equivocation: validator 3 run twice with one key
    const v3 = vals[3]!;
    await send(dev(9), body.delegate(v3.address, 40n * PR));
    const before = await client.getValidator(v3.bech32);
    const delegated = (await client.getDelegations(dev(9).bech32)).delegations.find((d) => d.validator === v3.bech32)!;
    // Copy validator 3's home while it is stopped (a live LevelDB copy may be torn), then run both.
    await kill("v3");
    const twin = join(dir, "twin3");
    cpSync(homes[3]!, twin, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(twin, "config.json"), "utf8"));
    cfg.p2p.listen = [`/ip4/127.0.0.1/tcp/${p2pBase + N + 1}`];
    writeFileSync(join(twin, "config.json"), JSON.stringify(cfg));
    writeNodeKey(twin, (await generateKeyPair("Ed25519")).raw);
    // Identical twins starting a height at the same millisecond build identical blocks and cast identical votes.
    // The twin runs a shorter block time: when validator 3 proposes, the twin proposes and prevotes its own block
    // first, and the original then proposes and prevotes another for the same height and round.
    await Promise.all([start("v3", homes[3]!, rpcBase + 3), start("twin3", twin, rpcBase + N + 1, 100)]);
    const slashed = await until(() => client.getValidator(v3.bech32), (v) => v.tombstoned, 120_000, "validator 3 tombstoned").catch((e) => {
      const logs = [...children].map(([name, c]) => `--- ${name}:\n${c.output().split("\n").filter((l) => /vidence|onflict|nvalid/.test(l)).slice(-8).join("\n").slice(0, 3000)}`);
      throw new Error(`${(e as Error).message}\n${logs.join("\n")}`);
    });
    await kill("twin3");
    expect(slashed.status).toBe("tombstoned");
    expect(BigInt(slashed.tokens)).toBe(BigInt(before.tokens) - (BigInt(before.tokens) * 500n) / 10_000n);
    const after = (await client.getDelegations(dev(9).bech32)).delegations.find((d) => d.validator === v3.bech32)!;
    expect(after.shares).toBe(delegated.shares);
    const lost = BigInt(delegated.value) - BigInt(after.value);
    expect(lost - (BigInt(delegated.value) * 500n) / 10_000n <= 1n).toBe(true);
    // The evidence is in a block.
    let found = false;
    for (let h = (await client.chainInfo()).height; h > 0 && !found; h--) found = (await client.getBlock(h)).evidence.some((e) => e.validator === v3.bech32);
    expect(found).toBe(true);
    await until(active, (a) => !a.includes(v3.bech32), 60_000, "validator 3 out of the set");
    // The chain goes on without it.
    const h0 = (await client.chainInfo()).height;
    await until(() => client.chainInfo(), (i) => i.height >= h0 + 5, 60_000, "5 more blocks");
    const tx = await send(dev(1), { selector: 0, value: { to: dev(2).address, amount: 1n } });
    expect(tx.status).toBe("finalized");
  });
});
