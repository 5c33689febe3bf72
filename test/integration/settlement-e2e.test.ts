/**
 * Settlement end to end, all real processes on 127.0.0.1: a `hardhat node`
 * (EDR, chain 31337), `scripts/deploy-evm.ts` deploying PouwAnchor and
 * PouwVault for a devnet-style genesis (one validator, 10-block epochs), and
 * `pouw start` validating with `--relay-evm`. The deploy script funds the
 * vault with 100 ETH (`--fund`).
 *
 * - The node runs three epochs without the relayer (a backlog of signed
 *   checkpoints), then with it: the relayer anchors epochs 1, 2, 3… in order.
 * - A `Withdraw` sent over RPC is claimed from the vault with the proof from
 *   `pouw_getWithdrawalProof` (`pouw checkpoint claim`): the recipient
 *   receives amount × 1 gwei, and a second claim is refused.
 * - The node is killed (SIGKILL) while relaying and restarted: every epoch is
 *   anchored exactly once (one CheckpointAnchored event per epoch, in order)
 *   and the relayer's account sent exactly one transaction per epoch, so
 *   nothing was submitted twice and nothing was missed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, parseEther, parseEventLogs } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvmDeploymentFile } from "../../node/anchor/deployment.ts";
import { POUW_ANCHOR_ABI } from "../../node/anchor/evm-abi.ts";
import { initHome, peerIdOf } from "../../node/cli/home.ts";
import { signAndSubmit } from "../../node/client/send.ts";
import { TxSelector } from "../../node/types/transaction.ts";
import { CLI, freePort, startChild, type ChildNode } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { trustFromEvmAnchor } from "../../node/anchor/trust.ts";
import { toHex as toHexString } from "../../node/util/hex.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const HARDHAT = join(REPO, "node_modules", ".bin", "hardhat");
/** Hardhat's published development keys (accounts 0-2): deployer (funds the vault), relayer, claimer. */
const DEPLOYER = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const RELAYER = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const CLAIMER = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const UNIT = 1_000_000_000n;
const EPOCH = 10;

