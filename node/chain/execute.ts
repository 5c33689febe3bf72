/**
 * Executing a block's transactions over the committed state. Two modes:
 * `build` (a proposer filling a block: transactions that cannot be included
 * are dropped and reported) and `verify` (a received block: any such
 * transaction makes the block invalid).
 */
import { MAX_ATTESTATIONS, type ReceiptT, type WorkAttestationT } from "../types/block.ts";
import { applyAttestations } from "./attestations.ts";
import type { TxEnvelope } from "../types/txcodec.ts";
import { StateOverlay, type SealedState, type WorldState } from "../state/world.ts";
import type { BlockContext } from "./context.ts";
import { BlockError, BlockErrorCode, TxError, TxErrorCode } from "./errors.ts";
import { endBlockJobs } from "./jobs.ts";
import { endBlockCheckpoint } from "./settlement.ts";
import { beginBlock, endBlock, type BlockStakingInput } from "./staking-block.ts";
import { applyTx, checkTxAgainstState, checkTxStateless, verifyTxSignature } from "./transaction.ts";

export interface ExecuteOptions {
  mode: "build" | "verify";
  /** Transactions whose signatures were already checked (e.g. by the mempool's workers). */
  verified?: (env: TxEnvelope) => boolean;
  /** The block's lastCommit and evidence (rewards, liveness and slashing run before the transactions). */
  staking: BlockStakingInput;
  /** Work attestations: the block's (verify) or candidates from the pool (build). */
  attestations?: Iterable<WorkAttestationT>;
}

export interface ExecutionResult {
  txs: TxEnvelope[];
  receipts: ReceiptT[];
  gasUsed: number;
  sealed: SealedState;
  dropped: { env: TxEnvelope; error: TxError }[];
  /** The attestations that counted (all of the block's, when verifying). */
  attestations: WorkAttestationT[];
}

export function executeTxs(world: WorldState, candidates: Iterable<TxEnvelope>, ctx: BlockContext, opts: ExecuteOptions): ExecutionResult {
  const overlay = new StateOverlay(world);
  const txs: TxEnvelope[] = [];
  const receipts: ReceiptT[] = [];
  const dropped: { env: TxEnvelope; error: TxError }[] = [];
  const seen = new Set<string>();
  let gasUsed = 0;
  const { params } = ctx;
  beginBlock(overlay, ctx, opts.staking);
  const attestations = applyAttestations(overlay, ctx, opts.attestations ?? [], opts.mode, MAX_ATTESTATIONS);
  for (const env of candidates) {
    if (seen.has(env.hashHex)) {
      if (opts.mode === "verify") throw new BlockError(BlockErrorCode.DUPLICATE_TX, `transaction ${env.hashHex} appears twice`);
      continue;
    }
    if (txs.length >= params.maxBlockTxs) {
      if (opts.mode === "verify") throw new BlockError(BlockErrorCode.TOO_MANY_TXS, `more than ${params.maxBlockTxs} transactions`);
      break;
    }
    let gas: number;
    try {
      gas = checkTxStateless(env, ctx);
      if (gasUsed + gas > params.maxBlockGas) {
        if (opts.mode === "verify") throw new BlockError(BlockErrorCode.GAS_LIMIT_EXCEEDED, `block gas exceeds ${params.maxBlockGas}`);
        continue; // does not fit; a smaller one might
      }
      checkTxAgainstState(env, overlay, ctx.baseFeePerGas, ctx.blob);
      if (!opts.verified?.(env)) verifyTxSignature(env);
    } catch (e) {
      if (!(e instanceof TxError)) throw e;
      if (opts.mode === "verify") {
        if (e.code === TxErrorCode.BLOB_UNAVAILABLE) {
          throw new BlockError(BlockErrorCode.BLOB_UNAVAILABLE, `transaction ${env.hashHex} needs a blob this node does not hold: ${e.message}`, { tx: env.hashHex }, { cause: e });
        }
        throw new BlockError(BlockErrorCode.INVALID_TX, `transaction ${env.hashHex} cannot be included: ${e.code}`, { tx: env.hashHex, reason: e.code }, { cause: e });
      }
      dropped.push({ env, error: e });
      continue;
    }
    seen.add(env.hashHex);
    receipts.push(applyTx(env, gas, overlay, ctx));
    txs.push(env);
    gasUsed += gas;
  }
  endBlockJobs(overlay, ctx);
  endBlock(overlay, ctx);
  endBlockCheckpoint(overlay, ctx);
  return { txs, receipts, gasUsed, sealed: overlay.seal(), dropped, attestations };
}
