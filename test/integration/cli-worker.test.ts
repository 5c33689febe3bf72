/**
 * `pouw worker` as a user runs it: a real CLI process against a real node
 * process (`pouw start --no-worker`, LevelDB on disk, JSON-RPC on 127.0.0.1).
 * A job on a small synthetic dataset is posted with `pouw job create`; the
 * CLI worker trains it in its work thread, publishes the blobs and submits the
 * proof; the validator attests it, it is accepted and, after the challenge
 * window, the worker is paid. (The worker used to print "Training a job" and
 * exit 0 at once: nothing kept the process alive while its thread trained.)
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { AccountKey, devAccountLabel } from "../../node/crypto/keys.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { toHex } from "../../node/util/hex.ts";
import { CLI, freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { until } from "../helpers/until.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pouw-cli-worker-"));
const home = join(dir, "home");
const DS = { seed: "cli-worker", features: 12, classes: 4, train: 400, validation: 100 };

/** The devnet genesis (its dev:N accounts) with a synthetic dataset, no genesis job and short proof windows. */
function writeGenesis(): string {
  const g = JSON.parse(readFileSync(new URL("../../genesis/devnet.json", import.meta.url), "utf8")) as Record<string, unknown> & { params: Record<string, unknown> };
  g.chainId = "pouw-cli-worker-1";
  g.params = { ...g.params, blockTimeMs: 200, attestationDeadline: 10, challengeWindow: 3 };
  g.datasets = [{ name: `synthetic:${DS.seed}`, id: toHex(syntheticDataset(DS).id), features: DS.features, classes: DS.classes, train: DS.train, validation: DS.validation }];
  g.jobs = [];
  const path = join(dir, "genesis.json");
  writeFileSync(path, JSON.stringify(g, null, 2));
  return path;
}

async function pouw(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, POUW_KEYRING: join(dir, "keyring") } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("pouw worker (the CLI process) against a node process", () => {
  let node: ChildNode | undefined;
  afterAll(async () => {
    node?.proc.kill("SIGTERM");
    await node?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("trains an open job, submits its proof and exits (--once); the proof is accepted and the worker paid", async () => {
    const port = await freePort();
    const rpc = `http://127.0.0.1:${port}/`;
    const init = await pouw("init", "--home", home, "--genesis", writeGenesis(), "--dev-validator", "0", "--rpc-port", String(port));
    expect(init.code, init.stderr).toBe(0);
    node = await startChild(home, port, ["--no-worker"]);
    const { client } = node;

    const created = await pouw(
      ...["job", "create", "--from", "dev:8", "--dataset", `synthetic:${DS.seed}`, "--layers", "12,24,4", "--batch", "16", "--steps", "120", "--segment", "20"],
      ...["--target", "loss:5", "--reward", "7", "--bond", "2", "--deadline", "400", "--rpc", rpc],
    );
    expect(created.code, created.stderr).toBe(0);
    const jobId = /job id (0x[0-9a-f]{64})/.exec(created.stdout)![1]!;
    const worker = AccountKey.fromLabel(devAccountLabel(1)).bech32;
    const before = BigInt((await client.getAccount(worker)).balance);

    // A real `pouw worker` process, as a user starts it; it must stay up while it trains, then submit and exit 0.
    const proc = spawn(process.execPath, [CLI, "worker", "--from", "dev:1", "--once", "--rpc", rpc], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
    expect(code, out).toBe(0);
    expect(out).toMatch(new RegExp(`submitted proof 0x[0-9a-f]{64} for job ${jobId}`));

    const job = await client.getJob(jobId);
    expect(job.status).toBe("proving");
    const proofId = job.proof!;
    const decided = await until(() => client.getWorkProof(proofId), (p) => p.status !== "pending", 60_000, "the validator's attestation", 200);
    expect(decided.status).toBe("accepted");
    expect(decided.worker).toBe(worker);
    const paid = await until(() => client.getWorkProof(proofId), (p) => p.status === "paid", 60_000, "payment after the challenge window", 200);
    expect(paid.status).toBe("paid");
    expect((await client.getJob(jobId)).status).toBe("completed");
    // Paid the reward (its bond back, the SubmitProof fee spent, a PoUW pool share on top).
    const after = BigInt((await client.getAccount(worker)).balance);
    expect(after - before >= 7_000_000_000n - 10_000_000n, `${after - before}`).toBe(true);
    expect(BigInt((await client.chainInfo()).totals.escrowed)).toBe(0n);
  }, 180_000);
});
