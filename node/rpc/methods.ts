/** The JSON-RPC method table (DESIGN §11). */
import type { Blockchain, CommittedBlock } from "../chain/blockchain.ts";
import { baseFeeAfter, blockHash } from "../chain/block.ts";
import { intrinsicGas } from "../chain/fees.ts";
import { encodeAddress } from "../crypto/address.ts";
import { createAccountProof } from "../state/proof.ts";
import { addrKey } from "../state/world.ts";
import { MAX_TX_BYTES, SignedTransaction } from "../types/transaction.ts";
import { envelopeFromSigned, type TxEnvelope } from "../types/txcodec.ts";
import { toHex } from "../util/hex.ts";
import { notFound } from "./errors.ts";
import { commitJson, headerJson, proofJson, receiptJson, txJson } from "./format.ts";
import { addressParam, blockRefParam, boolOption, hexParam, objectParam, paramList } from "./params.ts";

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
  /** A tip likely to get a transaction into the next block. */
  suggestedTip(): bigint;
  onCommit(listener: (c: CommittedBlock) => void): () => void;
}

export type Method = (node: RpcNode, params: unknown) => unknown | Promise<unknown>;

/** Gas of a Transfer on this chain (every Transfer has the same encoded size for a given chain id). */
function transferGas(chain: Blockchain): number {
  const tx = SignedTransaction.defaultValue();
  tx.tx.chainId = chain.ctx.chainId;
  return intrinsicGas({ type: "Transfer", bytes: SignedTransaction.serialize(tx) }, chain.params);
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
      totals: {
        supply: chain.world.totals.supply.toString(),
        burned: chain.world.totals.burned.toString(),
        pouwPool: chain.world.totals.pouwPool.toString(),
        staked: chain.world.totals.staked.toString(),
        rewardsOutstanding: chain.world.totals.rewardsOutstanding.toString(),
      },
    };
  },

  async pouw_getBlock(node, params) {
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
    const [block, receipts, commit] = await Promise.all([store.getBlock(height), store.getReceipts(height), store.getCommit(height)]);
    if (!block) throw notFound(`block ${height}`);
    const envs = block.body.txs.map((s) => envelopeFromSigned(s));
    const hash = blockHash(block.header);
    return {
      ...headerJson(block.header, hash),
      transactions: full ? envs.map((e, i) => ({ ...txJson(e), receipt: receipts?.[i] ? receiptJson(receipts[i]!) : null })) : envs.map((e) => e.hashHex),
      lastCommit: commitJson(block.body.lastCommit),
      commit: commit ? commitJson(commit) : null,
    };
  },

  pouw_getAccount(node, params) {
    const [addr, rawOpts] = paramList(params, 1, 2);
    const address = addressParam(addr, "address");
    const withProof = boolOption(objectParam(rawOpts, "options"), "proof", true);
    const { world, head } = node.chain;
    const i = world.index.get(addrKey(address));
    const acc = i === undefined ? undefined : world.accounts[i];
    return {
      address: encodeAddress(address),
      exists: acc !== undefined,
      balance: (acc?.balance ?? 0n).toString(),
      nonce: (acc?.nonce ?? 0n).toString(),
      height: head.header.height,
      stateRoot: toHex(head.header.stateRoot),
      proof: withProof && i !== undefined ? proofJson(createAccountProof(world.view, i)) : null,
    };
  },

  async pouw_sendRawTransaction(node, params) {
    const [raw] = paramList(params, 1, 1);
    const bytes = hexParam(raw, "transaction", { maxBytes: MAX_TX_BYTES });
    const env = await node.submitTransaction(bytes);
    return { hash: env.hashHex };
  },

  async pouw_getTransaction(node, params) {
    const [rawHash] = paramList(params, 1, 1);
    const hash = hexParam(rawHash, "transaction hash", { length: 32 });
    const hashHex = toHex(hash);
    const loc = await node.chain.store.getTxLocation(hash);
    if (loc) {
      const [block, receipts] = await Promise.all([node.chain.store.getBlock(loc.height), node.chain.store.getReceipts(loc.height)]);
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
    };
  },
};
