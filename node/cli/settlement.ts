/**
 * Settlement commands (DESIGN §9): `pouw tx withdraw` moves POUW to a vault's
 * withdrawal tree; `pouw checkpoint show|proof|claim` reads checkpoints and
 * withdrawal proofs over RPC and claims a withdrawal from an EVM vault.
 */
import { getAddress, isHex, pad, size, type Hex } from "viem";
import { readEvmDeployment, envKey, evmClients } from "../anchor/deployment.ts";
import { withdrawFromVault } from "../anchor/evm.ts";
import { PouwClient, type WithdrawalProofInfo } from "../client/client.ts";
import { TxSelector } from "../types/transaction.ts";
import { formatPouw, parsePouw } from "./amount.ts";
import { send, type SendOptions } from "./tx.ts";

export interface WithdrawOptions extends SendOptions {
  amount: string;
  /** The payee on the settlement chain: a 20-byte EVM address or 32 bytes (a Sui address). */
  to: string;
  deployment?: string;
  domain?: string;
}

/** A recipient as the 32-byte leaf field: EVM addresses left-padded with zeros. */
export function recipientWord(to: string): Hex {
  if (!isHex(to) || (size(to) !== 20 && size(to) !== 32)) throw new Error("--to must be a 0x-prefixed 20-byte EVM address or a 32-byte Sui address");
  return size(to) === 20 ? pad(getAddress(to), { size: 32 }) : to;
}

export async function withdrawCommand(opts: WithdrawOptions): Promise<void> {
  const amount = parsePouw(opts.amount);
  const recipient = recipientWord(opts.to);
  let domain: Hex;
  let where: string;
  if (opts.deployment) {
    const chainId = (await new PouwClient(opts.rpc).chainInfo()).chainId;
    const d = readEvmDeployment(opts.deployment, chainId);
    if (size(recipient) === 32 && BigInt(recipient) >> 160n !== 0n) throw new Error("--to must be a 20-byte EVM address for an EVM vault");
    domain = d.domain;
    where = `the vault ${d.vault} on EVM chain ${d.evmChainId} (${d.network})`;
  } else if (opts.domain) {
    if (!isHex(opts.domain) || size(opts.domain) !== 32) throw new Error("--domain must be 32 bytes of 0x-prefixed hex");
    domain = opts.domain;
    where = `the vault with domain ${domain}`;
  } else throw new Error("name the vault: --deployment <deployments/…json> (or --domain <0x…32 bytes>)");
  await send(
    opts,
    { selector: TxSelector.Withdraw, value: { domain: Buffer.from(domain.slice(2), "hex"), recipient: Buffer.from(recipient.slice(2), "hex"), amount } },
    `withdraw ${formatPouw(amount)} POUW to ${opts.to} through ${where}; claimable once the epoch's checkpoint is anchored`,
  );
}

export async function checkpointShowCommand(epoch: string | undefined, opts: { rpc: string; json?: boolean }): Promise<void> {
  const client = new PouwClient(opts.rpc);
  const c = await client.getCheckpoint(epoch === undefined || epoch === "latest" ? "latest" : Number(epoch));
  // Anchoring as the node's relayer sees it (an older node without pouw_relayStatus: unknown).
  const relay = await client.relayStatus().catch(() => null);
  const anchored = relay?.targets.map((t) => ({ target: t.target, anchored: t.lastEpoch >= c.epoch, lastEpoch: t.lastEpoch })) ?? null;
  if (opts.json) return console.log(JSON.stringify({ ...c, anchored }));
  const signed = c.validators.filter((v) => v.signature).length;
  const anchorLines =
    anchored === null
      ? ["  anchored          unknown (this node does not report its relay targets)"]
      : anchored.length === 0
        ? ["  anchored          unknown: this node relays to no target (ask a relaying node, or read the anchor contract)"]
        : anchored.map((a) => `  anchored on ${a.target}: ${a.anchored ? "yes" : "NO"} (its anchor has epoch ${a.lastEpoch < 0 ? "none yet" : a.lastEpoch})`);
  console.log(
    [
      `checkpoint of epoch ${c.epoch} at height ${c.height}: ${c.quorum ? "QUORUM" : "waiting for signatures"} (${signed}/${c.validators.length} signers, power ${c.signedPower}/${c.totalPower})`,
      `  digest            ${c.digest}`,
      `  block hash        ${c.blockHash}`,
      `  state root        ${c.stateRoot}`,
      `  withdrawals root  ${c.withdrawalsRoot} (${c.withdrawals} withdrawals)`,
      `  validator set     ${c.validatorSetHash}`,
      `  next set          ${c.nextValidatorSetHash}`,
      ...anchorLines,
      ...c.validators.map((v) => `    ${v.address} power ${v.power} ${v.signature ? "signed" : "—"}`),
    ].join("\n"),
  );
}

function proofText(p: WithdrawalProofInfo): string {
  const head = `withdrawal ${p.leaf.index} of epoch ${p.leaf.epoch}: ${formatPouw(BigInt(p.leaf.amount))} POUW to ${p.leaf.recipient} (domain ${p.leaf.domain}), tx ${p.txHash}`;
  if (p.status === "pending") return `${head}\n  pending: the epoch ends at height ${p.checkpointHeight}`;
  return `${head}\n  withdrawals root ${p.withdrawalsRoot}\n  proof ${JSON.stringify(p.proof)}`;
}

export async function checkpointProofCommand(txHash: string, opts: { rpc: string; json?: boolean }): Promise<void> {
  const p = await new PouwClient(opts.rpc).getWithdrawalProof(txHash);
  console.log(opts.json ? JSON.stringify(p) : proofText(p));
}

/** Claims a withdrawal from the EVM vault of a deployment (anyone may send it; the vault pays the leaf's recipient). */
export async function checkpointClaimCommand(txHash: string, opts: { rpc: string; deployment: string; json?: boolean }): Promise<void> {
  const client = new PouwClient(opts.rpc);
  const chainId = (await client.chainInfo()).chainId;
  const d = readEvmDeployment(opts.deployment, chainId);
  const p = await client.getWithdrawalProof(txHash);
  if (p.status !== "checkpointed" || !p.proof) throw new Error(`the withdrawal's epoch ${p.leaf.epoch} has not finished: its checkpoint is at height ${p.checkpointHeight}`);
  if (p.leaf.domain !== d.domain) throw new Error(`the withdrawal names domain ${p.leaf.domain}, the deployment's vault is ${d.domain}`);
  const key = envKey(process.env, "POUW_EVM_KEY", "sends the claim on the EVM chain");
  const { publicClient, walletClient } = await evmClients(process.env.POUW_EVM_RPC?.trim() || d.rpcUrl, key, d.evmChainId);
  const leaf = { ...p.leaf, epoch: BigInt(p.leaf.epoch), index: BigInt(p.leaf.index), amount: BigInt(p.leaf.amount) };
  const tx = await withdrawFromVault({ publicClient, walletClient, vault: d.vault, leaf, proof: p.proof });
  console.log(opts.json ? JSON.stringify({ tx, epoch: p.leaf.epoch, index: p.leaf.index }) : `claimed withdrawal ${p.leaf.index} of epoch ${p.leaf.epoch} from ${d.vault}: tx ${tx}`);
}
