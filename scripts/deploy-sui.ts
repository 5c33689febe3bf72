/**
 * Deploys the Sui settlement package (contracts/move) for a genesis anchor
 * set and writes `<out>/sui-<network>.json` with what the relayer and wallets
 * need:
 *
 *   sui move build --path contracts/move --dump-bytecode-as-base64 > build.json
 *   POUW_SUI_KEY=suiprivkey1… node scripts/deploy-sui.ts --bytecode build.json \
 *     [--genesis genesis/devnet.json] [--network testnet] [--rpc URL] [--dry-run] [--out deployments] [--upgradeable]
 *
 * Three transactions: publish, which by default also passes the package's
 * UpgradeCap to `0x2::package::make_immutable` so nobody can ever upgrade it
 * (`--upgradeable` sends the cap to the deployer instead, with a warning: its
 * holder could publish an upgrade that drains the vault), then
 * `anchor::create(keccak256(chainId), anchor addresses, powers)` with the
 * genesis validators' anchor set, then `vault::create(&anchor)`; then it reads
 * the Anchor back and checks its chain id, set hash and epoch 0. The client
 * is gRPC (`SuiGrpcClient`) at `--rpc`, by default Mysten's full node of the
 * network; it picks gas price, budget and coins of the deployer.
 *
 * `--dry-run` contacts no node, even with `--rpc`: it checks the key, the
 * bytecode and the genesis, builds the publish transaction's kind (the
 * commands and inputs, exactly what will be sent; gas and hence the final
 * transaction digest are chosen at send time) and prints its size and
 * blake2b-256 hash with the arguments of both create calls. It writes nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { blake2b } from "@noble/hashes/blake2.js";
import type { ClientWithCoreApi } from "@mysten/sui/client";
import type { Keypair } from "@mysten/sui/cryptography";
import { SuiGrpcClient } from "@mysten/sui/grpc";
import { fromBase64, isValidSuiAddress, normalizeStructTag, normalizeSuiAddress } from "@mysten/sui/utils";
import { bytesToHex, type Hex } from "viem";
import { anchorMembersOf, chainIdHash, validatorSetHash, type AnchorMember } from "../node/anchor/checkpoint.ts";
import { AnchorError, AnchorErrorCode } from "../node/anchor/errors.ts";
import { anchorCreateTransaction, MAKE_IMMUTABLE, publishTransaction, vaultCreateTransaction, type UpgradePolicy } from "../node/anchor/sui.ts";
import { SuiAnchor, createdShared, executeOrThrow, publishedPackageId } from "../node/anchor/sui-client.ts";
import { parseGenesis, type GenesisJson } from "../node/types/genesis.ts";
import { describeError } from "../node/util/errors.ts";
import { loadSuiKey } from "../node/anchor/deployment.ts";

export { loadSuiKey };

/** What `sui move build --dump-bytecode-as-base64` prints. */
export interface SuiBytecode {
  /** Base64 Move modules. */
  modules: string[];
  /** Ids of the packages it links against (0x1, 0x2, …). */
  dependencies: string[];
  /** The package digest (32 bytes) when the CLI printed it. */
  digest: number[] | null;
}

/** What `deployments/sui-<network>.json` holds. */
export interface SuiDeploymentRecord {
  network: string;
  kind: "sui";
  rpcUrl: string;
  /** The pouw chain-id string and its keccak256 (what the anchor stores). */
  chainId: string;
  chainIdHash: Hex;
  packageId: string;
  /** `immutable` (the UpgradeCap destroyed at publish) unless deployed with --upgradeable. */
  upgradePolicy: UpgradePolicy;
  /** The UpgradeCap's id when upgradeable (the deployer holds it), else null. */
  upgradeCap: string | null;
  anchor: { objectId: string; initialSharedVersion: string };
  vault: { objectId: string; initialSharedVersion: string };
  /** The vault's domain in withdrawal leaves: its object id's 32 bytes. */
  domain: Hex;
  validatorSetHash: Hex;
  deployer: string;
  transactions: { publish: string; anchor: string; vault: string };
  deployedAt: string;
}

