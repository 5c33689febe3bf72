#!/usr/bin/env node
/** The `pouw` command line. */
import { AnchorKey } from "../crypto/anchor-key.ts";
import { Command, Option } from "commander";
import { NODE_VERSION } from "../version.ts";
import { AccountKey } from "../crypto/keys.ts";
import { PouwClient } from "../client/client.ts";
import { fromHex } from "../util/hex.ts";
import { formatPouw } from "./amount.ts";
import { DEVNET_GENESIS_PATH, initHome, loadHome, parsePort, peerIdOf } from "./home.ts";
import { Keyring, resolveAddress } from "./keyring.ts";
import { changeKeyFilePassword, DEVNET_INSECURE_LABEL, keyFileInfo, readAnchorKeyFile, readKeyFile } from "./key-file.ts";
import { canPrompt, newPassword, passwordSource, promptPassword, readPasswordFile } from "./password.ts";
import { encodeAddress } from "../crypto/address.ts";
import { resolveHome } from "./default-home.ts";
import { CliError, exitCodeOf } from "./errors.ts";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createValidatorCommand, delegateCommand, describeRpcError, transferCommand, undelegateCommand, unjailCommand, withdrawRewardsCommand } from "./tx.ts";
import { delegationsCommand, validatorsCommand } from "./staking.ts";

const program = new Command("pouw").description("pouw node: proof-of-stake BFT chain with proof-of-useful-work").version(NODE_VERSION);
const splitList = (s: string | undefined): string[] => (s ?? "").split(",").map((x) => x.trim()).filter(Boolean);
const rpcOption = () => new Option("--rpc <url>", "node JSON-RPC URL").default(process.env.POUW_RPC ?? "http://127.0.0.1:8750/");
const keyringOption = () => new Option("--keyring <dir>", "key directory (default $POUW_KEYRING or ~/.pouw/keyring)");
const passwordFileOption = (what = "an encrypted key") => new Option("--password-file <file>", `the password of ${what}: the first line of this file (default: asked on a terminal)`);

program
  .command("init")
  .description("create a node home directory from a genesis file")
  .option("--home <dir>", "home directory (default $POUW_HOME, else ~/.pouw)")
  .option("--genesis <file>", "genesis file", DEVNET_GENESIS_PATH)
  .option("--validator-key <file>", "use this key file as the validator key")
  .option("--dev-validator <n>", "use the devnet's published validator key n (INSECURE, devnet only)")
  .option("--anchor-key <file>", "write this anchor key ({ \"privateKey\": \"0x…\" } or an anchor keystore) as keys/anchor.json (default: derived from the validator key)")
  .option("--password-file <file>", "encrypt keys/validator.json (and keys/anchor.json) under the first line of this file; also the password of an encrypted --validator-key (default: plaintext, or asked on a terminal when --validator-key is encrypted)")
  .option("--rpc-port <port>", "JSON-RPC port", "8750")
  .option("--rpc-host <host>", "JSON-RPC bind address", "127.0.0.1")
  .option("--p2p-port <port>", "turn networking on, listening on this TCP port")
  .option("--p2p-host <host>", "P2P bind address", "127.0.0.1")
  .option("--peers <multiaddrs>", "comma-separated peers (/ip4/…/tcp/…/p2p/<peer id>)", "")
  .action(async (o) => {
    const home = resolveHome(o.home);
    const rpcPort = parsePort(o.rpcPort, "--rpc-port");
    const p2pPort = o.p2pPort !== undefined ? parsePort(o.p2pPort, "--p2p-port") : undefined;
    // The home's keys are encrypted under --password-file's password, or under an encrypted --validator-key's own (never decrypted to plaintext).
    let password = o.passwordFile !== undefined ? readPasswordFile(o.passwordFile) : null;
    if (password === null && o.validatorKey && keyFileInfo(o.validatorKey).encrypted && canPrompt()) password = await promptPassword(`password for ${o.validatorKey}: `);
    const read = { password: async () => password };
    const key = o.validatorKey ? await readKeyFile(o.validatorKey, { ...read, what: "validator key" }) : o.devValidator !== undefined ? await new Keyring().get(`devval:${o.devValidator}`) : null;
    const anchorKey = o.anchorKey ? await readAnchorKeyFile(o.anchorKey, { ...read, what: "anchor key" }) : undefined;
    const p2p = p2pPort !== undefined ? { listen: [`/ip4/${o.p2pHost}/tcp/${p2pPort}`], peers: splitList(o.peers) } : null;
    const insecure = o.devValidator !== undefined ? { insecure: DEVNET_INSECURE_LABEL } : {};
    await initHome(home, { genesisPath: o.genesis, validatorKey: key, rpcPort, rpcHost: o.rpcHost, p2p, password, ...insecure, ...(anchorKey ? { anchorKey } : {}) });
    if (key && password === null && o.devValidator === undefined) console.error(`warning: ${resolve(home, "keys/validator.json")} is UNENCRYPTED: give --password-file to encrypt it`);
    const node = loadHome(home).nodeKey;
    const anchor = key ? `\n  anchor address ${(anchorKey ?? AnchorKey.fromSeed(key.seed)).address} (signs checkpoints; put it in genesis or CreateValidator)` : "";
    const sealed = key ? `\n  keys/validator.json ${password !== null ? "encrypted (pouw start needs --password-file or a terminal)" : o.devValidator !== undefined ? "plaintext: a DEVNET key, published seed" : "plaintext (UNENCRYPTED)"}` : "";
    console.log(`initialised ${resolve(home)}${key ? ` (validator ${key.bech32})` : " (non-validating)"}${anchor}${sealed}${node ? `\n  peer id ${peerIdOf(node)}` : ""}`);
  });

