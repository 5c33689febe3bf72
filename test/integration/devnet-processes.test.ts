/**
 * Four validator processes on 127.0.0.1 (`pouw devnet` homes, real libp2p):
 * 50+ blocks; a transaction sent to any node finalizes; one killed, the rest
 * go on; restarted, it syncs and signs again; two killed, nothing commits and
 * nothing forks; restarted, the chain resumes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDevnet } from "../../node/cli/devnet.ts";
import { PouwClient } from "../../node/client/client.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../../node/crypto/keys.ts";
import { freePortRange, startChild, type ChildNode } from "../helpers/child.ts";
import { signedTransfer } from "../helpers/tx.ts";

const N = 4;

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("four validator processes", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-devnet4-"));
  const children: (ChildNode | null)[] = Array(N).fill(null);
  let homes: string[] = [];
  let rpcBase = 0;
  const clients: PouwClient[] = [];
  afterAll(async () => {
    for (const c of children) c?.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c?.exited));
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (i: number) => (children[i] = await startChild(homes[i]!, rpcBase + i, ["--block-time", "250"]));
  const kill = async (i: number) => {
    children[i]!.proc.kill("SIGKILL");
    await children[i]!.exited;
    children[i] = null;
  };
  const heights = () => Promise.all(clients.map((c, i) => (children[i] ? c.chainInfo().then((x) => x.height) : Promise.resolve(-1))));

  it("runs, survives one crash, syncs the restarted node, halts safely without quorum and resumes", async () => {
    rpcBase = await freePortRange(N);
    const p2pBase = await freePortRange(N);
    ({ homes } = await prepareDevnet(N, dir, rpcBase, p2pBase));
    for (let i = 0; i < N; i++) clients.push(new PouwClient(`http://127.0.0.1:${rpcBase + i}/`));
    await Promise.all(homes.map((_, i) => start(i)));
    await until(async () => (await heights()).every((h) => h >= 5), 60_000, "height 5 on all");

    // A transaction sent to validator 3 finalizes (seen through validator 0).
    const info = await clients[0]!.chainInfo();
    const from = AccountKey.fromLabel(devAccountLabel(5));
    const to = AccountKey.fromLabel(devAccountLabel(6));
    const tx = signedTransfer(from, { chainId: info.chainId, nonce: 0n, to: to.address, amount: 123n });
    await clients[3]!.sendRawTransaction(tx.bytes);
    await until(async () => (await clients[0]!.getTransaction(tx.env.hashHex))?.status === "finalized", 30_000, "the transfer to finalize");

    // One validator killed: the other three go on.
    await kill(3);
    const h1 = Math.max(...(await heights()));
    await until(async () => (await heights()).slice(0, 3).every((h) => h >= h1 + 5), 60_000, "5 blocks without validator 3");

    // Restarted, it syncs to the others and signs again.
    await start(3);
    const target = Math.max(...(await heights()));
    await until(async () => (await clients[3]!.chainInfo()).height >= target, 60_000, "validator 3 to sync");
    const v3 = AccountKey.fromLabel(devValidatorLabel(3)).bech32;
    const signedBy3 = async () => {
      const head = (await clients[0]!.chainInfo()).height;
      const b = await clients[0]!.getBlock(head);
      return b.commit?.signatures.some((s) => s.validator === v3) ?? false;
    };
    await until(signedBy3, 60_000, "a commit signed by validator 3 after its restart");

    // Two killed: nothing commits, and nothing forks.
    await kill(2);
    await kill(3);
    await new Promise((r) => setTimeout(r, 1500)); // a height in flight may finish
    const halted = (await heights()).slice(0, 2);
    await new Promise((r) => setTimeout(r, 4000));
    expect((await heights()).slice(0, 2)).toEqual(halted);
    const common = Math.min(...halted);
    for (let h = Math.max(1, common - 5); h <= common; h++) {
      const [a, b] = await Promise.all([clients[0]!.getBlock(h), clients[1]!.getBlock(h)]);
      expect(a.hash, `height ${h}`).toBe(b.hash);
    }

    // Both back: the chain resumes, and over the whole run at least 50 blocks were committed.
    await Promise.all([start(2), start(3)]);
    await until(async () => (await heights()).every((h) => h >= Math.max(...halted) + 3), 90_000, "the chain to resume");
    await until(async () => (await heights()).every((h) => h >= 50), 120_000, "50 blocks");
    const top = Math.min(...(await heights()));
    const hashes = await Promise.all(clients.map((c) => c.getBlock(top).then((b) => b.hash)));
    expect(new Set(hashes).size).toBe(1);
  });
});