const MOVE_MAGIC = [0xa1, 0x1c, 0xeb, 0x0b];
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Validates the build output; throws SUI_BAD_BYTECODE saying what is wrong with it. */
export function parseBytecodeJson(text: string, source = "bytecode"): SuiBytecode {
  const bad = (why: string) =>
    new AnchorError(AnchorErrorCode.SUI_BAD_BYTECODE, `${source} is not the output of \`sui move build --dump-bytecode-as-base64\`: ${why}`, { source });
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message}); redirect only stdout into the file`);
  }
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw bad("expected an object { modules, dependencies, digest }");
  const { modules, dependencies, digest } = j as Record<string, unknown>;
  if (!Array.isArray(modules) || modules.length === 0) throw bad("`modules` must be a non-empty array of base64 strings");
  modules.forEach((m, i) => {
    if (typeof m !== "string" || m.length % 4 !== 0 || !BASE64.test(m)) throw bad(`modules[${i}] is not base64`);
    const b = fromBase64(m);
    if (b.length < 8 || MOVE_MAGIC.some((x, k) => b[k] !== x)) throw bad(`modules[${i}] is not Move bytecode (no 0xa11ceb0b magic)`);
  });
  if (!Array.isArray(dependencies) || !dependencies.every((d) => typeof d === "string" && isValidSuiAddress(normalizeSuiAddress(d)) && /^(0x)?[0-9a-fA-F]+$/.test(d))) {
    throw bad("`dependencies` must be an array of package ids (0x…)");
  }
  if (digest !== undefined && (!Array.isArray(digest) || digest.length !== 32 || !digest.every((x) => Number.isInteger(x) && x >= 0 && x < 256))) throw bad("`digest` must be 32 bytes");
  return { modules: modules as string[], dependencies: (dependencies as string[]).map((d) => normalizeSuiAddress(d)), digest: (digest as number[] | undefined) ?? null };
}

/** The chain id and anchor set of a genesis file (what `anchor::create` starts from). */
export function loadAnchorSet(genesisPath: string): { chainId: string; chainIdHash: Hex; members: AnchorMember[]; validatorSetHash: Hex } {
  const genesis = parseGenesis(JSON.parse(readFileSync(genesisPath, "utf8")) as GenesisJson);
  genesis.validators.forEach((v) => {
    if (v.anchorAddress.every((b) => b === 0)) throw new Error(`genesis ${genesisPath}: validator ${v.name} has no anchorAddress; the anchor set needs every validator's anchor key address`);
  });
  const members = anchorMembersOf(genesis.validators);
  return { chainId: genesis.chainId, chainIdHash: chainIdHash(genesis.chainId), members, validatorSetHash: validatorSetHash(members) };
}

/** The default full node (gRPC) of a network; others need --rpc. */
export function defaultRpcUrl(network: string): string | null {
  if (network === "localnet") return "http://127.0.0.1:9000";
  return ["mainnet", "testnet", "devnet"].includes(network) ? `https://fullnode.${network}.sui.io:443` : null;
}

export interface SuiDeployPlan {
  network: string;
  rpcUrl: string;
  deployer: string;
  chainId: string;
  chainIdHash: Hex;
  members: AnchorMember[];
  validatorSetHash: Hex;
  bytecode: SuiBytecode;
  upgradePolicy: UpgradePolicy;
  /** The publish transaction's kind (commands and inputs, without sender and gas), built offline. */
  publishKind: { bytes: number; blake2b256: Hex };
}

/** Everything checked and built without a node. The package is made immutable unless `upgradePolicy` says "upgradeable". */
export async function planDeployment(p: { bytecode: SuiBytecode; genesisPath: string; network: string; rpcUrl: string; deployer: string; upgradePolicy?: UpgradePolicy }): Promise<SuiDeployPlan> {
  const set = loadAnchorSet(p.genesisPath);
  const upgradePolicy = p.upgradePolicy ?? "immutable";
  const kind = await publishTransaction(p.bytecode, { sender: p.deployer }, upgradePolicy).build({ onlyTransactionKind: true });
  return { network: p.network, rpcUrl: p.rpcUrl, deployer: p.deployer, ...set, bytecode: p.bytecode, upgradePolicy, publishKind: { bytes: kind.length, blake2b256: bytesToHex(blake2b(kind, { dkLen: 32 })) } };
}