program
  .command("devnet")
  .description("run N validators on this machine (127.0.0.1) from a generated genesis; Ctrl-C stops them all")
  .requiredOption("--validators <n>", "number of validators")
  .option("--dir <dir>", "where their homes go (default ./.pouw-devnet-<n>)")
  .option("--rpc-base-port <port>", "validator i serves JSON-RPC on this + i", "8750")
  .option("--p2p-base-port <port>", "validator i listens for peers on this + i", "8760")
  .option("--block-time <ms>", "block time")
  .action(async (o) => (await import("./devnet.ts")).devnetCommand(o));

program
  .command("start")
  .description("run a node")
  .option("--home <dir>", "home directory (default ./.pouw-devnet with --devnet, else $POUW_HOME, else ~/.pouw)")
  .option("--devnet", "initialise the home from the embedded devnet genesis if needed")
  .option("--rpc-host <host>", "override the JSON-RPC bind address")
  .option("--rpc-port <port>", "override the JSON-RPC port")
  .option("--rpc-max-connections <n>", "JSON-RPC connections open at once, HTTP and WebSocket (default 1000)")
  .option("--rpc-max-connections-per-ip <n>", "JSON-RPC connections from one IP address (default 500)")
  .option("--rpc-max-send-buffer-mb <MiB>", "cut off a WebSocket client with more unsent output than this (default 16; 0: no limit)")
  .option("--rpc-max-in-flight <n>", "requests one WebSocket may have in progress before the node stops reading it (default 32)")
  .option("--rpc-max-heavy <n>", "heavy reads (blocks, blobs) served at once (default 2)")
  .option("--rpc-idle-timeout <seconds>", "close idle HTTP sockets and WebSockets without a subscription (default 60)")
  .option("--rpc-blob-quota-mb <MiB>", "bytes of pouw_putBlob blobs nothing references yet that the node holds (default 256)")
  .option("--rpc-blob-ttl <seconds>", "delete a pouw_putBlob blob no proof references after this long (default 600)")
  .option("--block-time <ms>", "override the block time (testing)")
  .option("--pruning <blocks|archive>", "keep the last N blocks (receipts, commits) and delete older ones, or keep everything (default config.json pruning, else 100000 for a validator, archive otherwise and with --devnet)")
  .option("--p2p-port <port>", "override the P2P listen port (turns networking on for a home without it)")
  .option("--p2p-host <host>", "override the P2P bind address")
  .option("--peers <multiaddrs>", "comma-separated peers to add to the configured ones")
  .option("--state-sync", "start an empty home from a peer's state snapshot instead of replaying from genesis (needs a trusted block: --trust-height and --trust-hash, config.json stateSync, or --trust-anchor)")
  .option("--trust-height <n>", "state sync: the height of a block you trust (from a node you trust, e.g. its pouw_getBlock)")
  .option("--trust-hash <0x…>", "state sync: that block's hash")
  .option("--trust-anchor <deployment.json>", "state sync: trust the latest checkpoint anchored on the EVM anchor of this deployment record (POUW_EVM_RPC overrides its RPC URL)")
  .option("--snapshot-every <blocks>", "make a state snapshot for peers every N blocks (default config.json stateSnapshots.every, else 1000; 0: none)")
  .option("--halt-height <n>", "stop after committing block n (an upgrade at an agreed height): nothing later is signed or imported; the node closes and exits 86, and refuses to start at or past it")
  .option("--metrics-addr <host:port>", "also serve GET /metrics (only that) on this address, e.g. 127.0.0.1:9750 (default config.json metricsAddr, else none: /metrics on the RPC port only)")
  .option("--target-peers <n>", "peers to keep connected: dial discovered ones below it, drop the worst-scored non-validator above it (default config.json p2p.targetPeers, else 16)")
  // No default here: it would mask config.json's logLevel (flag, else $POUW_LOG_LEVEL, else config, else info).
  .option("--log-level <level>", "trace|debug|info|warn|error (default $POUW_LOG_LEVEL, else config.json logLevel, else info)")
  .option("--json-logs", "JSON log lines even on a terminal")
  .option("--worker <key>", "also run the built-in worker, training open jobs and paid to this key (default with --devnet: dev:1)")
  .option("--no-worker", "do not run the built-in worker")
  .option("--relay-evm <deployment.json>", "relay checkpoints to the EVM anchor of this deployment record (gas from POUW_EVM_KEY; POUW_EVM_RPC overrides its RPC URL)")
  .option("--relay-sui <deployment.json>", "relay checkpoints to the Sui anchor of this deployment record (gas from POUW_SUI_KEY; POUW_SUI_RPC overrides its RPC URL)")
  .addOption(keyringOption())
  .addOption(passwordFileOption("the home's encrypted validator and anchor keys (and an encrypted --worker key)"))
  .action(async (o) => (await import("./start.ts")).startCommand(o));

