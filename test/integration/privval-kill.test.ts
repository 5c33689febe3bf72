/**
 * Double-sign safety under crashes: four validator processes; each is killed
 * with SIGKILL 20 times at random moments (one down at a time, restarted at
 * once) while an observer on the gossip network records every vote. No
 * validator ever signs two different votes for the same (height, round, type),
 * and the chain keeps finalizing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDevnet } from "../../node/cli/devnet.ts";
import { loadHome, peerIdOf } from "../../node/cli/home.ts";
import { PouwClient } from "../../node/client/client.ts";
import { topicNames } from "../../node/network/topics.ts";
import { Vote } from "../../node/types/block.ts";
import { toHex } from "../../node/util/hex.ts";
import { freePortRange, startChild, type ChildNode } from "../helpers/child.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";
import { mulberry32 } from "../helpers/rng.ts";

const N = 4;
const KILLS_EACH = 20;

describe("validators killed with SIGKILL", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-privval-kill-"));
  const children: (ChildNode | null)[] = Array(N).fill(null);
  afterAll(async () => {
    for (const c of children) c?.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c?.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`never sign two conflicting votes across ${KILLS_EACH} kills each`, async () => {
    const rpcBase = await freePortRange(N);
    const p2pBase = await freePortRange(N);
    const { homes } = await prepareDevnet(N, dir, rpcBase, p2pBase);
    const clients = homes.map((_, i) => new PouwClient(`http://127.0.0.1:${rpcBase + i}/`));
    const start = async (i: number) => (children[i] = await startChild(homes[i]!, rpcBase + i, ["--block-time", "300"]));
    await Promise.all(homes.map((_, i) => start(i)));

    // The observer: a plain gossip peer recording every vote it sees.
    const chainId = JSON.parse(loadHome(homes[0]!).genesisJson).chainId as string;
    const observer = await createGossipPeer();
    const seen = new Map<string, Set<string>>();
    let votes = 0;
    observer.services.pubsub.subscribe(topicNames(chainId).vote);
    observer.services.pubsub.addEventListener("gossipsub:message", (e) => {
      try {
        const v = Vote.deserialize(e.detail.msg.data);
        const k = `${toHex(v.validator)}/${v.height}/${v.round}/${v.type}`;
        const s = seen.get(k) ?? new Set<string>();
        s.add(toHex(v.blockHash));
        seen.set(k, s);
        votes++;
      } catch {
        // not a vote
      }
    });
    const dialAll = () => homes.map((h, i) => observer.dial(multiaddr(`/ip4/127.0.0.1/tcp/${p2pBase + i}/p2p/${peerIdOf(loadHome(h).nodeKey!)}`)).catch(() => undefined));
    await Promise.all(dialAll());

    try {
      const h0 = (await clients[0]!.chainInfo()).height;
      const rng = mulberry32(20261125);
      for (let k = 0; k < N * KILLS_EACH; k++) {
        const i = k % N;
        await new Promise((r) => setTimeout(r, 100 + Math.floor(rng() * 900)));
        children[i]!.proc.kill("SIGKILL");
        await children[i]!.exited;
        await start(i);
        if (k % N === N - 1) await Promise.all(dialAll()); // the observer reconnects to restarted nodes
      }
      // Everyone back and finalizing together.
      const h1 = Math.max(...(await Promise.all(clients.map((c) => c.chainInfo().then((x) => x.height)))));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const hs = await Promise.all(clients.map((c) => c.chainInfo().then((x) => x.height)));
        if (hs.every((h) => h >= h1 + 2)) break;
        if (Date.now() > deadline) throw new Error(`not all validators progressed: ${hs.join(",")}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(h1).toBeGreaterThan(h0);
      expect(votes).toBeGreaterThan(100);
      const conflicts = [...seen.entries()].filter(([, s]) => s.size > 1).map(([k, s]) => `${k}: ${[...s].join(" vs ")}`);
      expect(conflicts).toEqual([]);
    } finally {
      await observer.stop();
    }
  });
});