/** What --upgradeable prints (to stderr) before anything is sent. */
export function upgradeableWarning(deployer: string): string {
  return [
    "WARNING: --upgradeable: the package's UpgradeCap goes to the deployer " + deployer + ".",
    "WARNING: whoever holds it can publish a compatible upgrade that adds a function to drain the vault or rewrite the anchor's validator set;",
    "WARNING: users of this deployment trust that key as much as the validators. Deploy without --upgradeable for an immutable package.",
  ].join("\n");
}

export function formatPlan(plan: SuiDeployPlan): string {
  const b = plan.bytecode;
  const moduleBytes = b.modules.reduce((s, m) => s + fromBase64(m).length, 0);
  return [
    `plan: deploy pouw chain "${plan.chainId}" settlement to Sui ${plan.network} (${plan.rpcUrl}) from ${plan.deployer}`,
    `1. publish ${b.modules.length} modules (${moduleBytes} bytes), dependencies ${b.dependencies.join(", ")}${b.digest ? `, package digest ${bytesToHex(Uint8Array.from(b.digest))}` : ""}`,
    plan.upgradePolicy === "immutable"
      ? `   then ${MAKE_IMMUTABLE}(UpgradeCap) in the same transaction: the package can never be upgraded`
      : `   UPGRADEABLE: the UpgradeCap goes to the deployer ${plan.deployer}`,
    `   transaction kind ${plan.publishKind.bytes} bytes, blake2b-256 ${plan.publishKind.blake2b256} (gas and the transaction digest are chosen when sent)`,
    `2. <package>::anchor::create(`,
    `     chain_id   = ${plan.chainIdHash}  (keccak256 "${plan.chainId}")`,
    `     validators = [${plan.members.map((m) => m.address).join(", ")}]`,
    `     powers     = [${plan.members.map((m) => m.power.toString()).join(", ")}]`,
    `   )  set hash ${plan.validatorSetHash}`,
    `3. <package>::vault::create(&anchor)`,
  ].join("\n");
}

/** Runs the three transactions through `client`, checks the anchor read back, and returns the record. */
export async function deploySui(p: { client: ClientWithCoreApi; signer: Keypair; plan: SuiDeployPlan; log?: (line: string) => void }): Promise<SuiDeploymentRecord> {
  const log = p.log ?? (() => {});
  const { client, signer, plan } = p;
  const sender = signer.toSuiAddress();
  const include = { effects: true, objectTypes: true } as const;

  const published = await executeOrThrow(client, signer, publishTransaction(plan.bytecode, { sender }, plan.upgradePolicy), "publish", { include });
  const packageId = publishedPackageId(published.effects);
  const upgradeCap = publishedUpgradeCap(published.effects, published.objectTypes);
  if (plan.upgradePolicy === "immutable" && upgradeCap !== null) {
    throw new AnchorError(AnchorErrorCode.SUI_DEPLOY, `publish ${published.digest} left UpgradeCap ${upgradeCap} in existence although the package was to be made immutable`);
  }
  if (plan.upgradePolicy === "upgradeable" && upgradeCap === null) throw new AnchorError(AnchorErrorCode.SUI_DEPLOY, `publish ${published.digest} created no UpgradeCap`);
  log(`published package ${packageId} in ${published.digest} (${plan.upgradePolicy === "immutable" ? "immutable: UpgradeCap destroyed" : `UPGRADEABLE: UpgradeCap ${upgradeCap} held by ${sender}`})`);

  const created = await executeOrThrow(client, signer, anchorCreateTransaction({ packageId, chainIdHash: plan.chainIdHash, members: plan.members }, { sender }), "anchor::create", { include });
  const anchor = createdShared(created.effects, created.objectTypes, `${packageId}::anchor::Anchor`);
  log(`created Anchor ${anchor.objectId} in ${created.digest}`);

  const vaulted = await executeOrThrow(client, signer, vaultCreateTransaction({ packageId, anchor }, { sender }), "vault::create", { include });
  const vault = createdShared(vaulted.effects, vaulted.objectTypes, `${packageId}::vault::Vault`);
  log(`created Vault ${vault.objectId} in ${vaulted.digest}`);

  const read = await new SuiAnchor({ client, signer, packageId, anchor }).read();
  if (read.chainId !== plan.chainIdHash || read.setHash !== plan.validatorSetHash || read.lastEpoch !== 0n) {
    throw new AnchorError(AnchorErrorCode.SUI_DEPLOY, `the Anchor ${anchor.objectId} reads chain ${read.chainId}, set ${read.setHash}, epoch ${read.lastEpoch}; expected ${plan.chainIdHash}, ${plan.validatorSetHash}, 0`);
  }
  return {
    network: plan.network,
    kind: "sui",
    rpcUrl: plan.rpcUrl,
    chainId: plan.chainId,
    chainIdHash: plan.chainIdHash,
    packageId,
    upgradePolicy: plan.upgradePolicy,
    upgradeCap,
    anchor,
    vault,
    domain: vault.objectId as Hex,
    validatorSetHash: plan.validatorSetHash,
    deployer: sender,
    transactions: { publish: published.digest, anchor: created.digest, vault: vaulted.digest },
    deployedAt: new Date().toISOString(),
  };
}