program
  .command("worker")
  .description("train open jobs and submit their proofs (talks to a node over RPC)")
  .requiredOption("--from <key>", "the worker's account: posts the bonds, receives the rewards")
  .option("--min-reward <pouw>", "skip jobs paying less", "0")
  .option("--once", "train at most one job, then exit")
  .addOption(rpcOption())
  .addOption(keyringOption())
  .addOption(passwordFileOption("an encrypted --from key"))
  .action(async (o) => (await import("./worker.ts")).workerCommand(o));

const sealedNote = (password: string | null) =>
  password === null ? "UNENCRYPTED seed (--insecure-plaintext): devnets and tests only" : "encrypted keystore: back up this file and remember its password; neither is any use without the other";

const keys = program.command("keys").description("manage ML-DSA-44 account keys");
keys
  .command("new")
  .description("generate a key (an encrypted keystore; --insecure-plaintext for a devnet or test key)")
  .requiredOption("--name <name>", "key name")
  .addOption(keyringOption())
  .addOption(passwordFileOption("the new key (what it is encrypted under)"))
  .option("--insecure-plaintext", "write the seed UNENCRYPTED (devnets and tests only)")
  .option("--json", "JSON output")
  .action(async (o) => {
    const keyring = new Keyring(o.keyring);
    keyring.checkNew(o.name);
    const password = await newPassword(o, "pouw keys new");
    const key = AccountKey.generate();
    const path = await keyring.add(o.name, key, { password });
    console.log(o.json ? JSON.stringify({ name: o.name, address: key.bech32, file: path, encrypted: password !== null }) : `created ${o.name}: ${key.bech32}\n  ${path} (${sealedNote(password)})`);
  });
