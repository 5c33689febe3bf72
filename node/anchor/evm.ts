/**
 * The EVM side of settlement (DESIGN §9) through viem: `EvmAnchor`, the
 * relayer's `AnchorTarget` for a deployed PouwAnchor; `deployEvm`, which
 * deploys PouwAnchor for a genesis anchor set and PouwVault beside it; and
 * `withdrawFromVault`, which claims one withdrawal leaf. Contract refusals
 * come out as `AnchorError` with code EVM_REVERTED and the decoded custom
 * error (e.g. `WrongEpoch(2, 1)`) in the message and in `errorName`.
 */
import { readFileSync } from "node:fs";
import { BaseError, ContractFunctionRevertedError, concat, getAddress, type Abi, type Account, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { chainIdHash, evmDomain, sortMembers, toCompact, validatorSetHash, type AnchorMember, type AnchorTarget, type Checkpoint, type SignedCheckpoint, type WithdrawalLeaf } from "./checkpoint.ts";
import { POUW_ANCHOR_ABI, POUW_VAULT_ABI } from "./evm-abi.ts";
import { AnchorError, AnchorErrorCode } from "./errors.ts";
import { MAX_ANCHOR_SET } from "../types/params.ts";

export { AnchorError, AnchorErrorCode } from "./errors.ts";

/** viem clients as the node holds them: any transport and chain; the wallet must carry its account. */
export type EvmPublicClient = PublicClient<Transport, Chain | undefined>;
export type EvmWalletClient = WalletClient<Transport, Chain | undefined, Account>;

/** An AnchorError for whatever a viem call threw: a decoded revert, or an RPC failure. */
function toAnchorError(e: unknown, what: string): AnchorError {
  if (e instanceof AnchorError) return e;
  const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : null;
  if (revert instanceof ContractFunctionRevertedError) {
    const name = revert.data?.errorName;
    const args = (revert.data?.args ?? []).map(String).join(", ");
    const reason = name ? `${name}(${args})` : (revert.reason ?? revert.signature ?? "no reason");
    return new AnchorError(AnchorErrorCode.EVM_REVERTED, `${what} reverted: ${reason}`, { errorName: name, args: revert.data?.args }, { cause: e });
  }
  const message = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return new AnchorError(AnchorErrorCode.EVM_RPC, `${what} failed: ${message}`, {}, { cause: e });
}

/**
 * Simulates a contract write (so a revert is decoded before any gas is spent),
 * sends it and waits for its receipt; returns the receipt. A transaction that
 * is mined but reverts (the state moved in between) is EVM_REVERTED too.
 */
async function write(publicClient: EvmPublicClient, walletClient: EvmWalletClient, what: string, call: { address: Hex; abi: Abi; functionName: string; args: readonly unknown[]; value?: bigint }) {
  let hash: Hex;
  try {
    const { request } = await publicClient.simulateContract({ ...call, account: walletClient.account });
    hash = await walletClient.writeContract({ ...request, chain: walletClient.chain } as Parameters<EvmWalletClient["writeContract"]>[0]);
  } catch (e) {
    throw toAnchorError(e, what);
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash }).catch((e: unknown) => {
    throw toAnchorError(e, `${what} (waiting for ${hash})`);
  });
  if (receipt.status !== "success") throw new AnchorError(AnchorErrorCode.EVM_REVERTED, `${what} reverted on chain: transaction ${hash} in block ${receipt.blockNumber}`, { txHash: hash });
  return receipt;
}

/**
 * submitCheckpoint's arguments for a signed checkpoint: the set ascending by
 * address, and the signatures present as 64-byte EIP-2098 forms packed in that
 * order with bit i of the bitmap set for member i. Does not check the quorum:
 * the contract does (and names what is missing).
 */
