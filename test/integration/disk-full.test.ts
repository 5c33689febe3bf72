/**
 * Fail-stop on a full disk: a `pouw start` validator whose home is a small
 * tmpfs keeps producing until the filesystem is filled under it; it must then
 * exit non-zero (74, EX_IOERR) within 5 s with exactly one line saying what
 * failed. With the filler removed it restarts at (at least) the same head,
 * its state root checks out, and it produces again.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { initHome } from "../../node/cli/home.ts";
import { EXIT_STORAGE_FAULT } from "../../node/cli/start.ts";
import { freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { fillFilesystem, mountTmpfs, unmountTmpfs } from "../helpers/tmpfs.ts";

const EXIT_WITHIN_MS = 5000;

async function waitHeight(child: ChildNode, height: number, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const h = (await child.client.chainInfo()).height;
    if (h >= height) return h;
    if (Date.now() > deadline) throw new Error(`height ${h} < ${height} after ${ms} ms:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("disk full", () => {
  const dir = mountTmpfs(40, "disk-full");
  let child: ChildNode | null = null;
  afterAll(() => {
    child?.proc.kill("SIGKILL");
    if (dir) unmountTmpfs(dir);
  });

  it.skipIf(!dir)("stops within 5 s with one storage-fault line, then restarts at the same head once there is room", { timeout: 120_000 }, async () => {
    const net = makeTestNet({ accounts: 2, label: "disk-full" });
    const genesisPath = join(dir!, "genesis-in.json");
    writeFileSync(genesisPath, net.genesisJson);
    const home = join(dir!, "home");
    const port = await freePort();
    await initHome(home, { genesisPath, validatorKey: net.validator, rpcPort: port });

    child = await startChild(home, port, ["--block-time", "100"]);
    await waitHeight(child, 5);
    const seen = await child.client.chainInfo();

    const filler = fillFilesystem(dir!);
    const filledAt = Date.now();
    const code = await Promise.race([child.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), EXIT_WITHIN_MS))]);
    const took = Date.now() - filledAt;
    const out = child.output();
    if (code === "hung") child.proc.kill("SIGKILL");
    expect(code, `did not exit within ${EXIT_WITHIN_MS} ms of the disk filling:\n${out.slice(-4000)}`).toBe(EXIT_STORAGE_FAULT);
    expect(took).toBeLessThan(EXIT_WITHIN_MS);
    child = null;

    const lines = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; what?: string; path?: string; errno?: string; freeBytes?: number });
    const faults = lines.filter((l) => l.msg.startsWith("Storage fault:"));
    expect(faults, out.slice(-4000)).toHaveLength(1);
    const f = faults[0]!;
    console.log(`disk full after ${took} ms: ${f.msg}`);
    expect(f.level).toBe(60); // pino fatal
    expect(f.what).toMatch(/privval state|block file|chain database|consensus WAL|blob store|anchor signature store/);
    expect(f.path?.startsWith(home)).toBe(true);
    // ENOSPC, or a short write (the disk ran out partway through one; the OS would say ENOSPC on the next).
    expect(f.errno === "ENOSPC" || /: short write/.test(f.msg), f.msg).toBe(true);
    const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(f.msg).toMatch(new RegExp(`^Storage fault: ${esc(f.what!)} at ${esc(f.path!)}: .+; free space on that filesystem: \\d+ bytes \\(statfs\\); stopping$`));
    expect(f.freeBytes).toBeLessThan(64 * 1024);

    // Room again: the same chain, at least as far as it was seen, with a state root that checks, producing.
    rmSync(filler);
    child = await startChild(home, port, ["--block-time", "100"]);
    const info = await child.client.chainInfo();
    expect(info.height).toBeGreaterThanOrEqual(seen.height);
    expect(info.stateRootComputed).toBe(info.stateRoot);
    // The block last seen before the fault is still there, unchanged.
    expect((await child.client.getBlock(seen.height)).hash).toBe(seen.headHash);
    await waitHeight(child, info.height + 3);
    child.proc.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    child = null;
  });
});
