/**
 * Typed JSON-RPC client for pouw nodes: used by the CLI, scripts, tests and
 * wallets. Node errors arrive as `PouwRpcError` with the node's stable code.
 */
import type { CommitJson, HeaderJson, ProofJson, ReceiptJson, ReplacedTxJson, TxJson } from "./types.ts";
import { toHex } from "../util/hex.ts";
import type { JobTargetJson, TrainingSettingsJson } from "../types/transaction.ts";

export interface CheckpointInfo {
  epoch: number;
  height: number;
  chainId: `0x${string}`;
  blockHash: `0x${string}`;
  stateRoot: `0x${string}`;
  withdrawalsRoot: `0x${string}`;
  validatorSetHash: `0x${string}`;
  nextValidatorSetHash: `0x${string}`;
  digest: `0x${string}`;
  withdrawals: number;
  validators: { address: `0x${string}`; power: string; signature: `0x${string}` | null }[];
  nextValidators: { address: `0x${string}`; power: string }[];
  signedPower: string;
  totalPower: string;
  quorum: boolean;
}

export interface WithdrawalProofInfo {
  leaf: { chainId: `0x${string}`; epoch: number; index: number; domain: `0x${string}`; recipient: `0x${string}`; token: `0x${string}`; amount: string };
  sender: string;
  height: number;
  txHash: `0x${string}`;
  /** The height whose block ends the withdrawal's epoch. */
  checkpointHeight: number;
  /** "pending" until the epoch's last block; then the proof is there. */
  status: "pending" | "checkpointed";
  withdrawalsRoot: `0x${string}` | null;
  leafHash: `0x${string}` | null;
  proof: `0x${string}`[] | null;
}

export { ClientError, type ClientErrorCode } from "./fits.ts";

export class PouwRpcError extends Error {
  /** JSON-RPC error code (-32xxx). */
  readonly rpcCode: number;
  /** The node's stable string code, e.g. NONCE_TOO_LOW. */
  readonly code: string;
  readonly data: Record<string, unknown>;

  constructor(rpcCode: number, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.name = "PouwRpcError";
    this.rpcCode = rpcCode;
    this.code = typeof data.code === "string" ? data.code : String(rpcCode);
    this.data = data;
  }
}

export interface ChainInfo {
  chainId: string;
  nodeVersion: string;
  genesisTime: number;
  height: number;
  headHash: string;
  headTime: number;
  stateRoot: string;
  stateRootComputed: string;
  baseFeePerGas: string;
  validator: string | null;
  mempoolSize: number;
  /** Peers, block sync and the consensus round; null when the node runs without networking. */
  network: { peers: number; peerId: string; syncing: boolean; bestPeerHeight: number; round: number } | null;
  /** The vaults a Withdraw may name (params.settlementDomains); empty: the chain does not check domains. */
  settlementDomains: { domain: string; kind: "evm" | "sui" }[];
  /** The lowest height whose block this node still holds; 0 on an archive node. */
  lowestRetainedHeight: number;
  /** Datasets jobs may train on (registered in genesis). */
  datasets: { name: string; id: string; features: number; classes: number; train: number; validation: number }[];
  /** Supply = account balances + staked + rewardsOutstanding + pouwPool + escrowed. */
  totals: { supply: string; burned: string; pouwPool: string; staked: string; rewardsOutstanding: string; escrowed: string };
}

export interface AccountInfo {
  address: string;
  exists: boolean;
  balance: string;
  nonce: string;
  height: number;
  stateRoot: string;
  proof: ProofJson | null;
}

export type TxStatus = "pending" | "included" | "finalized" | "rejected" | "replaced";

export type TransactionInfo =
  | (TxJson & { status: "pending" | "included" })
  | (TxJson & { status: "finalized"; blockHeight: number; blockHash: string; index: number; receipt: ReceiptJson })
  | { hash: string; status: "rejected"; error: { code: string; message: string } }
  | ReplacedTxJson;

export interface BlockInfo extends HeaderJson {
  transactions: string[] | (TxJson & { receipt: ReceiptJson | null })[];
  lastCommit: CommitJson;
  commit: CommitJson | null;
  evidence: { hash: string; validator: string; height: number; round: number; type: "prevote" | "precommit" }[];
}

