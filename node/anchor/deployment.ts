/**
 * Deployment records (`deployments/<network>.json` from scripts/deploy-evm.ts,
 * `deployments/sui-<network>.json` from scripts/deploy-sui.ts) and the
 * clients and keys the relayer and the claim command build from them.
 */
import { readFileSync } from "node:fs";
import { BaseError, createPublicClient, createWalletClient, defineChain, getAddress, http, isHex, size, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describeError } from "../util/errors.ts";
import { decodeSuiPrivateKey, type Keypair } from "@mysten/sui/cryptography";
import { SuiGrpcClient } from "@mysten/sui/grpc";
import { Ed25519Keypair } from "@mysten/sui/keypairs/ed25519";
import { Secp256k1Keypair } from "@mysten/sui/keypairs/secp256k1";
import { Secp256r1Keypair } from "@mysten/sui/keypairs/secp256r1";
import { AnchorError, AnchorErrorCode } from "./errors.ts";
import { EvmAnchor, type EvmPublicClient, type EvmWalletClient } from "./evm.ts";
import { SuiAnchor } from "./sui-client.ts";

/** What scripts/deploy-evm.ts writes. Chain ids and block numbers are JSON numbers. */
export interface EvmDeploymentFile {
  network: string;
  kind: "evm";
  rpcUrl: string;
  evmChainId: number;
  /** The pouw chain-id string and its keccak256 (what the anchor stores). */
  chainId: string;
  chainIdHash: Hex;
  anchor: Hex;
  vault: Hex;
  domain: Hex;
  deployer: Hex;
  blockNumber: number;
  validatorSetHash: Hex;
}

function readRecord<T>(path: string): Partial<T> {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Partial<T>;
  } catch (e) {
    throw new Error(`cannot read deployment ${path}: ${describeError(e)}`);
  }
}

/** Reads and checks an EVM deployment record; `chainId` (when given) must be the pouw chain it was deployed for. */
export function readEvmDeployment(path: string, chainId?: string): EvmDeploymentFile {
  const d = readRecord<EvmDeploymentFile>(path);
  if (d.kind !== "evm") throw new Error(`${path} is not an EVM deployment (kind ${JSON.stringify(d.kind)})`);
  for (const k of ["anchor", "vault"] as const) if (!isHex(d[k]) || size(d[k]) !== 20) throw new Error(`${path}: ${k} must be a 20-byte address`);
  if (!isHex(d.domain) || size(d.domain) !== 32) throw new Error(`${path}: domain must be 32 bytes of hex`);
  if (typeof d.rpcUrl !== "string" || !Number.isSafeInteger(d.evmChainId)) throw new Error(`${path}: rpcUrl and evmChainId are required`);
  if (chainId !== undefined && d.chainId !== chainId) throw new Error(`${path} was deployed for chain "${d.chainId}", this node runs "${chainId}"`);
  return { ...(d as EvmDeploymentFile), anchor: getAddress(d.anchor!), vault: getAddress(d.vault!) };
}

/** A private key from the environment (0x + 64 hex digits), with a message that names the variable. */
export function envKey(env: NodeJS.ProcessEnv, name: string, what: string): Hex {
  const key = env[name]?.trim();
  if (!key) throw new Error(`${name} is not set: export the private key (0x + 64 hex digits) of the account that ${what}`);
  if (!isHex(key) || size(key) !== 32) throw new Error(`${name} must be a private key: 0x followed by 64 hex digits`);
  return key;
}

