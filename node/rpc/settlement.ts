/**
 * JSON-RPC methods for settlement (DESIGN §9, §11): epoch checkpoints with
 * their anchor signatures (what a relayer submits), and the leaf and Merkle
 * proof a vault's `withdraw` takes.
 */
import { bytesToHex } from "viem";
import { hasQuorum, signedPower, type SignedCheckpoint } from "../anchor/checkpoint.ts";
import { checkpointHeight, epochOf, withdrawalLeaf } from "../chain/settlement.ts";
import { checkpointRecord, epochWithdrawals } from "../chain/settlement-records.ts";
import { encodeAddress } from "../crypto/address.ts";
import type { EpochCheckpointT, WithdrawalT } from "../state/schemas.ts";
import { checkpointDigest, withdrawalTree } from "../types/settlement.ts";
import { bytesEqual } from "../util/hex.ts";
import { invalidParams, notFound } from "./errors.ts";
import type { Method, RpcNode } from "./methods.ts";
import { hexParam, objectParam, paramList } from "./params.ts";

/** What the settlement methods need from the node (its checkpoint book). */
export interface CheckpointSource {
  readonly lastEpoch: number;
  get(epoch: number): Promise<SignedCheckpoint | null>;
  /** Calls `fn` once per epoch when its checkpoint reaches a quorum of anchor signatures; returns the unsubscribe. */
  onQuorum(fn: (c: SignedCheckpoint) => void): () => void;
}

function epochParam(v: unknown, last: number): number {
  if (v === undefined || v === "latest") {
    if (last === 0) throw notFound("checkpoint (no epoch has finished yet)");
    return last;
  }
  const n = typeof v === "string" && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw invalidParams('epoch must be a positive integer or "latest"');
  return n;
}

export function checkpointJson(c: SignedCheckpoint, withdrawals: number) {
  const k = c.checkpoint;
  const { signed, total } = signedPower(c);
  return {
    epoch: Number(k.epoch),
    height: Number(k.height),
    chainId: k.chainId,
    blockHash: k.blockHash,
    stateRoot: k.stateRoot,
    withdrawalsRoot: k.withdrawalsRoot,
    validatorSetHash: k.validatorSetHash,
    nextValidatorSetHash: k.nextValidatorSetHash,
    /** What each anchor key signs (secp256k1 over the digest itself, no prefix). */
    digest: checkpointDigest(k),
    withdrawals,
    validators: c.members.map((m, i) => ({ address: m.address, power: m.power.toString(), signature: c.signatures[i] })),
    nextValidators: c.nextMembers.map((m) => ({ address: m.address, power: m.power.toString() })),
    signedPower: signed.toString(),
    totalPower: total.toString(),
    /** More than 2/3 of the power signed: the anchor contracts accept it. */
    quorum: hasQuorum(c),
  };
}

function source(node: RpcNode): CheckpointSource {
  if (!node.checkpoints) throw notFound("checkpoint book (this node does not keep checkpoints)");
  return node.checkpoints;
}

/**
 * A withdrawal by its Withdraw transaction's hash: the live ones newest first
 * (recent ones are what wallets ask for), then, for one that left the live
 * state, its epoch's archived records found through the transaction index.
 */
async function findByTx(node: RpcNode, txHash: Uint8Array): Promise<WithdrawalT | undefined> {
  const world = node.chain.world;
  for (let i = world.withdrawals.length - 1; i >= 0; i--) if (bytesEqual(world.withdrawals[i]!.txHash, txHash)) return world.withdrawals[i];
  const loc = await node.chain.store.getTxLocation(txHash);
  if (!loc) return undefined;
  return (await epochWithdrawals(node.chain, epochOf(loc.height, node.chain.params))).find((w) => bytesEqual(w.txHash, txHash));
}

/** A finished epoch's tree, built once per checkpoint record (records never change once written): wallets poll for proofs. */
const trees = new WeakMap<EpochCheckpointT, ReturnType<typeof withdrawalTree>>();

export const settlementMethods: Record<string, Method> = {
  async pouw_getCheckpoint(node, params) {
    const [e] = paramList(params, 0, 1);
    const book = source(node);
    const epoch = epochParam(e, book.lastEpoch);
    const c = await book.get(epoch);
    if (!c) throw notFound(`checkpoint of epoch ${epoch} (the last finished epoch is ${book.lastEpoch})`);
    return checkpointJson(c, (await checkpointRecord(node.chain, epoch))?.withdrawalCount ?? 0);
  },

  /**
   * Where this node's relayer anchored checkpoints: the last finished epoch
   * and, per target, the last epoch it accepted (-1 until first read) and
   * its consecutive failures. `targets` is empty when this node relays nowhere.
   */
  pouw_relayStatus(node, params) {
    paramList(params, 0, 0);
    return { lastEpoch: node.checkpoints?.lastEpoch ?? 0, targets: node.relayStatus?.() ?? [] };
  },

  /**
   * The leaf and proof for a vault's `withdraw`, by the Withdraw transaction's
   * hash or by `{ epoch, index }`. Until the epoch's last block, the leaf is
   * returned with `status: "pending"` and no proof.
   */
  async pouw_getWithdrawalProof(node, params) {
    const [ref] = paramList(params, 1, 1);
    let w: WithdrawalT | undefined;
    if (typeof ref === "string") {
      w = await findByTx(node, hexParam(ref, "transaction hash", { length: 32 }));
      if (!w) throw notFound(`withdrawal of transaction ${ref}`);
    } else {
      const o = objectParam(ref, "withdrawal");
      if (o.epoch === undefined) throw invalidParams("a withdrawal is named by its transaction hash or by { epoch, index }");
      const epoch = epochParam(o.epoch, Number.MAX_SAFE_INTEGER);
      if (typeof o.index !== "number" || !Number.isSafeInteger(o.index) || o.index < 0) throw invalidParams("index must be a non-negative integer");
      w = (await epochWithdrawals(node.chain, epoch))[o.index];
      if (!w) throw notFound(`withdrawal ${o.index} of epoch ${epoch}`);
    }
    const chainId = node.chain.ctx.chainId;
    const leaf = withdrawalLeaf(chainId, w);
    const base = {
      leaf: { ...leaf, epoch: Number(leaf.epoch), index: Number(leaf.index), amount: leaf.amount.toString() },
      sender: encodeAddress(w.sender),
      height: w.height,
      txHash: bytesToHex(w.txHash),
      checkpointHeight: checkpointHeight(w.epoch, node.chain.params),
    };
    const rec = await checkpointRecord(node.chain, w.epoch);
    if (!rec) return { ...base, status: "pending", withdrawalsRoot: null, leafHash: null, proof: null };
    let tree = trees.get(rec);
    if (!tree) {
      tree = withdrawalTree((await epochWithdrawals(node.chain, w.epoch)).map((x) => withdrawalLeaf(chainId, x)));
      if (tree.root !== bytesToHex(rec.withdrawalsRoot)) throw new Error(`withdrawal tree of epoch ${w.epoch} does not match its checkpoint record`);
      trees.set(rec, tree);
    }
    return { ...base, status: "checkpointed", withdrawalsRoot: tree.root, leafHash: tree.leafHash(w.index), proof: tree.proof(w.index) };
  },
};