keys
  .command("show")
  .description("show a key's address and public key (name, or dev:N for devnet accounts)")
  .argument("<name>")
  .addOption(keyringOption())
  .option("--json", "JSON output")
  .action((name, o) => {
    // Public facts only: no password needed, for an encrypted keystore too.
    const i = new Keyring(o.keyring).info(name);
    // As a validator key: the anchor address its checkpoint signatures recover to (unless the home holds keys/anchor.json).
    const anchor = i.anchorAddress ?? "(not recorded in this keystore)";
    const file = i.path === null ? "devnet key (published seed: never hold value on it)" : `${i.path} (${i.encrypted ? "encrypted keystore" : i.insecure ? `plaintext: ${i.insecure}` : "UNENCRYPTED plaintext"})`;
    console.log(
      o.json
        ? JSON.stringify({ name, address: i.address, publicKey: i.publicKey, anchorAddress: i.anchorAddress ?? null, encrypted: i.encrypted, file: i.path })
        : `${name}: ${i.address}\n  public key ${i.publicKey.slice(0, 34)}… (1312 bytes)\n  anchor address ${anchor} (checkpoint signer, as a validator key)\n  ${file}`,
    );
  });
keys
  .command("import")
  .description("import a key from its 32-byte seed (hex) into an encrypted keystore (--insecure-plaintext for a devnet or test key)")
  .requiredOption("--name <name>", "key name")
  .requiredOption("--seed <hex>", "32-byte ML-DSA seed")
  .addOption(keyringOption())
  .addOption(passwordFileOption("the imported key (what it is encrypted under)"))
  .option("--insecure-plaintext", "write the seed UNENCRYPTED (devnets and tests only)")
  .option("--json", "JSON output")
  .action(async (o) => {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(o.seed)) throw new Error("--seed must be the 32-byte seed as 64 hex digits");
    const keyring = new Keyring(o.keyring);
    keyring.checkNew(o.name);
    const password = await newPassword(o, "pouw keys import");
    const key = new AccountKey(fromHex(o.seed));
    const path = await keyring.add(o.name, key, { password });
    console.log(o.json ? JSON.stringify({ name: o.name, address: key.bech32, file: path, encrypted: password !== null }) : `imported ${o.name}: ${key.bech32}\n  ${path} (${sealedNote(password)})`);
  });
keys
  .command("change-password")
  .description("re-encrypt a key under a new password; a plaintext key file becomes an encrypted keystore. <key>: a keyring name, or a key file such as <home>/keys/validator.json or <home>/keys/anchor.json")
  .argument("<key>")
  .addOption(keyringOption())
  .addOption(passwordFileOption("the key now"))
  .option("--new-password-file <file>", "the new password: the first line of this file (default: asked twice on a terminal)")
  .option("--json", "JSON output")
  .action(async (which: string, o) => {
    if (/^(dev|devval):\d+$/.test(which)) throw new CliError("BAD_FLAG", `${which} is a devnet key with a published seed: it has no file and no password`);
    const path = which.endsWith(".json") || which.includes("/") ? resolve(which) : new Keyring(o.keyring).fileOf(which);
    if (!existsSync(path)) throw new CliError("BAD_FLAG", `no key file ${path}`);
    // The current password first (a wrong one stops there), then the new one (twice on a terminal).
    if (o.newPasswordFile === undefined && !canPrompt()) throw new CliError("BAD_FLAG", "pouw keys change-password needs the new password: give --new-password-file <file> (or run it on a terminal to be asked)");
    const askNew = async () => (await newPassword(o.newPasswordFile !== undefined ? { passwordFile: o.newPasswordFile } : {}, "pouw keys change-password"))!;
    const r = await changeKeyFilePassword(path, { password: passwordSource(o) }, askNew);
    const note = "a node that reads it with --password-file needs the new password in that file for its next start";
    console.log(o.json ? JSON.stringify({ file: path, address: r.address, kind: r.kind, wasEncrypted: r.wasEncrypted }) : `${r.wasEncrypted ? "changed the password of" : "encrypted (it was plaintext)"} ${path} (${r.address})\n  ${note}`);
  });
keys
  .command("list")
  .description("list keys")
  .addOption(keyringOption())
  .option("--json", "JSON output")
  .action((o) => {
    const list = new Keyring(o.keyring).list();
    console.log(o.json ? JSON.stringify(list) : list.map((k) => `${k.name}\t${k.address}\t${k.encrypted ? "encrypted" : "PLAINTEXT"}`).join("\n") || "(no keys)");
  });

const tx = program.command("tx").description("build, sign and send transactions");

/** The options every `pouw tx` command shares. */
function sendOptions(c: Command): Command {
  return c
    .option("--tip <units>", "max priority fee per gas, units (default: the node's suggestion)")
    .option("--max-fee <units>", "max fee per gas, units (default: 2 × base fee + tip)")
    .option("--nonce <n>", "nonce (default: the account's next)")
    .option("--no-wait", "return once the node accepted it")
    .option("--json", "JSON output")
    .addOption(rpcOption())
    .addOption(keyringOption())
    .addOption(passwordFileOption("an encrypted --from key"));
}

