/**
 * A real Prometheus (Debian's `prometheus`, installed by .ci/run) scrapes a
 * four-validator devnet of `pouw start` processes with the shipped alert
 * rules (ops/prometheus/alerts.yml): every target is up and reports its head
 * height; then two validators are stopped, the chain stalls, and
 * PouwChainStalled fires for the two that are left.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { prepareDevnet } from "../../node/cli/devnet.ts";
import { freePort, freePortRange, startChild, type ChildNode } from "../helpers/child.ts";
import { until } from "../helpers/until.ts";

const N = 4;
const RULES = join(dirname(fileURLToPath(import.meta.url)), "../../ops/prometheus/alerts.yml");
const hasPrometheus = spawnSync("prometheus", ["--version"]).status === 0;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!hasPrometheus)("Prometheus scraping a four-validator devnet", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-prometheus-"));
  const children: (ChildNode | null)[] = Array(N).fill(null);
  let prometheus: ChildProcess | null = null;
  let api = "";
  afterAll(async () => {
    prometheus?.kill("SIGKILL");
    for (const c of children) c?.proc.kill("SIGKILL");
    await Promise.all(children.map((c) => c?.exited));
    rmSync(dir, { recursive: true, force: true });
  });

  const query = async (q: string): Promise<Sample[]> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: Sample[] } };
    return body.status === "success" ? body.data.result : [];
  };

  it("scrapes up and pouw_head_height from every validator, and fires PouwChainStalled when the chain stops", async () => {
    const rpcBase = await freePortRange(N);
    const p2pBase = await freePortRange(N);
    const { homes } = await prepareDevnet(N, dir, rpcBase, p2pBase);
    await Promise.all(homes.map(async (h, i) => (children[i] = await startChild(h, rpcBase + i, ["--block-time", "250", "--no-worker"]))));

    const promPort = await freePort();
    api = `http://127.0.0.1:${promPort}`;
    const targets = homes.map((_, i) => `"127.0.0.1:${rpcBase + i}"`).join(", ");
    const config = join(dir, "prometheus.yml");
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${RULES}\nscrape_configs:\n  - job_name: pouw\n    static_configs:\n      - targets: [${targets}]\n`);
    prometheus = spawn("prometheus", [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" });

    const up = await until(() => query('up{job="pouw"}').catch(() => []), (r) => r.length === N && r.every((s) => s.value[1] === "1"), 60_000, "every target up", 500);
    expect(up.map((s) => s.metric.instance).sort()).toEqual(homes.map((_, i) => `127.0.0.1:${rpcBase + i}`).sort());
    const heights = await until(() => query("pouw_head_height").catch(() => []), (r) => r.length === N && r.every((s) => Number(s.value[1]) >= 3), 60_000, "head heights", 500);
    expect(heights.every((s) => s.metric.job === "pouw")).toBe(true);

    // Two of four stopped: no quorum, no blocks. The two left see their head age pass 30 s, then 15 s more.
    for (const i of [2, 3]) {
      children[i]!.proc.kill("SIGKILL");
      await children[i]!.exited;
      children[i] = null;
    }
    const alerts = async () => {
      const res = await fetch(`${api}/api/v1/alerts`);
      const body = (await res.json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return body.data.alerts.filter((a) => a.labels.alertname === "PouwChainStalled" && a.state === "firing");
    };
    const firing = await until(alerts, (a) => a.length === 2, 90_000, "PouwChainStalled to fire on the two live validators", 1000);
    expect(firing.map((a) => a.labels.instance).sort()).toEqual([`127.0.0.1:${rpcBase}`, `127.0.0.1:${rpcBase + 1}`]);
    expect(firing.every((a) => a.labels.severity === "critical")).toBe(true);
  });
});
