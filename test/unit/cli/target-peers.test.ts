/** p2p.targetPeers in config.json and pouw start --target-peers over it. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOME_CONFIG, readConfig, type HomeConfig } from "../../../node/cli/home.ts";
import { resolveP2p } from "../../../node/cli/start.ts";

const p2p = { listen: ["/ip4/127.0.0.1/tcp/8760"], peers: [] };
const config = (targetPeers?: number): HomeConfig => ({ ...DEFAULT_HOME_CONFIG, p2p: { ...p2p, ...(targetPeers !== undefined ? { targetPeers } : {}) } });

describe("target peers", () => {
  it("the flag overrides config.json, which overrides the default (absent: the network's 16)", () => {
    expect(resolveP2p(config(), {})!.targetPeers).toBeUndefined();
    expect(resolveP2p(config(8), {})!.targetPeers).toBe(8);
    expect(resolveP2p(config(8), { targetPeers: "24" })!.targetPeers).toBe(24);
  });

  it("refuses a flag that is not a whole number from 1 to 1000, and the flag without networking", () => {
    for (const bad of ["0", "-1", "2.5", "abc", "1001", ""]) expect(() => resolveP2p(config(), { targetPeers: bad }), bad).toThrow(/--target-peers must be a whole number from 1 to 1000/);
    expect(() => resolveP2p({ ...DEFAULT_HOME_CONFIG, p2p: null }, { targetPeers: "4" })).toThrow(/--target-peers needs networking/);
  });

  it("config.json's p2p.targetPeers is checked", () => {
    const home = mkdtempSync(join(tmpdir(), "pouw-target-"));
    writeFileSync(join(home, "config.json"), JSON.stringify({ ...DEFAULT_HOME_CONFIG, p2p: { ...p2p, targetPeers: "many" } }));
    expect(() => readConfig(home)).toThrow(/"p2p.targetPeers" must be a whole number from 1 to 1000, got "many"/);
    writeFileSync(join(home, "config.json"), JSON.stringify({ ...DEFAULT_HOME_CONFIG, p2p: { ...p2p, targetPeers: 12 } }));
    expect(readConfig(home).config.p2p!.targetPeers).toBe(12);
  });
});
