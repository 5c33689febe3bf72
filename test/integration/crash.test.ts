/**
 * Crash safety: a child-process validator under transfer load is SIGKILLed
 * at seeded random moments 20 times. After each restart its head is at least
 * the last head seen finalized, its state root matches its header, and no
 * transaction reported finalized is lost.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { initHome } from "../../node/cli/home.ts";
import type { PouwClient } from "../../node/client/client.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { mulberry32 } from "../helpers/rng.ts";
import { signedTransfer } from "../helpers/tx.ts";

const KILLS = 20;

describe("SIGKILL under load", () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-crash-"));
  let child: ChildNode | null = null;
  afterAll(() => {
    child?.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses nothing finalized across ${KILLS} kills`, { timeout: 300_000 }, async () => {
    const net = makeTestNet({ accounts: 8, label: "crash" });
    const genesisPath = join(dir, "genesis-in.json");
    writeFileSync(genesisPath, net.genesisJson);
    const home = join(dir, "home");
    const port = await freePort();
    await initHome(home, { genesisPath, validatorKey: net.validator, rpcPort: port });
    const rng = mulberry32(20261124);
    const finalized = new Map<string, number>(); // tx hash -> block height
    let lastFinalHeight = 0;
    let restartsChecked = 0;

    for (let kill = 0; kill <= KILLS; kill++) {
      child = await startChild(home, port, ["--block-time", "100"]);
      const client: PouwClient = child.client;
      const info = await client.chainInfo();
      expect(info.height).toBeGreaterThanOrEqual(lastFinalHeight);
      // The node is already producing again: read the block at the height chainInfo reported.
      const head = await client.getBlock(info.height);
      expect(head.stateRoot).toBe(info.stateRoot);
      expect(info.stateRootComputed).toBe(info.stateRoot);
      const hashes = [...finalized.keys()];
      for (let i = 0; i < hashes.length; i += 50) {
        const got = await Promise.all(hashes.slice(i, i + 50).map((h) => client.getTransaction(h)));
        got.forEach((t, j) => {
          expect(t?.status, `tx ${hashes[i + j]} after restart ${kill}`).toBe("finalized");
          if (t?.status === "finalized") expect(t.blockHeight).toBe(finalized.get(hashes[i + j]!));
        });
      }
      if (kill > 0) restartsChecked++;
      if (kill === KILLS) break;

      // Load until a random moment, then SIGKILL.
      const nonces = await Promise.all(net.accounts.map(async (k) => BigInt((await client.getAccount(k.bech32, { proof: false })).nonce)));
      const outstanding: string[] = [];
      const killAt = Date.now() + 200 + Math.floor(rng() * 1300);
      let round = 0;
      while (Date.now() < killAt) {
        for (let i = 0; i < net.accounts.length; i++) {
          const { bytes } = signedTransfer(net.accounts[i]!, {
            nonce: nonces[i]!,
            to: net.accounts[(i + 1 + round) % net.accounts.length]!.address,
            amount: 1n,
            maxFeePerGas: 1000n,
          });
          try {
            outstanding.push(await client.sendRawTransaction(bytes));
            nonces[i]!++;
          } catch {
            /* e.g. mempool full; retried next round */
          }
        }
        round++;
        const statuses = await Promise.all(outstanding.map((h) => client.getTransaction(h)));
        for (let j = statuses.length - 1; j >= 0; j--) {
          const s = statuses[j];
          if (s?.status === "finalized") {
            finalized.set(s.hash, s.blockHeight);
            if (s.blockHeight > lastFinalHeight) lastFinalHeight = s.blockHeight;
            outstanding.splice(j, 1);
          }
        }
        const h = (await client.chainInfo()).height;
        if (h > lastFinalHeight) lastFinalHeight = h;
      }
      child.proc.kill("SIGKILL");
      await child.exited;
      child = null;
    }
    child?.proc.kill("SIGKILL");
    expect(restartsChecked).toBe(KILLS);
    expect(finalized.size).toBeGreaterThan(KILLS * 5);
  });
});