/** The UpgradeCap a publish left behind (created and still existing), or null. */
export function publishedUpgradeCap(effects: { changedObjects: { objectId: string; idOperation: string; outputState: string }[] }, objectTypes: Record<string, string>): string | null {
  const capType = normalizeStructTag("0x2::package::UpgradeCap");
  const caps = Object.entries(objectTypes).filter(([, t]) => normalizeStructTag(t) === capType).map(([id]) => normalizeSuiAddress(id));
  const live = effects.changedObjects.find((o) => o.idOperation === "Created" && o.outputState === "ObjectWrite" && caps.includes(normalizeSuiAddress(o.objectId)));
  return live ? normalizeSuiAddress(live.objectId) : null;
}

export function writeDeployment(outDir: string, record: SuiDeploymentRecord): string {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `sui-${record.network}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  return file;
}

/**
 * The command line (options in the header; key from POUW_SUI_KEY). Returns
 * the plan on --dry-run, else the record written. `client` replaces the gRPC
 * client (tests).
 */
export async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  io: { log?: (line: string) => void; warn?: (line: string) => void; client?: ClientWithCoreApi } = {},
): Promise<{ plan: SuiDeployPlan; record: SuiDeploymentRecord | null; file: string | null }> {
  const log = io.log ?? ((line: string) => console.log(line));
  const warn = io.warn ?? ((line: string) => console.error(line));
  const { values } = parseArgs({
    args: argv,
    options: {
      bytecode: { type: "string" },
      genesis: { type: "string", default: "genesis/devnet.json" },
      network: { type: "string", default: "testnet" },
      rpc: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      out: { type: "string", default: "deployments" },
      upgradeable: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.bytecode) throw new Error("--bytecode <file> is required: the JSON of `sui move build --dump-bytecode-as-base64` (see contracts/move/README.md)");
  if (!/^[A-Za-z0-9._-]+$/.test(values.network)) throw new Error(`--network must be a plain name (it names the output file), got "${values.network}"`);
  const rpcUrl = values.rpc ?? defaultRpcUrl(values.network);
  if (!rpcUrl) throw new Error(`no default full node for network "${values.network}": pass --rpc URL`);
  const signer = loadSuiKey(env);
  let text: string;
  try {
    text = readFileSync(values.bytecode, "utf8");
  } catch (e) {
    throw new AnchorError(AnchorErrorCode.SUI_BAD_BYTECODE, `cannot read ${values.bytecode}: ${(e as Error).message}`);
  }
  const bytecode = parseBytecodeJson(text, values.bytecode);
  const upgradePolicy: UpgradePolicy = values.upgradeable ? "upgradeable" : "immutable";
  const plan = await planDeployment({ bytecode, genesisPath: resolve(values.genesis), network: values.network, rpcUrl, deployer: signer.toSuiAddress(), upgradePolicy });
  if (upgradePolicy === "upgradeable") warn(upgradeableWarning(plan.deployer));
  log(formatPlan(plan));
  if (values["dry-run"]) {
    log("dry run: nothing sent, nothing written");
    return { plan, record: null, file: null };
  }
  const client = io.client ?? new SuiGrpcClient({ network: values.network, baseUrl: rpcUrl });
  const record = await deploySui({ client, signer, plan, log });
  const file = writeDeployment(resolve(values.out), record);
  log(`  Anchor ${record.anchor.objectId} (shared at ${record.anchor.initialSharedVersion}), Vault ${record.vault.objectId} (domain ${record.domain})`);
  log(`wrote ${relative(process.cwd(), file) || file}`);
  return { plan, record, file };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`deploy-sui: ${describeError(e)}`);
    process.exit(1);
  });
}