export function evmSubmitArgs(c: SignedCheckpoint): readonly [Checkpoint, Hex[], bigint[], Hex, bigint] {
  if (c.signatures.length !== c.members.length) throw new AnchorError(AnchorErrorCode.EVM_BAD_CHECKPOINT, `${c.signatures.length} signatures for ${c.members.length} members`);
  if (c.members.length > MAX_ANCHOR_SET) throw new AnchorError(AnchorErrorCode.EVM_BAD_CHECKPOINT, `${c.members.length} members: PouwAnchor takes at most ${MAX_ANCHOR_SET}`);
  // Members are served ascending; sort anyway, keeping each signature with its signer.
  const rows = c.members.map((m, i) => ({ address: getAddress(m.address), power: m.power, signature: c.signatures[i] ?? null }));
  rows.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : BigInt(a.address) > BigInt(b.address) ? 1 : 0));
  const compact: Hex[] = [];
  let bitmap = 0n;
  rows.forEach((r, i) => {
    if (!r.signature) return;
    try {
      compact.push(toCompact(r.signature));
    } catch (e) {
      throw new AnchorError(AnchorErrorCode.EVM_BAD_CHECKPOINT, `member ${r.address}'s signature is malformed`, {}, { cause: e });
    }
    bitmap |= 1n << BigInt(i);
  });
  return [c.checkpoint, rows.map((r) => r.address), rows.map((r) => r.power), compact.length === 0 ? "0x" : concat(compact), bitmap];
}

/** A deployed PouwAnchor as the relayer's AnchorTarget. */
export class EvmAnchor implements AnchorTarget {
  readonly name: string;
  readonly address: Hex;
  readonly #public: EvmPublicClient;
  readonly #wallet: EvmWalletClient;

  /** `evmChainId` names the target (`evm:<id>`); it defaults to the public client's chain. */
  constructor(p: { publicClient: EvmPublicClient; walletClient: EvmWalletClient; address: Hex; evmChainId?: bigint | number }) {
    const id = p.evmChainId ?? p.publicClient.chain?.id;
    if (id === undefined) throw new TypeError("EvmAnchor needs evmChainId when the public client has no chain");
    this.name = `evm:${id}`;
    this.address = getAddress(p.address);
    this.#public = p.publicClient;
    this.#wallet = p.walletClient;
  }

  async lastEpoch(): Promise<bigint> {
    try {
      return await this.#public.readContract({ address: this.address, abi: POUW_ANCHOR_ABI, functionName: "lastEpoch" });
    } catch (e) {
      throw toAnchorError(e, `${this.name} lastEpoch`);
    }
  }

  async submit(c: SignedCheckpoint): Promise<string> {
    const args = evmSubmitArgs(c);
    const receipt = await write(this.#public, this.#wallet, `${this.name} submitCheckpoint(epoch ${c.checkpoint.epoch})`, { address: this.address, abi: POUW_ANCHOR_ABI, functionName: "submitCheckpoint", args });
    return receipt.transactionHash;
  }
}

/** Creation bytecode of the two contracts. */
export interface EvmBytecode {
  anchor: Hex;
  vault: Hex;
}

/** Where Hardhat writes the compiled contracts (hardhat.config.ts: sources contracts/evm). */
export const EVM_ARTIFACTS_DIR = new URL("../../artifacts/contracts/evm/", import.meta.url);

/** Reads the creation bytecode from Hardhat's artifacts; throws EVM_NO_ARTIFACTS (run `npx hardhat build`) when they are missing. */
export function loadEvmArtifacts(dir: URL = EVM_ARTIFACTS_DIR): EvmBytecode {
  const read = (name: string): Hex => {
    const file = new URL(`${name}.sol/${name}.json`, dir);
    let bytecode: unknown;
    try {
      bytecode = (JSON.parse(readFileSync(file, "utf8")) as { bytecode?: unknown }).bytecode;
    } catch (e) {
      throw new AnchorError(AnchorErrorCode.EVM_NO_ARTIFACTS, `no compiled ${name} at ${file.pathname}: run \`npx hardhat build\` in the repository first`, {}, { cause: e });
    }
    if (typeof bytecode !== "string" || !/^0x[0-9a-f]{2,}$/i.test(bytecode)) throw new AnchorError(AnchorErrorCode.EVM_NO_ARTIFACTS, `${file.pathname} has no bytecode: run \`npx hardhat build\``);
    return bytecode as Hex;
  };
  return { anchor: read("PouwAnchor"), vault: read("PouwVault") };
}

export interface EvmDeployment {
  evmChainId: bigint;
  anchor: Hex;
  vault: Hex;
  /** What the vault's withdrawal leaves carry: evmDomain(evmChainId, vault). */
  domain: Hex;
  deployer: Hex;
  /** The block of the anchor's deployment (where a log scan starts). */
  blockNumber: bigint;
  /** The genesis anchor set's hash, as the anchor stores it. */
  validatorSetHash: Hex;
}

async function deploy(publicClient: EvmPublicClient, walletClient: EvmWalletClient, what: string, p: { abi: Abi; bytecode: Hex; args: readonly unknown[] }) {
  let hash: Hex;
  try {
    hash = await walletClient.deployContract({ abi: p.abi, bytecode: p.bytecode, args: p.args, account: walletClient.account, chain: walletClient.chain });
  } catch (e) {
    throw toAnchorError(e, `deploying ${what}`);
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash }).catch((e: unknown) => {
    throw toAnchorError(e, `deploying ${what} (waiting for ${hash})`);
  });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new AnchorError(AnchorErrorCode.EVM_REVERTED, `deploying ${what} reverted: transaction ${hash}`, { txHash: hash });
  return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
}

