/**
 * State sync as an operator meets it (issue 14, short form): a 4-validator
 * devnet of `pouw start` processes making a snapshot every 30 blocks. One
 * validator's home loses its chain (data, blocks, state, WAL; keys and config
 * kept). It first rejoins by replaying from genesis, then, wiped again, with
 * `--state-sync --trust-height --trust-hash` taken from another validator's
 * RPC: it restores a snapshot, block-syncs to the head and signs again. Both
 * join times are printed side by side.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rpc } from "../../scripts/nemesis.ts";
import { devValidatorLabel, AccountKey } from "../../node/crypto/keys.ts";
import { useClusters } from "../helpers/cluster.ts";

const EVERY = 30;
const BLOCK_MS = 100;
const startCluster = useClusters("state-sync");

function wipeChain(home: string): void {
  for (const d of ["data", "blocks", "state", "consensus-wal", "mempool.journal"]) rmSync(join(home, d), { recursive: true, force: true });
}

describe("state sync with validator processes", () => {
  it("a validator whose chain was lost rejoins by state sync from a trusted block and signs again", async () => {
    const c = await startCluster(4, BLOCK_MS);
    // The cluster started without the flag: restart them with snapshots every 30 blocks.
    for (let i = 0; i < 4; i++) {
      await c.kill(i);
    }
    await Promise.all([0, 1, 2, 3].map((i) => c.start(i, {}, ["--snapshot-every", String(EVERY)])));
    const until = async (what: string, ms: number, ok: () => Promise<boolean>) => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until("height 2 snapshots", 60_000, async () => (await c.maxHead()) >= 2 * EVERY + 5);
    const me = AccountKey.fromLabel(devValidatorLabel(3)).bech32;
    const signsAgain = async () => {
      const head = (await rpc<{ height: number }>(c.urls[0]!, "pouw_chainInfo")).height;
      const b = await rpc<{ lastCommit: { signatures: { validator: string }[] } }>(c.urls[0]!, "pouw_getBlock", [head]);
      return b.lastCommit.signatures.some((s) => s.validator === me);
    };
    const atHead = async () => {
      const [h0, h3] = await Promise.all([rpc<{ height: number }>(c.urls[0]!, "pouw_chainInfo"), rpc<{ height: number }>(c.urls[3]!, "pouw_chainInfo").catch(() => ({ height: -1 }))]);
      return h3.height >= h0.height - 1;
    };

    // 1. Replay from genesis (block sync of every block), for comparison.
    await c.kill(3);
    wipeChain(c.homes[3]!);
    let t0 = Date.now();
    await c.start(3);
    await until("validator 3 at the head by replay", 60_000, atHead);
    const replayMs = Date.now() - t0;
    const replayedFrom = c.log(3).some((l) => l.includes('"Syncing"') && l.includes('"from":0'));
    expect(replayedFrom).toBe(true);

    // 2. Wiped again; state sync from a block validator 0 reports (the operator's trusted source).
    await c.kill(3);
    wipeChain(c.homes[3]!);
    const head = (await rpc<{ height: number }>(c.urls[0]!, "pouw_chainInfo")).height;
    const trusted = await rpc<{ hash: string; height: number }>(c.urls[0]!, "pouw_getBlock", [head]);
    const mark = c.log(3).length;
    t0 = Date.now();
    await c.start(3, {}, ["--state-sync", "--trust-height", String(trusted.height), "--trust-hash", trusted.hash, "--snapshot-every", String(EVERY)], 60_000);
    await until("validator 3 at the head by state sync", 60_000, atHead);
    const stateSyncMs = Date.now() - t0;
    await until("validator 3 signing again", 30_000, signsAgain);
    const signMs = Date.now() - t0;
    const log = c.log(3).slice(mark);
    const restored = log.map((l) => (l.startsWith("{") ? (JSON.parse(l) as Record<string, unknown>) : null)).find((l) => l?.msg === "State sync: restored the state of the snapshot; block sync takes it to the head");
    expect(restored, log.slice(-20).join("\n")).toBeTruthy();
    const S = restored!.height as number;
    expect(S % EVERY).toBe(0);
    expect(S).toBeLessThanOrEqual(trusted.height);
    expect(trusted.height - S).toBeLessThan(2 * EVERY);
    // It did not replay from genesis: the block sync after the restore starts at the snapshot.
    expect(log.some((l) => l.includes('"Syncing"') && l.includes('"from":0'))).toBe(false);
    console.log(`state sync: at the head ${stateSyncMs} ms after start (snapshot ${S}, trusted ${trusted.height}), signing after ${signMs} ms; replay from genesis: ${replayMs} ms (to height ${head})`);
    // The operator's view: its health and metrics say where it came from.
    expect(await c.metric(3, "pouw_state_sync_snapshot_height")).toBe(S);
    expect(await c.metric(0, "pouw_state_snapshot_height")).toBeGreaterThanOrEqual(S);
  }, 240_000);
});