const net = makeTestNet({ validators: 1, accounts: 2, label: "settle-e2e", chainId: "pouw-settle-e2e-1", params: { epochLength: EPOCH } });

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms: number, what: string, log: () => string = () => ""): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log().split("\n").slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("settlement on a hardhat node", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "pouw-settle-"));
  const home = join(dir, "home");
  let hardhat: ChildProcess;
  let hardhatOut = "";
  let evmRpc = "";
  let deployment: EvmDeploymentFile;
  let deploymentFile = "";
  let node: ChildNode | undefined;
  let rpcPort = 0;
  let p2pPort = 0;
  const evm = () => createPublicClient({ transport: http(evmRpc) });
  const lastEpoch = () => evm().readContract({ address: deployment.anchor, abi: POUW_ANCHOR_ABI, functionName: "lastEpoch" });
  const relayEnv = () => ({ POUW_EVM_KEY: RELAYER });
  const start = async (relay: boolean) => {
    node = await startChild(home, rpcPort, ["--block-time", "150", "--log-level", "info", "--p2p-port", String(p2pPort), ...(relay ? ["--relay-evm", deploymentFile] : [])], relayEnv());
    return node;
  };
  const stop = async (signal: NodeJS.Signals) => {
    node?.proc.kill(signal);
    await node?.exited;
    node = undefined;
  };

  beforeAll(async () => {
    const port = await freePort();
    evmRpc = `http://127.0.0.1:${port}`;
    hardhat = spawn(HARDHAT, ["node", "--hostname", "127.0.0.1", "--port", String(port)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    hardhat.stdout!.on("data", (d) => (hardhatOut += d));
    hardhat.stderr!.on("data", (d) => (hardhatOut += d));
    await until(() => evm().getChainId(), (id) => id === 31337, 60_000, "hardhat node", () => hardhatOut);
    writeFileSync(join(dir, "genesis.json"), net.genesisJson);
    await initHome(home, { genesisPath: join(dir, "genesis.json"), validatorKey: net.validator });
    // State snapshots at every checkpoint height, kept long enough to cover the relayer's lag (the --trust-anchor test).
    const config = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(home, "config.json"), JSON.stringify({ ...config, stateSnapshots: { every: EPOCH, keep: 20 } }));
    rpcPort = await freePort();
    p2pPort = await freePort();
  });
  afterAll(async () => {
    await stop("SIGTERM");
    hardhat?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploys with scripts/deploy-evm.ts from the genesis validator set", () => {
    const r = spawnSync(process.execPath, ["scripts/deploy-evm.ts", "--genesis", join(dir, "genesis.json"), "--network", "e2e", "--out", join(dir, "deployments"), "--fund", "100"], {
      cwd: REPO,
      env: { ...process.env, POUW_EVM_KEY: DEPLOYER, POUW_EVM_RPC: evmRpc },
      encoding: "utf8",
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    deploymentFile = join(dir, "deployments", "e2e.json");
    deployment = JSON.parse(readFileSync(deploymentFile, "utf8")) as EvmDeploymentFile;
    expect(deployment).toMatchObject({ kind: "evm", evmChainId: 31337, chainId: net.chainId, deployer: privateKeyToAddress(DEPLOYER) });
    expect(r.stdout).toContain(deployment.anchor);
  });

  it("--fund deposits into the new vault", async () => {
    expect(await evm().getBalance({ address: deployment.vault })).toBe(parseEther("100"));
  });

  it("a Withdraw is claimed from the EVM vault with the proof from RPC, once", async () => {
    const client = (await start(false)).client;
    const recipient = privateKeyToAddress(`0x${"42".repeat(32)}`);
    const amount = 3n * UNIT + 5n; // 3.000000005 POUW
    const domain = Buffer.from(deployment.domain.slice(2), "hex");
    const to = Buffer.concat([Buffer.alloc(12), Buffer.from(recipient.slice(2), "hex")]);
    const { hash } = await signAndSubmit(client, net.accounts[0]!, { selector: TxSelector.Withdraw, value: { domain, recipient: to, amount } });
    const done = await client.waitForTransaction(hash, { timeoutMs: 30_000 });
    expect(done.status === "finalized" && done.receipt.status).toBe("success");
    const proof = await until(() => client.getWithdrawalProof(hash), (p) => p.status === "checkpointed", 60_000, "the withdrawal's epoch to end", node!.output);
    expect(proof.leaf).toMatchObject({ amount: amount.toString(), domain: deployment.domain, index: 0 });
    // Let three epochs finish without a relayer: a backlog of signed checkpoints.
    await until(() => client.getCheckpoint("latest"), (c) => c.epoch >= 3 && c.quorum, 60_000, "three signed checkpoints", node!.output);
    await stop("SIGTERM");
    expect(await lastEpoch()).toBe(0n);

    // With the relayer: the backlog goes in order, then the node keeps up.
    const relaying = await start(true);
    await until(lastEpoch, (e) => e >= 3n, 60_000, "epochs 1-3 anchored", relaying.output);
    for (let e = 1; e <= 3; e++) {
      const c = await relaying.client.getCheckpoint(e);
      const roots = await evm().readContract({ address: deployment.anchor, abi: POUW_ANCHOR_ABI, functionName: "roots", args: [BigInt(e)] });
      expect(roots).toEqual([c.blockHash, c.stateRoot, c.withdrawalsRoot]);
    }
    // Claim with `pouw checkpoint claim` (the claimer pays the gas; the vault, funded at deployment, pays the recipient).
    const claim = () =>
      spawnSync(process.execPath, [CLI, "checkpoint", "claim", hash, "--deployment", deploymentFile, "--rpc", `http://127.0.0.1:${rpcPort}/`], {
        env: { ...process.env, POUW_EVM_KEY: CLAIMER },
        encoding: "utf8",
      });
    const first = claim();
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(/claimed withdrawal 0 of epoch 1/);
    expect(await evm().getBalance({ address: recipient })).toBe(amount * 1_000_000_000n);
    // `pouw checkpoint show` says, per relay target, whether the epoch is anchored there.
    const show = (epoch: string) => spawnSync(process.execPath, [CLI, "checkpoint", "show", epoch, "--rpc", `http://127.0.0.1:${rpcPort}/`], { encoding: "utf8" });
    const shown = show("1");
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/anchored on \S+: yes \(its anchor has epoch \d+\)/);
    const far = show(String((await client.getCheckpoint("latest")).epoch));
    expect(far.stdout).toMatch(/anchored on \S+: (yes|NO) \(its anchor has epoch/);
    const second = claim();
    expect(second.status).not.toBe(0);
    expect(second.stderr).toMatch(/AlreadyWithdrawn/);
    expect(await evm().getBalance({ address: recipient })).toBe(amount * 1_000_000_000n);
  });

  it("the latest anchored checkpoint is a state-sync trust root: --trust-anchor reads its height and block hash from the anchor", async () => {
    const epoch = await lastEpoch();
    expect(epoch).toBeGreaterThanOrEqual(3n);
    const trust = await trustFromEvmAnchor(deploymentFile, net.chainId, { epochLength: EPOCH }, { POUW_EVM_RPC: evmRpc });
    expect(trust.epoch).toBeGreaterThanOrEqual(Number(epoch));
    expect(trust.height).toBe(trust.epoch * EPOCH);
    // The block the chain committed at that height, as its own RPC reports it.
    const block = await node!.client.getBlock(trust.height);
    expect(toHexString(trust.hash)).toBe(block.hash);
    expect(trust.source).toContain(deployment.anchor);
    // A deployment of another chain is refused before anything is read.
    await expect(trustFromEvmAnchor(deploymentFile, "another-chain", { epochLength: EPOCH }, { POUW_EVM_RPC: evmRpc })).rejects.toThrow(/deployed for chain "pouw-settle-e2e-1"/);

    // A new node joins with `pouw start --state-sync --trust-anchor <deployment>`: the anchored checkpoint is its trust root.
    const joiner = join(dir, "joiner");
    const peerId = peerIdOf(new Uint8Array(Buffer.from((JSON.parse(readFileSync(join(home, "keys", "node_key.json"), "utf8")) as { privateKey: string }).privateKey.replace(/^0x/, ""), "hex")));
    const joinerP2p = await freePort();
    await initHome(joiner, { genesisPath: join(dir, "genesis.json"), validatorKey: null, p2p: { listen: [`/ip4/127.0.0.1/tcp/${joinerP2p}`], peers: [`/ip4/127.0.0.1/tcp/${p2pPort}/p2p/${peerId}`] } });
    const joinerRpc = await freePort();
    const joined = await startChild(joiner, joinerRpc, ["--state-sync", "--trust-anchor", deploymentFile, "--log-level", "info"], { POUW_EVM_RPC: evmRpc });
    try {
      const lines = () => joined.output().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      const looking = lines().find((l) => l.msg === "State sync: looking for a snapshot at or below the trusted block")!;
      expect(String(looking.from)).toMatch(new RegExp(`checkpoint of epoch \\d+ on the EVM anchor ${deployment.anchor}`));
      const restored = lines().find((l) => l.msg === "State sync: restored the state of the snapshot; block sync takes it to the head")!;
      expect(restored.height as number).toBeLessThanOrEqual(looking.trustHeight as number);
      expect((restored.height as number) % EPOCH).toBe(0);
      const head = (await node!.client.chainInfo()).height;
      await until(() => joined.client.chainInfo(), (c) => c.height >= head, 30_000, "the joiner at the head", joined.output);
      const [a, b] = await Promise.all([node!.client.getBlock(head), joined.client.getBlock(head)]);
      expect(b.hash).toBe(a.hash);
    } finally {
      joined.proc.kill("SIGTERM");
      await joined.exited;
    }
  });

  it("killed while relaying and restarted, the relayer anchors every epoch exactly once, in order", async () => {
    const before = await lastEpoch();
    // Kill hard right after the next anchoring: whatever was in flight is lost with the process.
    await until(lastEpoch, (e) => e > before, 60_000, "another anchoring", node!.output);
    await stop("SIGKILL");
    const atKill = await lastEpoch();
    const relaying = await start(true);
    await until(lastEpoch, (e) => e >= atKill + 3n, 90_000, "three more epochs anchored after the restart", relaying.output);
    // Operators see it in the metrics: the target's anchored epoch and the last checkpoint with a quorum.
    // The anchor's epoch is read on chain, where the transaction lands a moment before submit() returns to the relayer
    // and it sets the gauge: scrape until the gauge has caught up.
    let metrics = "";
    const gauge = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "m").exec(metrics)?.[1] ?? NaN);
    await until(
      async () => (metrics = await (await fetch(`http://127.0.0.1:${rpcPort}/metrics`)).text()),
      () => gauge("pouw_relay_anchored_epoch") >= Number(atKill + 3n),
      10_000,
      "the anchored-epoch gauge to follow the anchor",
      relaying.output,
    );
    expect(gauge("pouw_relay_anchored_epoch")).toBeGreaterThanOrEqual(Number(atKill + 3n));
    expect(gauge("pouw_checkpoint_quorum_epoch")).toBeGreaterThanOrEqual(gauge("pouw_relay_anchored_epoch"));
    expect(metrics).toContain('pouw_relay_anchored_epoch{target="evm:31337"}');
    await stop("SIGTERM");
    const last = await lastEpoch();
    const logs = await evm().getLogs({ address: deployment.anchor, fromBlock: 0n, toBlock: "latest" });
    const anchored = parseEventLogs({ abi: POUW_ANCHOR_ABI, logs, eventName: "CheckpointAnchored" }).map((l) => (l.args as { epoch: bigint }).epoch);
    expect(anchored).toEqual(Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1)));
    // One transaction per epoch from the relayer's account: no resubmission (reverted or not) after the kill.
    expect(await evm().getTransactionCount({ address: privateKeyToAddress(RELAYER) })).toBe(Number(last));
  });
});
