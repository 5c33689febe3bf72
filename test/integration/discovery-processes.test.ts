/**
 * The case as operators run it (issue 14): real `pouw start`
 * validator processes where validators 1-3 are given only validator 0 as
 * their peer. Before discovery each of them kept that one peer; now every
 * validator reaches the other three (and proves itself a validator to them)
 * within 30 s, and with validator 0 SIGKILLed the other three, still
 * connected to each other, keep committing.
 */
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDevnet } from "../../node/cli/devnet.ts";
import { freePortRange, startChild, type ChildNode } from "../helpers/child.ts";

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("validator processes given one bootstrap peer", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-discovery-proc-"));
  const children: (ChildNode | null)[] = [];
  afterAll(async () => {
    for (const c of children) c?.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c?.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it("find each other within 30 s and keep committing without validator 0", async () => {
    const rpcBase = await freePortRange(4);
    const p2pBase = await freePortRange(4);
    const { homes, rpc } = await prepareDevnet(4, dir, rpcBase, p2pBase);
    // Validator 0: no peers; validators 1-3: validator 0 only.
    const config = (i: number) => JSON.parse(readFileSync(join(homes[i]!, "config.json"), "utf8")) as { p2p: { peers: string[] } };
    const seed = config(1).p2p.peers.find((a) => a.includes(`/tcp/${p2pBase}/`))!;
    expect(seed).toBeDefined();
    for (const [i, home] of homes.entries()) {
      const c = config(i);
      c.p2p.peers = i === 0 ? [] : [seed];
      writeFileSync(join(home, "config.json"), JSON.stringify(c, null, 2));
    }
    const started = Date.now();
    for (const [i, home] of homes.entries()) children.push(await startChild(home, rpcBase + i, ["--block-time", "500", "--target-peers", "8"]));
    await until(async () => (await Promise.all(rpc.map((u) => metric(u, "pouw_p2p_peers")))).every((n) => n >= 3), 30_000 - (Date.now() - started), "every validator to have 3 peers");
    await until(async () => (await Promise.all(rpc.map((u) => metric(u, "pouw_p2p_validator_peers")))).every((n) => n === 3), 10_000, "3 proven validator peers each");
    expect(readFileSync(join(homes[2]!, "peers.json"), "utf8")).toContain('"validator": true');

    children[0]!.proc.kill("SIGKILL");
    await children[0]!.exited;
    children[0] = null;
    const rest = rpc.slice(1);
    const h0 = Math.max(...(await Promise.all(rest.map((u) => metric(u, "pouw_head_height")))));
    await until(async () => (await Promise.all(rest.map((u) => metric(u, "pouw_head_height")))).every((h) => h >= h0 + 3), 60_000, "three more blocks on validators 1-3");
    // Still connected to each other (node 0 gone), no more dials needed to get there.
    for (const u of rest) expect(await metric(u, "pouw_p2p_validator_peers"), u).toBe(2);
  });
});
