/**
 * Deploys the EVM settlement contracts (PouwAnchor for the genesis anchor set,
 * PouwVault beside it) to a JSON-RPC endpoint and writes
 * `<out>/<network>.json` with the addresses the relayer and wallets need.
 *
 *   POUW_EVM_KEY=0x… [POUW_EVM_RPC=http://127.0.0.1:8545] \
 *     node scripts/deploy-evm.ts [--genesis genesis/devnet.json] [--network localhost] [--out deployments] [--fund <ether>]
 *
 * Builds the contracts first (`hardhat build`) when the artifacts are missing.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { parseEther } from "viem";
import { anchorMembersOf, chainIdHash } from "../node/anchor/checkpoint.ts";
import { envKey, evmClients, type EvmDeploymentFile } from "../node/anchor/deployment.ts";
import { AnchorErrorCode, deployEvm, fundVault, loadEvmArtifacts, type EvmBytecode, type EvmPublicClient, type EvmWalletClient } from "../node/anchor/evm.ts";
import { parseGenesis, type GenesisJson } from "../node/types/genesis.ts";
import { describeError, isPouwError } from "../node/util/errors.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
export const DEFAULT_RPC = "http://127.0.0.1:8545";

/** What `deployments/<network>.json` holds (the node reads it as `EvmDeploymentFile`). */
export type EvmDeploymentRecord = EvmDeploymentFile & { deployedAt: string };

/** The contracts' bytecode, building them with Hardhat first when the artifacts are missing. */
export function bytecodeOrBuild(): EvmBytecode {
  try {
    return loadEvmArtifacts();
  } catch (e) {
    if (!isPouwError(e) || e.code !== AnchorErrorCode.EVM_NO_ARTIFACTS) throw e;
  }
  console.log("contracts not built: running hardhat build");
  const r = spawnSync(process.execPath, [join(REPO, "node_modules/.bin/hardhat"), "build", "--quiet"], { cwd: REPO, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`hardhat build failed (${r.error?.message ?? `exit ${r.status}`})`);
  return loadEvmArtifacts();
}

/** Deploys for the genesis at `genesisPath` through the given clients and writes `<outDir>/<network>.json`. */
export async function deployFromGenesis(p: { publicClient: EvmPublicClient; walletClient: EvmWalletClient; genesisPath: string; network: string; rpcUrl: string; outDir: string; bytecode?: EvmBytecode }): Promise<{ file: string; record: EvmDeploymentRecord }> {
  const genesis = parseGenesis(JSON.parse(readFileSync(p.genesisPath, "utf8")) as GenesisJson);
  const members = anchorMembersOf(genesis.validators);
  const d = await deployEvm({ publicClient: p.publicClient, walletClient: p.walletClient, chainId: genesis.chainId, members, bytecode: p.bytecode ?? bytecodeOrBuild() });
  const record: EvmDeploymentRecord = {
    network: p.network,
    kind: "evm",
    rpcUrl: p.rpcUrl,
    evmChainId: Number(d.evmChainId),
    chainId: genesis.chainId,
    chainIdHash: chainIdHash(genesis.chainId),
    anchor: d.anchor,
    vault: d.vault,
    domain: d.domain,
    deployer: d.deployer,
    blockNumber: Number(d.blockNumber),
    validatorSetHash: d.validatorSetHash,
    deployedAt: new Date().toISOString(),
  };
  mkdirSync(p.outDir, { recursive: true });
  const file = join(p.outDir, `${p.network}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
  return { file, record };
}

/** The command line: options as in the header, RPC URL and key from POUW_EVM_RPC / POUW_EVM_KEY. */
export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<EvmDeploymentRecord> {
  const { values } = parseArgs({
    args: argv,
    options: {
      genesis: { type: "string", default: "genesis/devnet.json" },
      network: { type: "string", default: "localhost" },
      out: { type: "string", default: "deployments" },
      /** Fund the new vault with this much native coin (in ether) for withdrawals, so they can be claimed at once (devnets). Not credited on the chain. */
      fund: { type: "string" },
    },
    strict: true,
  });
  if (!/^[A-Za-z0-9._-]+$/.test(values.network)) throw new Error(`--network must be a plain name (it names the output file), got "${values.network}"`);
  const key = envKey(env, "POUW_EVM_KEY", "deploys the contracts");
  const rpcUrl = env.POUW_EVM_RPC?.trim() || DEFAULT_RPC;
  const bytecode = bytecodeOrBuild();
  const { publicClient, walletClient } = await evmClients(rpcUrl, key);

  const genesisPath = resolve(values.genesis);
  const { file, record } = await deployFromGenesis({ publicClient, walletClient, genesisPath, network: values.network, rpcUrl, outDir: resolve(values.out), bytecode });
  console.log(`deployed pouw chain "${record.chainId}" settlement to ${record.network} (EVM chain ${record.evmChainId}) at block ${record.blockNumber}, deployer ${record.deployer}`);
  console.log(`  PouwAnchor ${record.anchor}  validator set ${record.validatorSetHash}`);
  console.log(`  PouwVault  ${record.vault}  domain ${record.domain}`);
  if (values.fund !== undefined) {
    const value = parseEther(values.fund);
    if (value <= 0n) throw new Error(`--fund must be a positive amount of ether, got "${values.fund}"`);
    const hash = await fundVault({ publicClient, walletClient, vault: record.vault, value });
    console.log(`  funded the vault with ${values.fund} ether for withdrawals (tx ${hash})`);
  }
  const shown = relative(process.cwd(), file);
  console.log(`wrote ${shown.startsWith("..") ? file : shown}`);
  return record;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`deploy-evm: ${describeError(e)}`);
    process.exit(1);
  });
}
