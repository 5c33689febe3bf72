/** The JSON-RPC method table (DESIGN §11). */
import type { Blockchain, CommittedBlock } from "../chain/blockchain.ts";
import { baseFeeAfter, blockHash } from "../chain/block.ts";
import { intrinsicGas } from "../chain/fees.ts";
import { encodeAddress } from "../crypto/address.ts";
import { createAccountProof } from "../state/proof.ts";
import { addrKey, type WorldState } from "../state/world.ts";
import { pendingRewards, sharesValue } from "../chain/staking.ts";
import { evidenceHash } from "../chain/evidence.ts";
import { VoteType } from "../types/block.ts";
import { validatorSetRoot } from "../types/validator.ts";
import { SignedTransaction, type JobSpecT } from "../types/transaction.ts";
import type { DatasetInfo } from "../types/genesis.ts";
import type { CurvePoint } from "../pouw/curve.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import { fromHex, toHex } from "../util/hex.ts";
import { notFound, RpcCode, RpcError } from "./errors.ts";

/** A block below a pruned node's retained window (docs/decisions/0010-bounded-history.md): data.lowestRetainedHeight says where its history starts. */
export const blockPruned = (height: number, lowestRetainedHeight: number): RpcError =>
  new RpcError(RpcCode.SERVER_ERROR, "BLOCK_PRUNED", `block ${height} is pruned: this node keeps blocks from ${lowestRetainedHeight} (ask an archive node)`, { height, lowestRetainedHeight });
import { DIRECT_CONTEXT, RawJson, yieldToLoop, type MethodContext } from "./heavy.ts";
import { jobMethods } from "./jobs.ts";
import { settlementMethods, type CheckpointSource } from "./settlement.ts";
import { commitJson, headerJson, proofJson, receiptJson, txJson } from "./format.ts";
import { addressParam, blockRefParam, boolOption, hexParam, objectParam, paramList, rawTxParam } from "./params.ts";

/** What the RPC needs from the node; the composition root provides it. */
export interface RpcNode {
  readonly chain: Blockchain;
  readonly version: string;
  readonly validatorAddress: Uint8Array | null;
  mempoolSize(): number;
  /** Peers, sync and consensus round; null for a node without networking. */
  networkStatus?(): { peers: number; peerId: string; syncing: boolean; bestPeerHeight: number; round: number } | null;
  /** Decodes, checks and admits a transaction; throws coded errors. */
  submitTransaction(bytes: Uint8Array): Promise<TxEnvelope>;
  pendingTx(hashHex: string): TxEnvelope | undefined;
  isProposing(hashHex: string): boolean;
  rejection(hashHex: string): { code: string; message: string } | undefined;
  /** The transaction that replaced this one (a fee bump, or the same sender and nonce included instead), while remembered. */
  replacement?(hashHex: string): { replacedBy: string; senderHex: string; nonce: bigint } | undefined;
  /** A tip likely to get a transaction into the next block. */
  suggestedTip(): bigint;
  onCommit(listener: (c: CommittedBlock) => void): () => void;
  /** Content-addressed blobs (training checkpoints): `id` defaults to the SHA-256 of the bytes. */
  putBlob(bytes: Uint8Array, id?: Uint8Array): Promise<Uint8Array>;
  getBlob(id: Uint8Array): Promise<Uint8Array | undefined>;
  /** A training curve's points for these checkpoints (node/pouw/curve.ts), off the event loop; absent: evaluated inline. */
  evaluateCheckpoints?(spec: JobSpecT, jobId: Uint8Array, dataset: DatasetInfo, checkpoints: { index: number; blob: Uint8Array }[]): Promise<CurvePoint[]>;
  /** Epoch checkpoints and their anchor signatures (absent on nodes that do not keep them). */
  readonly checkpoints?: CheckpointSource;
  /** The last epoch each relay target is known to have anchored (-1: not read yet); null or absent when this node relays nowhere. */
  relayStatus?(): { target: string; lastEpoch: number; failures: number }[] | null;
  /** What GET /health and GET /status report beyond the chain head. */
  healthInfo(): NodeHealthInfo;
}

/** The node's side of its health: sync, peers, consensus and storage. */
export interface NodeHealthInfo {
  syncing: boolean;
  bestPeerHeight: number;
  peers: number;
  /** The height and round consensus is in; null for a node that runs no consensus. */
  consensus: { height: number; round: number } | null;
  /** Why the node stopped writing (a storage fault), or null. */
  storageFault: string | null;
  /** Unreferenced blobs taken over RPC (pouw_putBlob) and their quota. */
  blobs: { stagedBytes: number; stagedBlobs: number; quotaBytes: number } | null;
  /** The block time this node paces consensus by (a test or benchmark may override the genesis'); absent: the genesis'. */
  blockTimeMs?: number;
}

