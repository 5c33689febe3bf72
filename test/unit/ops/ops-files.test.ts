/**
 * ops/: the Prometheus alert rules load and pass their unit tests under the
 * real promtool (Debian's `prometheus`, installed by .ci/run), and the
 * Grafana dashboard is well formed and asks only for series a live node
 * exports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PouwNode } from "../../../node/node.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const OPS = join(dirname(fileURLToPath(import.meta.url)), "../../../ops");
const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(OPS, "grafana/pouw-dashboard.json"), "utf8")) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
const alerts = readFileSync(join(OPS, "prometheus/alerts.yml"), "utf8");

/** Series names an expression or rule file reads (histogram suffixes folded into their family). */
function seriesNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b((?:pouw|process|nodejs)_[a-z0-9_]+)/g)) out.add(m[1]!.replace(/_(bucket|sum|count)$/, ""));
  return out;
}

describe("alert rules", () => {
  it.skipIf(!hasPromtool)("load under promtool check rules", () => {
    const out = execFileSync("promtool", ["check", "rules", join(OPS, "prometheus/alerts.yml")], { encoding: "utf8" });
    expect(out).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.skipIf(!hasPromtool)("pass their unit tests (promtool test rules): each alert quiet until its condition holds long enough, then firing with its labels and text", () => {
    const r = spawnSync("promtool", ["test", "rules", "alerts.test.yml"], { cwd: join(OPS, "prometheus"), encoding: "utf8" });
    expect(r.stdout + r.stderr).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("cover a stalled chain, a jailed or missing validator, few peers, a failing or lagging relay and a full disk", () => {
    const names = [...alerts.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    for (const a of ["PouwChainStalled", "PouwValidatorJailed", "PouwValidatorMissingBlocks", "PouwFewPeers", "PouwRelayFailing", "PouwRelayLagging", "PouwDiskNearlyFull"]) expect(names).toContain(a);
    const tests = readFileSync(join(OPS, "prometheus/alerts.test.yml"), "utf8");
    for (const a of names) expect(tests, `${a} has a unit test`).toContain(`alertname: ${a}`);
  });
});

describe("Grafana dashboard", () => {
  it("has unique panel ids, panels that do not overlap on the 24-column grid, and a query in every panel", () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = dashboard.panels.map((p) => p.gridPos);
    for (const b of boxes) expect(b.x + b.w).toBeLessThanOrEqual(24);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${dashboard.panels[i]!.title} overlaps ${dashboard.panels[j]!.title}`).toBe(false);
      }
    }
    for (const p of dashboard.panels.filter((p) => p.type !== "row")) expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(["datasource", "instance"]);
  });

  describe("against a live node's /metrics", () => {
    let node: PouwNode;
    let exported: Set<string>;
    // On disk: the data-disk series exist only for a node with a data directory.
    const dir = mkdtempSync(join(tmpdir(), "pouw-ops-files-"));
    beforeAll(async () => {
      const net = makeTestNet({ accounts: 2, label: "ops-files" });
      node = await PouwNode.create({ dataDir: dir, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: { host: "127.0.0.1", port: 0 }, metrics: true, blockTimeMs: 100 });
      await node.start();
      const text = await (await fetch(new URL("/metrics", node.rpcServer!.url))).text();
      exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    });
    afterAll(async () => {
      await node?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("every series the dashboard and the alert rules read is one the node exports", () => {
      const wanted = new Set([...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), alerts].flatMap((t) => [...seriesNames(t)]));
      expect(wanted.size).toBeGreaterThan(30);
      const missing = [...wanted].filter((n) => !exported.has(n));
      expect(missing).toEqual([]);
    });
  });
});
