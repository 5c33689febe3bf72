/**
 * `pouw start --pruning` and config.json `pruning`: the flag over the config
 * over the role's default (a validator keeps 100,000 blocks; a node without a
 * validator key and a devnet keep everything); bad values are one clear error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_HOME_CONFIG, readConfig } from "../../../node/cli/home.ts";
import { resolvePruning } from "../../../node/cli/start.ts";

describe("--pruning", () => {
  it("flag over config over the role's default", () => {
    expect(resolvePruning(DEFAULT_HOME_CONFIG, {}, true)).toEqual({ keep: 100_000 });
    expect(resolvePruning(DEFAULT_HOME_CONFIG, {}, false)).toBe("archive");
    expect(resolvePruning(DEFAULT_HOME_CONFIG, { devnet: true }, true)).toBe("archive");
    expect(resolvePruning({ ...DEFAULT_HOME_CONFIG, pruning: 5000 }, {}, true)).toEqual({ keep: 5000 });
    expect(resolvePruning({ ...DEFAULT_HOME_CONFIG, pruning: "archive" }, {}, true)).toBe("archive");
    expect(resolvePruning({ ...DEFAULT_HOME_CONFIG, pruning: 5000 }, { pruning: "archive" }, true)).toBe("archive");
    expect(resolvePruning(DEFAULT_HOME_CONFIG, { pruning: "50", devnet: true }, false)).toEqual({ keep: 50 });
    for (const bad of ["0", "-5", "1e3", "all", ""]) expect(() => resolvePruning(DEFAULT_HOME_CONFIG, { pruning: bad }, true)).toThrow(/--pruning must be a number of blocks to keep/);
  });

  it("config.json pruning is checked and known", () => {
    const home = mkdtempSync(join(tmpdir(), "pouw-pruning-cfg-"));
    try {
      writeFileSync(join(home, "config.json"), JSON.stringify({ ...DEFAULT_HOME_CONFIG, pruning: 2000 }));
      expect(readConfig(home)).toMatchObject({ config: { pruning: 2000 }, unknownKeys: [] });
      writeFileSync(join(home, "config.json"), JSON.stringify({ ...DEFAULT_HOME_CONFIG, pruning: "some" }));
      expect(() => readConfig(home)).toThrow(/"pruning" must be a number of blocks to keep/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