export interface ValidatorInfo {
  address: string;
  operator: string;
  consensusKey: string;
  anchorAddress: string;
  status: "active" | "candidate" | "jailed" | "tombstoned";
  tokens: string;
  electionPower: string;
  delegatorShares: string;
  commissionBps: number;
  jailed: boolean;
  jailedUntil: number | null;
  tombstoned: boolean;
  missedBlocks: number;
  createdAt: number;
}

export interface ValidatorSetInfo {
  height: number;
  epochLength: number;
  nextEpochBoundary: number;
  validatorsHash: string;
  totalPower: string;
  active: (ValidatorInfo & { power: string; proposerPriority: string })[];
  candidates?: ValidatorInfo[];
}

export interface DelegationsInfo {
  address: string;
  height: number;
  delegations: { validator: string; shares: string; value: string; pendingRewards: string }[];
  unbonding: { validator: string; amount: string; creationHeight: number; completionHeight: number }[];
  commission: { validator: string; amount: string } | null;
}

export interface JobSpecInfo extends TrainingSettingsJson {
  datasetId: string;
  checkpoints: number;
  seed: string;
  target: JobTargetJson;
  deadline: number;
}

export interface JobInfo {
  id: string;
  requester: string;
  status: "open" | "proving" | "completed" | "cancelled" | "expired";
  reward: string;
  workerBond: string;
  createdAt: number;
  spec: JobSpecInfo;
  proof: string | null;
  /** Height it was paid, cancelled or expired; null before. */
  endedAt: number | null;
  /** It left the live state (`jobRetentionBlocks` after it ended) and the node answered from its archive. */
  archived: boolean;
}

export interface JobList {
  height: number;
  total: number;
  jobs: JobInfo[];
}

export interface WorkProofInfo {
  id: string;
  jobId: string;
  worker: string;
  status: "pending" | "accepted" | "paid" | "rejected" | "fraudulent";
  submittedAt: number;
  attestationDeadline: number;
  decidedAt: number | null;
  payableAt: number | null;
  commitment: { checkpointsRoot: string; count: number; finalWeightsHash: string; claimedMetric: { accuracyBps: number } | { loss: number }; bond: string };
  validPower: string;
  invalidPower: string;
  attesters: string[];
  dissenters: string[];
  /** Its job left the live state and the node answered from its archive. */
  archived: boolean;
}

export interface FeeEstimate {
  baseFeePerGas: string;
  maxPriorityFeePerGas: string;
  maxFeePerGas: string;
  transferGas: number;
  /** Intrinsic gas of any transaction: base[type] + perByte × its encoded size. */
  gasSchedule: { base: Record<string, number>; perByte: number; perVerifiedStep: number };
}

export interface NewHead extends HeaderJson {
  txCount: number;
}

export class PouwClient {
  readonly url: string;
  private nextId = 1;