export type { MethodContext };

export type Method = (node: RpcNode, params: unknown, ctx?: MethodContext) => unknown | Promise<unknown>;

/** Transactions turned into JSON between two turns of the event loop. */
const TX_CHUNK = 256;

/** Gas of a Transfer on this chain (every Transfer has the same encoded size for a given chain id). */
function transferGas(chain: Blockchain): number {
  const tx = SignedTransaction.defaultValue();
  tx.tx.chainId = chain.ctx.chainId;
  return intrinsicGas({ type: "Transfer", bytes: SignedTransaction.serialize(tx) }, chain.params);
}

const activeSets = new WeakMap<WorldState["validators"], Set<string>>();
/** Addresses of an active set, built once per set (a set is replaced, never mutated). */
export function activeSet(set: WorldState["validators"]): Set<string> {
  let s = activeSets.get(set);
  if (!s) activeSets.set(set, (s = new Set(set.map((v) => addrKey(v.address)))));
  return s;
}

function validatorJson(world: WorldState, i: number, powerReduction: bigint) {
  const v = world.staking[i]!;
  const info = world.signingInfos[i]!;
  const active = activeSet(world.validators).has(addrKey(v.address));
  return {
    address: encodeAddress(v.address),
    operator: encodeAddress(v.operator),
    consensusKey: toHex(v.consensusKey),
    anchorAddress: toHex(v.anchorAddress),
    status: v.tombstoned ? "tombstoned" : v.jailed ? "jailed" : active ? "active" : "candidate",
    tokens: v.tokens.toString(),
    /** Consensus power at the next election: tokens / powerReduction. */
    electionPower: (v.tokens / powerReduction).toString(),
    delegatorShares: v.delegatorShares.toString(),
    commissionBps: v.commissionBps,
    jailed: v.jailed,
    jailedUntil: v.jailed && !v.tombstoned ? v.jailedUntil : null,
    tombstoned: v.tombstoned,
    missedBlocks: info.missedCount,
    createdAt: v.createdAt,
  };
}