/** viem clients for an EVM JSON-RPC endpoint; checks that it answers and, when given, that its chain id is `expectChainId`. */
export async function evmClients(rpcUrl: string, key: Hex, expectChainId?: number): Promise<{ publicClient: EvmPublicClient; walletClient: EvmWalletClient; evmChainId: number }> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const evmChainId = await probe.getChainId().catch((e: unknown) => {
    const why = e instanceof BaseError ? `${e.shortMessage}${e.details ? ` (${e.details})` : ""}` : describeError(e);
    throw new Error(`cannot reach the EVM node at ${rpcUrl}: ${why}`);
  });
  if (expectChainId !== undefined && evmChainId !== expectChainId) throw new Error(`the EVM node at ${rpcUrl} is chain ${evmChainId}, the deployment is on chain ${expectChainId}`);
  const chain = defineChain({ id: evmChainId, name: `evm-${evmChainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  return {
    publicClient: createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 250 }),
    walletClient: createWalletClient({ chain, account: privateKeyToAccount(key), transport: http(rpcUrl) }),
    evmChainId,
  };
}

/** The relayer's target for an EVM deployment: `POUW_EVM_KEY` pays the gas, `POUW_EVM_RPC` overrides the record's RPC URL. */
export async function evmTargetFromDeployment(path: string, chainId: string, env: NodeJS.ProcessEnv = process.env): Promise<EvmAnchor> {
  const d = readEvmDeployment(path, chainId);
  const key = envKey(env, "POUW_EVM_KEY", "pays the relayer's gas on the EVM chain");
  const { publicClient, walletClient, evmChainId } = await evmClients(env.POUW_EVM_RPC?.trim() || d.rpcUrl, key, d.evmChainId);
  return new EvmAnchor({ publicClient, walletClient, address: d.anchor, evmChainId });
}

/** What scripts/deploy-sui.ts writes (the fields the node reads). */
export interface SuiDeploymentFile {
  network: string;
  kind: "sui";
  rpcUrl: string;
  chainId: string;
  packageId: string;
  /** "immutable" unless deployed with --upgradeable (then `upgradeCap` names the cap the deployer holds); absent in records from before the flag. */
  upgradePolicy?: "immutable" | "upgradeable";
  upgradeCap?: string | null;
  anchor: { objectId: string; initialSharedVersion: string };
  vault: { objectId: string; initialSharedVersion: string };
  domain: Hex;
}

export function readSuiDeployment(path: string, chainId?: string): SuiDeploymentFile {
  const d = readRecord<SuiDeploymentFile>(path);
  if (d.kind !== "sui") throw new Error(`${path} is not a Sui deployment (kind ${JSON.stringify(d.kind)})`);
  if (typeof d.packageId !== "string" || typeof d.anchor?.objectId !== "string" || typeof d.rpcUrl !== "string") throw new Error(`${path}: packageId, anchor and rpcUrl are required`);
  if (chainId !== undefined && d.chainId !== chainId) throw new Error(`${path} was deployed for chain "${d.chainId}", this node runs "${chainId}"`);
  return d as SuiDeploymentFile;
}

/** A Sui keypair from POUW_SUI_KEY (the deployer's, or the relayer's that pays for submissions) (`suiprivkey1…`, as `sui keytool export` prints); throws SUI_BAD_KEY. */
export function loadSuiKey(env: NodeJS.ProcessEnv): Keypair {
  const key = env.POUW_SUI_KEY?.trim();
  if (!key) throw new AnchorError(AnchorErrorCode.SUI_BAD_KEY, "POUW_SUI_KEY is not set: export the deployer's key as a suiprivkey1… string (`sui keytool export --key-identity <address or alias>`)");
  let parsed: ReturnType<typeof decodeSuiPrivateKey>;
  try {
    parsed = decodeSuiPrivateKey(key);
  } catch (e) {
    throw new AnchorError(AnchorErrorCode.SUI_BAD_KEY, `POUW_SUI_KEY is not a Sui private key (expected suiprivkey1…): ${(e as Error).message}`);
  }
  switch (parsed.scheme) {
    case "ED25519":
      return Ed25519Keypair.fromSecretKey(parsed.secretKey);
    case "Secp256k1":
      return Secp256k1Keypair.fromSecretKey(parsed.secretKey);
    case "Secp256r1":
      return Secp256r1Keypair.fromSecretKey(parsed.secretKey);
    default:
      throw new AnchorError(AnchorErrorCode.SUI_BAD_KEY, `POUW_SUI_KEY has signature scheme ${parsed.scheme}; use an ED25519, Secp256k1 or Secp256r1 key`);
  }
}


/** The relayer's target for a Sui deployment: `POUW_SUI_KEY` pays the gas, `POUW_SUI_RPC` overrides the record's (gRPC) URL. */
export function suiTargetFromDeployment(path: string, chainId: string, env: NodeJS.ProcessEnv = process.env): SuiAnchor {
  const d = readSuiDeployment(path, chainId);
  const client = new SuiGrpcClient({ network: d.network, baseUrl: env.POUW_SUI_RPC?.trim() || d.rpcUrl });
  return new SuiAnchor({ client, signer: loadSuiKey(env), packageId: d.packageId, anchor: d.anchor, name: `sui:${d.network}` });
}