sendOptions(
  tx
    .command("transfer")
    .description("send POUW; waits until the transfer is finalized")
    .requiredOption("--from <key>", "key name, or dev:N for a devnet account")
    .requiredOption("--to <address>", "recipient: pouw1… address, key name or dev:N")
    .requiredOption("--amount <pouw>", "amount in POUW (up to 9 decimals)"),
).action((o) => transferCommand(o));

sendOptions(
  tx
    .command("create-validator")
    .description("register a validator: its consensus key, a self-bond and a commission; it joins the active set at the next epoch boundary")
    .requiredOption("--from <key>", "operator account (pays the self-bond; may unjail and withdraw commission)")
    .requiredOption("--consensus-key <file|name>", "the node's validator key file (<home>/keys/validator.json) or a key name")
    .requiredOption("--amount <pouw>", "self-bond in POUW (at least 1)")
    .option("--commission <percent>", "commission on delegators' rewards", "10")
    .option("--anchor-address <0x…>", "secp256k1 address that signs checkpoints for the settlement vaults (default: the anchor key derived from the consensus key, which the node uses when its home has no keys/anchor.json)"),
).action((o) => createValidatorCommand(o));

sendOptions(
  tx
    .command("delegate")
    .description("bond POUW to a validator")
    .requiredOption("--from <key>", "delegator")
    .requiredOption("--validator <address>", "validator address (pouw1…)")
    .requiredOption("--amount <pouw>", "amount in POUW"),
).action((o) => delegateCommand(o));

sendOptions(
  tx
    .command("undelegate")
    .description("start unbonding shares from a validator; the tokens return after the unbonding period")
    .requiredOption("--from <key>", "delegator")
    .requiredOption("--validator <address>", "validator address (pouw1…)")
    .requiredOption("--shares <n|all>", "shares to undelegate, or all"),
).action((o) => undelegateCommand(o));

sendOptions(
  tx
    .command("unjail")
    .description("bring a validator jailed for downtime back (it rejoins the set at the next epoch boundary)")
    .requiredOption("--from <key>", "the validator's operator"),
).action((o) => unjailCommand(o));

sendOptions(
  tx
    .command("withdraw-rewards")
    .description("claim staking rewards (and, for an operator, its commission)")
    .requiredOption("--from <key>", "delegator or operator")
    .option("--validator <address>", "only this validator (default: every delegation)"),
).action((o) => withdrawRewardsCommand(o));

sendOptions(
  tx
    .command("withdraw")
    .description("move POUW off the chain to a settlement vault: claimable there (amount × 1 gwei on EVM) once the epoch's checkpoint is anchored")
    .requiredOption("--from <key>", "key name, or dev:N for a devnet account")
    .requiredOption("--amount <pouw>", "amount in POUW (up to 9 decimals)")
    .requiredOption("--to <0x…>", "payee on the settlement chain: an EVM address (20 bytes) or a Sui address (32 bytes)")
    .option("--deployment <file>", "the vault's deployment record (deployments/<network>.json): gives the domain")
    .option("--domain <0x…>", "the vault's 32-byte domain, instead of --deployment"),
).action(async (o) => (await import("./settlement.ts")).withdrawCommand(o));

const checkpoint = program.command("checkpoint").description("epoch checkpoints, withdrawal proofs and claims (settlement)");
checkpoint
  .command("show")
  .description("an epoch's checkpoint and its anchor signatures")
  .argument("[epoch]", 'epoch number or "latest"', "latest")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action(async (epoch, o) => (await import("./settlement.ts")).checkpointShowCommand(epoch, o));
checkpoint
  .command("proof")
  .description("the leaf and Merkle proof of a withdrawal, by its Withdraw transaction's hash")
  .argument("<tx-hash>")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action(async (hash, o) => (await import("./settlement.ts")).checkpointProofCommand(hash, o));