/**
 * Deploys PouwAnchor(chainIdHash(chainId), members ascending, powers) and then
 * PouwVault(anchor), waiting for each; checks what the contracts report
 * (set hash, domain) against what the node computes.
 */
export async function deployEvm(p: { publicClient: EvmPublicClient; walletClient: EvmWalletClient; chainId: string; members: readonly AnchorMember[]; bytecode: EvmBytecode }): Promise<EvmDeployment> {
  const { publicClient, walletClient } = p;
  const members = sortMembers(p.members);
  const setHash = validatorSetHash(members); // throws on a repeated address or zero power
  const anchor = await deploy(publicClient, walletClient, "PouwAnchor", { abi: POUW_ANCHOR_ABI, bytecode: p.bytecode.anchor, args: [chainIdHash(p.chainId), members.map((m) => m.address), members.map((m) => m.power)] });
  const vault = await deploy(publicClient, walletClient, "PouwVault", { abi: POUW_VAULT_ABI, bytecode: p.bytecode.vault, args: [anchor.address] });
  const evmChainId = BigInt(await publicClient.getChainId());
  const domain = evmDomain(evmChainId, vault.address);
  const [onChainSet, onChainDomain] = await Promise.all([
    publicClient.readContract({ address: anchor.address, abi: POUW_ANCHOR_ABI, functionName: "validatorSetHash" }),
    publicClient.readContract({ address: vault.address, abi: POUW_VAULT_ABI, functionName: "domain" }),
  ]);
  if (onChainSet !== setHash || onChainDomain !== domain) throw new AnchorError(AnchorErrorCode.EVM_MISMATCH, `the deployed contracts disagree with the node: set ${onChainSet} (expected ${setHash}), domain ${onChainDomain} (expected ${domain})`);
  return { evmChainId, anchor: anchor.address, vault: vault.address, domain, deployer: getAddress(walletClient.account.address), blockNumber: anchor.blockNumber, validatorSetHash: setHash };
}

/**
 * Adds `value` wei to the coin the vault pays withdrawals from (`PouwVault.fund`);
 * returns the transaction hash. Funding only: nothing on the pouw chain credits it.
 */
export async function fundVault(p: { publicClient: EvmPublicClient; walletClient: EvmWalletClient; vault: Hex; value: bigint }): Promise<Hex> {
  const receipt = await write(p.publicClient, p.walletClient, `fund(${p.value} wei)`, { address: getAddress(p.vault), abi: POUW_VAULT_ABI, functionName: "fund", args: [], value: p.value });
  return receipt.transactionHash;
}

/** Claims one withdrawal leaf of an anchored epoch from the vault (it pays amount × 1 gwei); returns the transaction hash. */
export async function withdrawFromVault(p: { publicClient: EvmPublicClient; walletClient: EvmWalletClient; vault: Hex; leaf: WithdrawalLeaf; proof: Hex[] }): Promise<Hex> {
  const receipt = await write(p.publicClient, p.walletClient, `withdraw(epoch ${p.leaf.epoch}, index ${p.leaf.index})`, { address: getAddress(p.vault), abi: POUW_VAULT_ABI, functionName: "withdraw", args: [p.leaf, p.proof] });
  return receipt.transactionHash;
}