export const methods: Record<string, Method> = {
  pouw_chainInfo(node, params) {
    paramList(params, 0, 0);
    const { chain } = node;
    const h = chain.head.header;
    return {
      chainId: chain.genesis.chainId,
      nodeVersion: node.version,
      genesisTime: chain.genesis.genesisTime,
      height: h.height,
      headHash: toHex(chain.head.hash),
      headTime: h.time,
      stateRoot: toHex(h.stateRoot),
      /** The root of the state this node holds in memory; always equal to stateRoot. */
      stateRootComputed: toHex(chain.world.root),
      /** Base fee of the next block. */
      baseFeePerGas: baseFeeAfter(chain.head, chain.params).toString(),
      validator: node.validatorAddress ? encodeAddress(node.validatorAddress) : null,
      mempoolSize: node.mempoolSize(),
      network: node.networkStatus?.() ?? null,
      /** Blocks below this height were pruned here (0: this node holds every block; decision 0010). */
      lowestRetainedHeight: chain.store.floor > 1 ? chain.store.floor : 0,
      /** The vaults a Withdraw may name (empty: not checked on chain). */
      settlementDomains: chain.params.settlementDomains.map((d) => ({ domain: d.domain, kind: d.kind })),
      datasets: chain.genesis.datasets.map((d) => ({ name: d.name, id: toHex(d.id), features: d.features, classes: d.classes, train: d.train, validation: d.validation })),
      totals: {
        supply: chain.world.totals.supply.toString(),
        burned: chain.world.totals.burned.toString(),
        pouwPool: chain.world.totals.pouwPool.toString(),
        staked: chain.world.totals.staked.toString(),
        rewardsOutstanding: chain.world.totals.rewardsOutstanding.toString(),
        escrowed: chain.world.totals.escrowed.toString(),
      },
    };
  },

  /**
   * A block by height, hash or "latest"; `{fullTransactions: true}` lists each
   * transaction with its receipt. A heavy read: it waits for a heavy slot,
   * builds the JSON a chunk of transactions at a time (the loop gets a turn
   * between chunks) and keeps it for the next caller (finalized blocks never
   * change).
   */
  async pouw_getBlock(node, params, ctx = DIRECT_CONTEXT) {
    const [ref, rawOpts] = paramList(params, 0, 2);
    const r = blockRefParam(ref);
    const opts = objectParam(rawOpts, "options");
    const full = boolOption(opts, "fullTransactions", false);
    const { store } = node.chain;
    let height: number | undefined;
    if (r === "latest") height = node.chain.head.header.height;
    else if ("height" in r) height = r.height;
    else height = await store.getHeightByHash(r.hash);
    if (height === undefined) throw notFound("block");
    if (store.isPruned(height)) throw blockPruned(height, store.floor);
    const key = `block:${height}:${full ? "full" : "hashes"}`;
    const hit = ctx.heavy.get(key);
    if (hit) return new RawJson(hit);
    return ctx.heavy.run(async () => {
      const again = ctx.heavy.get(key); // built while this request waited for its slot
      if (again) return new RawJson(again);
      const [block, receipts, commit] = await Promise.all([store.getBlock(height), store.getReceipts(height), store.getCommit(height)]);
      if (!block) throw store.isPruned(height) ? blockPruned(height, store.floor) : notFound(`block ${height}`);
      const hash = blockHash(block.header);
      const rest = JSON.stringify({
        ...headerJson(block.header, hash),
        lastCommit: commitJson(block.body.lastCommit),
        commit: commit ? commitJson(commit) : null,
        /** Duplicate-vote evidence this block slashed for. */
        evidence: block.body.evidence.map((ev) => ({
          hash: evidenceHash(ev),
          validator: encodeAddress(ev.voteA.validator),
          height: ev.voteA.height,
          round: ev.voteA.round,
          type: ev.voteA.type === VoteType.Prevote ? "prevote" : "precommit",
        })),
      });
      const txs: string[] = [];
      const signed = block.body.txs;
      for (let i = 0; i < signed.length; i += TX_CHUNK) {
        if (i > 0) await yieldToLoop();
        for (let k = i; k < Math.min(i + TX_CHUNK, signed.length); k++) {
          const e = envelopeFromSigned(signed[k]!);
          txs.push(full ? JSON.stringify({ ...txJson(e), receipt: receipts?.[k] ? receiptJson(receipts[k]!) : null }) : JSON.stringify(e.hashHex));
        }
      }
      const bytes = Buffer.from(`${rest.slice(0, -1)},"transactions":[${txs.join(",")}]}`);
      // A commit not stored yet would be null in the cached copy for good: only complete answers are kept.
      if (commit) ctx.heavy.set(key, bytes);
      return new RawJson(bytes);
    });
  },

  pouw_getAccount(node, params) {
    const [addr, rawOpts] = paramList(params, 1, 2);
    const address = addressParam(addr, "address");
    const withProof = boolOption(objectParam(rawOpts, "options"), "proof", true);
    const { world, head } = node.chain;
    const i = world.accounts.indexOf(address);
    const acc = i === undefined ? undefined : world.accounts.get(i);
    return {
      address: encodeAddress(address),
      exists: acc !== undefined,
      balance: (acc?.balance ?? 0n).toString(),
      nonce: (acc?.nonce ?? 0n).toString(),
      height: head.header.height,
      stateRoot: toHex(head.header.stateRoot),
      proof: withProof && i !== undefined ? proofJson(createAccountProof(world, i)) : null,
    };
  },

  /** The active set (with proposer priorities) and, with `{all: true}`, every registered validator. */
  pouw_getValidators(node, params) {
    const [rawOpts] = paramList(params, 0, 1);
    const all = boolOption(objectParam(rawOpts, "options"), "all", false);
    const { world, head, params: p } = node.chain;
    const h = head.header.height;
    const record = (i: number) => validatorJson(world, i, p.powerReduction);
    const active = world.validators.map((v, k) => ({ ...record(world.validatorIndex.get(addrKey(v.address))!), power: v.power.toString(), proposerPriority: world.priorities[k]!.toString() }));
    return {
      height: h,
      epochLength: p.epochLength,
      /** The set changes after this height's block commits. */
      nextEpochBoundary: (Math.floor(h / p.epochLength) + 1) * p.epochLength,
      validatorsHash: toHex(validatorSetRoot(world.validators)),
      totalPower: world.validators.reduce((s, v) => s + v.power, 0n).toString(),
      active,
      candidates: all ? world.staking.map((_, i) => record(i)) : undefined,
    };
  },

  /** A validator's staking record and liveness, by its (consensus) address or its operator's. */
  pouw_getValidator(node, params) {
    const [addr] = paramList(params, 1, 1);
    const address = addressParam(addr, "address");
    const { world } = node.chain;
    const i = world.validatorIndex.get(addrKey(address)) ?? world.operatorIndex.get(addrKey(address));
    if (i === undefined) throw notFound("validator");
    return validatorJson(world, i, node.chain.params.powerReduction);
  },

  /** An account's delegations (shares, current value, unpaid rewards), unbonding entries and, for an operator, its commission. */
  pouw_getDelegations(node, params) {
    const [addr] = paramList(params, 1, 1);
    const address = addressParam(addr, "address");
    const { world, head } = node.chain;
    const hex = addrKey(address);
    const delegations = (world.delegationsOf.get(hex) ?? [])
      .map((di) => world.delegations[di]!)
      .filter((d) => d.shares > 0n)
      .map((d) => {
        const v = world.staking[d.validator]!;
        return { validator: encodeAddress(v.address), shares: d.shares.toString(), value: sharesValue(v, d.shares).toString(), pendingRewards: pendingRewards(v, d).toString() };
      });
    const unbonding = [];
    for (let i = world.unbondingCursor; i < world.unbonding.length; i++) {
      const e = world.unbonding[i]!;
      if (addrKey(e.delegator) !== hex || e.amount === 0n) continue;
      unbonding.push({ validator: encodeAddress(world.staking[e.validator]!.address), amount: e.amount.toString(), creationHeight: e.creationHeight, completionHeight: e.completionHeight });
    }
    const op = world.operatorIndex.get(hex);
    return {
      address: encodeAddress(address),
      height: head.header.height,
      delegations,
      unbonding,
      commission: op === undefined ? null : { validator: encodeAddress(world.staking[op]!.address), amount: world.staking[op]!.commission.toString() },
    };
  },

  pouw_sendRawTransaction(node, params) {
    // Not an async function: nothing here (the hex above all) is kept while the node admits the transaction.
    const bytes = rawTxParam(paramList(params, 1, 1)[0], node.chain.params.maxTxBytes);
    return node.submitTransaction(bytes).then((env) => ({ hash: env.hashHex }));
  },

  async pouw_getTransaction(node, params) {
    const [rawHash] = paramList(params, 1, 1);
    const hash = hexParam(rawHash, "transaction hash", { length: 32 });
    const hashHex = toHex(hash);
    const loc = await node.chain.store.getTxLocation(hash);
    if (loc) {
      const [block, receipts] = await Promise.all([node.chain.store.getBlock(loc.height), node.chain.store.getReceipts(loc.height)]);
      if (!block && node.chain.store.isPruned(loc.height)) throw blockPruned(loc.height, node.chain.store.floor);
      const signed = block?.body.txs[loc.index];
      const receipt = receipts?.[loc.index];
      if (block && signed && receipt) {
        return {
          ...txJson(envelopeFromSigned(signed)),
          status: "finalized",
          blockHeight: loc.height,
          blockHash: toHex(blockHash(block.header)),
          index: loc.index,
          receipt: receiptJson(receipt),
        };
      }
    }
    const pending = node.pendingTx(hashHex);
    if (pending) return { ...txJson(pending), status: node.isProposing(hashHex) ? "included" : "pending" };
    const replaced = node.replacement?.(hashHex);
    if (replaced) return { hash: hashHex, status: "replaced", replacedBy: replaced.replacedBy, from: encodeAddress(fromHex(replaced.senderHex)), nonce: replaced.nonce.toString() };
    const rejection = node.rejection(hashHex);
    if (rejection) return { hash: hashHex, status: "rejected", error: rejection };
    return null;
  },

  pouw_estimateFee(node, params) {
    paramList(params, 0, 1);
    const { chain } = node;
    const baseFee = baseFeeAfter(chain.head, chain.params);
    const tip = node.suggestedTip();
    return {
      baseFeePerGas: baseFee.toString(),
      maxPriorityFeePerGas: tip.toString(),
      /** Room for the base fee to double (six full blocks in a row) before the transaction is stuck. */
      maxFeePerGas: (baseFee * 2n + tip).toString(),
      transferGas: transferGas(chain),
      /** Intrinsic gas of any transaction: base[type] + perByte × its encoded size (DESIGN §4). */
      gasSchedule: { base: chain.params.gas.base, perByte: chain.params.gas.perByte, perVerifiedStep: chain.params.gas.perVerifiedStep },
    };
  },

  ...jobMethods,
  ...settlementMethods,
};