checkpoint
  .command("claim")
  .description("claim a withdrawal from an EVM vault (POUW_EVM_KEY pays the gas; the vault pays the leaf's recipient)")
  .argument("<tx-hash>", "the Withdraw transaction")
  .requiredOption("--deployment <file>", "the vault's deployment record (deployments/<network>.json)")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action(async (hash, o) => (await import("./settlement.ts")).checkpointClaimCommand(hash, o));

const job = program.command("job").description("post training jobs and follow them (useful work)");

sendOptions(
  job
    .command("create")
    .description("escrow a reward for training an MLP on a registered dataset; prints the job id")
    .requiredOption("--from <key>", "requester (pays the reward into escrow)")
    .option("--dataset <name|id>", "registered dataset (see pouw status --json)", "mnist-10k")
    .option("--layers <sizes>", "layer sizes, input to output", "784,128,10")
    .option("--lr <rate>", "SGD learning rate", "0.1")
    .option("--momentum <m>", "SGD momentum", "0.9")
    .option("--batch <n>", "minibatch size", "64")
    .option("--steps <n>", "training steps", "600")
    .option("--segment <k>", "steps between checkpoints", "20")
    .option("--target <metric:value>", "accuracy:<percent> (at least) or loss:<value> (at most)", "accuracy:90")
    .requiredOption("--reward <pouw>", "reward paid to the worker whose proof is accepted")
    .option("--bond <pouw>", "bond a worker must post with its proof", "10")
    .option("--deadline <blocks>", "blocks from now by which a proof must be accepted", "600")
    .option("--seed <0x…>", "32-byte job seed (default: random)"),
).action(async (o) => (await import("./job.ts")).jobCreateCommand(o));

sendOptions(
  job
    .command("cancel")
    .description("cancel your job while no proof is submitted; the reward comes back")
    .argument("<jobId>", "0x… job id")
    .requiredOption("--from <key>", "the job's requester"),
).action(async (id, o) => (await import("./job.ts")).jobCancelCommand(id, o));

job
  .command("show")
  .description("show a job and its proof")
  .argument("<jobId>", "0x… job id (the CreateJob transaction hash)")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action(async (id, o) => (await import("./job.ts")).jobShowCommand(id, o));

job
  .command("list")
  .description("list jobs, newest first")
  .option("--status <status>", "open, proving, completed, cancelled or expired")
  .option("--requester <address>", "only this requester's jobs (pouw1…)")
  .option("--limit <n>", "at most n jobs (≤ 100)")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action(async (o) => (await import("./job.ts")).jobListCommand(o));

program
  .command("validators")
  .description("show the active validator set (--all: every registered validator)")
  .option("--all", "include candidates, jailed and tombstoned validators")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .action((o) => validatorsCommand(o));

program
  .command("delegations")
  .description("show an account's delegations, pending rewards and unbonding entries")
  .argument("<address>", "pouw1… address, key name or dev:N")
  .option("--json", "JSON output")
  .addOption(rpcOption())
  .addOption(keyringOption())
  .action((who, o) => delegationsCommand(who, o));

program
  .command("balance")
  .description("show an account's balance and nonce")
  .argument("<address>", "pouw1… address, key name or dev:N")
  .addOption(rpcOption())
  .addOption(keyringOption())
  .option("--json", "JSON output")
  .action(async (who, o) => {
    const address = encodeAddress(resolveAddress(new Keyring(o.keyring), who));
    const acc = await new PouwClient(o.rpc).getAccount(address, { proof: false });
    console.log(o.json ? JSON.stringify(acc) : `${acc.address}: ${formatPouw(acc.balance)} POUW, nonce ${acc.nonce} (height ${acc.height})`);
  });

program
  .command("status")
  .description("show the node's chain head")
  .addOption(rpcOption())
  .option("--json", "JSON output")
  .action(async (o) => {
    const i = await new PouwClient(o.rpc).chainInfo();
    const net = i.network ? `; ${i.network.peers} peers${i.network.syncing ? `, syncing to ${i.network.bestPeerHeight}` : ""}, round ${i.network.round}` : "";
    console.log(o.json ? JSON.stringify(i) : `${i.chainId} height ${i.height} head ${i.headHash.slice(0, 18)}… base fee ${i.baseFeePerGas} mempool ${i.mempoolSize}${net}`);
  });

program.parseAsync().catch((e) => {
  console.error(`error: ${describeRpcError(e)}`);
  process.exit(exitCodeOf(e));
});