  constructor(url = "http://127.0.0.1:8750/") {
    this.url = url;
  }

  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
    });
    const text = await res.text();
    let body: { result?: T; error?: { code: number; message: string; data?: Record<string, unknown> } };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PouwRpcError(-32700, `node answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (body.error) throw new PouwRpcError(body.error.code, body.error.message, body.error.data);
    return body.result as T;
  }

  chainInfo(): Promise<ChainInfo> {
    return this.request("pouw_chainInfo");
  }

  getBlock(ref: number | string = "latest", opts: { fullTransactions?: boolean } = {}): Promise<BlockInfo> {
    return this.request("pouw_getBlock", [ref, opts]);
  }

  getAccount(address: string, opts: { proof?: boolean } = {}): Promise<AccountInfo> {
    return this.request("pouw_getAccount", [address, opts]);
  }

  /** Submits SSZ bytes of a SignedTransaction; resolves to its hash once admitted to the mempool. */
  async sendRawTransaction(bytes: Uint8Array | string): Promise<string> {
    const r = await this.request<{ hash: string }>("pouw_sendRawTransaction", [typeof bytes === "string" ? bytes : toHex(bytes)]);
    return r.hash;
  }

  getTransaction(hash: string): Promise<TransactionInfo | null> {
    return this.request("pouw_getTransaction", [hash]);
  }

  getValidators(opts: { all?: boolean } = {}): Promise<ValidatorSetInfo> {
    return this.request("pouw_getValidators", [opts]);
  }

  getValidator(address: string): Promise<ValidatorInfo> {
    return this.request("pouw_getValidator", [address]);
  }

  getDelegations(address: string): Promise<DelegationsInfo> {
    return this.request("pouw_getDelegations", [address]);
  }

  getJob(jobId: string): Promise<JobInfo> {
    return this.request("pouw_getJob", [jobId]);
  }

  listJobs(filter: { status?: JobInfo["status"]; requester?: string; offset?: number; limit?: number } = {}): Promise<JobList> {
    return this.request("pouw_listJobs", [filter]);
  }

  /** A proof of learning (not a state proof) by id. */
  getWorkProof(proofId: string): Promise<WorkProofInfo> {
    return this.request("pouw_getProof", [proofId]);
  }

  /** An epoch's checkpoint with the anchor signatures the node has gathered ("latest": the last finished epoch). */
  getCheckpoint(epoch: number | "latest" = "latest"): Promise<CheckpointInfo> {
    return this.request("pouw_getCheckpoint", [epoch]);
  }

  /** Where the node relays checkpoints: per target, the last epoch its anchor accepted (-1 until first read) and consecutive failures. */
  relayStatus(): Promise<{ lastEpoch: number; targets: { target: string; lastEpoch: number; failures: number }[] }> {
    return this.request("pouw_relayStatus", []);
  }

  /** A withdrawal's leaf and Merkle proof, by its Withdraw transaction's hash or by epoch and index. */
  getWithdrawalProof(ref: string | { epoch: number; index: number }): Promise<WithdrawalProofInfo> {
    return this.request("pouw_getWithdrawalProof", [ref]);
  }

  /** Stores a blob on the node (under its SHA-256, or under `id` when it is a manifest with that Merkle root). */
  putBlob(bytes: Uint8Array, id?: string): Promise<{ id: string; size: number }> {
    return this.request("pouw_putBlob", id === undefined ? [Buffer.from(bytes).toString("base64")] : [Buffer.from(bytes).toString("base64"), id]);
  }

  async getBlob(id: string): Promise<Uint8Array> {
    const r = await this.request<{ data: string }>("pouw_getBlob", [id]);
    return new Uint8Array(Buffer.from(r.data, "base64"));
  }

  estimateFee(): Promise<FeeEstimate> {
    return this.request("pouw_estimateFee");
  }

  /**
   * Polls until the transaction is finalized, rejected or replaced by another of
   * its sender and nonce (a fee bump: follow `replacedBy`), or `timeoutMs` passes.
   */
  async waitForTransaction(hash: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<TransactionInfo> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      const tx = await this.getTransaction(hash);
      if (tx && (tx.status === "finalized" || tx.status === "rejected" || tx.status === "replaced")) return tx;
      if (Date.now() > deadline) throw new Error(`transaction ${hash} not final after ${opts.timeoutMs ?? 30_000} ms (status ${tx?.status ?? "unknown"})`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
    }
  }

  /** Subscribes to new heads over WebSocket; returns a function that closes the subscription. */
  subscribeNewHeads(onHead: (head: NewHead) => void, onError?: (e: Error) => void): Promise<() => void> {
    return this.subscribe("newHeads", onHead, onError);
  }

  /** Each checkpoint once it has more than 2/3 of its set's anchor signatures on this node. */
  subscribeCheckpoints(onCheckpoint: (c: CheckpointInfo) => void, onError?: (e: Error) => void): Promise<() => void> {
    return this.subscribe("checkpoints", onCheckpoint, onError);
  }

  private async subscribe<T>(topic: "newHeads" | "checkpoints", onEvent: (x: T) => void, onError?: (e: Error) => void): Promise<() => void> {
    const ws = new WebSocket(this.url.replace(/^http/, "ws"));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot open WebSocket to ${this.url}`)), { once: true });
    });
    const id = this.nextId++;
    let subscription: string | null = null;
    const ready = new Promise<void>((resolve, reject) => {
      ws.addEventListener("message", (ev) => {
        const msg = JSON.parse(String(ev.data));
        if (msg.id === id) {
          if (msg.error) reject(new PouwRpcError(msg.error.code, msg.error.message, msg.error.data));
          else {
            subscription = msg.result;
            resolve();
          }
        } else if (msg.method === "pouw_subscription" && msg.params?.subscription === subscription) {
          onEvent(msg.params.result as T);
        }
      });
    });
    ws.addEventListener("error", () => onError?.(new Error("WebSocket error")));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id, method: "pouw_subscribe", params: [topic] }));
    await ready;
    return () => ws.close();
  }
}
