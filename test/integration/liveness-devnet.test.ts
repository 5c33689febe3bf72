/**
 * Honest validators are never counted as missing (real `pouw start`
 * processes over libp2p on 127.0.0.1): an idle 4-validator devnet at 200 ms
 * blocks carries every validator's precommit in every lastCommit, and a
 * validator stopped for 20 s under transfer load at the devnet's 1 s blocks
 * catches up and is not jailed with the default signing window.
 */
import { describe, expect, it } from "vitest";
import { useClusters } from "../helpers/cluster.ts";
import { AccountKey, devValidatorLabel } from "../../node/crypto/keys.ts";
import { rng, rpc, TransferLoad, untilCommitAbove } from "../../scripts/nemesis.ts";

const cluster = useClusters("liveness");

type ValidatorJson = { address: string; jailed: boolean; missedBlocks: number; status: string };
const validators = (url: string) => rpc<{ candidates: ValidatorJson[] }>(url, "pouw_getValidators", [{ all: true }], 3000).then((r) => r.candidates);

/** How many blocks to run idle (1,000 by default; POUW_IDLE_BLOCKS to change). */
const IDLE_BLOCKS = Number(process.env.POUW_IDLE_BLOCKS ?? 1000);

describe("no honest validator is counted as missing", { timeout: 900_000 }, () => {
  it(`idle 4-validator devnet, ${IDLE_BLOCKS} blocks at 200 ms: every lastCommit carries all four precommits; missed counts stay 0`, async () => {
    const c = await cluster(4, 200);
    expect(await untilCommitAbove(c, IDLE_BLOCKS, IDLE_BLOCKS * 600 + 60_000), `${IDLE_BLOCKS} blocks`).not.toBeNull();
    // From block 11: the four processes come up over the first second or so, and one not yet connected when the
    // first blocks commit cannot sign them (it syncs them instead).
    const short: string[] = [];
    for (let h = 11; h <= IDLE_BLOCKS; h++) {
      const b = await rpc<{ lastCommit: { signatures: unknown[] } }>(c.urls[h % 4]!, "pouw_getBlock", [h], 5000);
      if (b.lastCommit.signatures.length !== 4) short.push(`${h}: ${b.lastCommit.signatures.length}`);
    }
    if (short.length > 0) {
      // What the validators logged around the first such height (sync, late starts, rounds).
      const h = Number(short[0]!.split(":")[0]);
      for (let i = 0; i < 4; i++) {
        const near = c.log(i).filter((l) => Math.abs(Number(/"height":(\d+)/.exec(l)?.[1] ?? -99) - h) <= 2 || /"from":\d+/.test(l));
        console.log(`validator ${i} near height ${h}:\n  ${near.slice(0, 20).join("\n  ")}`);
      }
    }
    expect(short, "blocks whose lastCommit lacks a validator").toEqual([]);
    for (const v of await validators(c.urls[0]!)) expect(v, v.address).toMatchObject({ missedBlocks: 0, jailed: false });
    await c.stopAll();
  });

  it("a validator down for 20 s under transfer load (1 s blocks, default window) catches up and is not jailed", async () => {
    const c = await cluster(4, 1000);
    expect(await untilCommitAbove(c, 3, 60_000)).not.toBeNull();
    const load = new TransferLoad(c, rng(3), 6, 20);
    load.start();
    await new Promise((r) => setTimeout(r, 5000));
    await c.kill(3);
    await new Promise((r) => setTimeout(r, 20_000));
    await c.start(3);
    const me = AccountKey.fromLabel(devValidatorLabel(3)).bech32;
    const t0 = Date.now();
    // It syncs, then signs again: its precommit is in the head's commit.
    let back = false;
    while (!back && Date.now() - t0 < 60_000) {
      const head = (await rpc<{ height: number }>(c.urls[0]!, "pouw_chainInfo")).height;
      const b = await rpc<{ lastCommit: { signatures: { validator: string }[] } }>(c.urls[0]!, "pouw_getBlock", [head]);
      back = b.lastCommit.signatures.some((s) => s.validator === me);
      if (!back) await new Promise((r) => setTimeout(r, 250));
    }
    expect(back, "validator 3 signing again within 60 s of its restart").toBe(true);
    const caughtUpMs = Date.now() - t0;
    await load.stop();
    const v3 = (await validators(c.urls[0]!)).find((v) => v.address === me)!;
    console.log(`validator 3: signing again ${caughtUpMs} ms after its restart; missed ${v3.missedBlocks} of the window; ${load.accepted.size} transfers accepted`);
    expect(v3.jailed).toBe(false);
    expect(v3.status).toBe("active");
    expect(v3.missedBlocks).toBeLessThan(40);
    await c.stopAll();
  });
});
