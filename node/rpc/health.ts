/**
 * GET /health and GET /status (issue 12: health that tells the truth).
 *
 * Healthy means the node is following the chain: no storage fault, not
 * syncing, and a head block younger than three block times by this
 * machine's clock (RPC is not consensus code: wall time is what an operator
 * and a load balancer mean by "stalled").
 */
import { encodeAddress } from "../crypto/address.ts";
import { addrKey } from "../state/world.ts";
import { toHex } from "../util/hex.ts";
import { activeSet, type RpcNode } from "./methods.ts";

/** A head older than this many block times is stalled. */
export const STALL_BLOCK_TIMES = 3;

export type UnhealthyReason = "storage fault" | "syncing" | "stalled";

export interface Health {
  healthy: boolean;
  reason: UnhealthyReason | null;
  height: number;
  headTime: number;
  headAgeMs: number;
  blockTimeMs: number;
}

export function health(node: RpcNode, now: number): Health {
  const h = node.chain.head.header;
  const info = node.healthInfo();
  const blockTimeMs = info.blockTimeMs ?? node.chain.params.blockTimeMs;
  const headAgeMs = Math.max(0, now - h.time);
  const reason: UnhealthyReason | null = info.storageFault ? "storage fault" : info.syncing ? "syncing" : headAgeMs > STALL_BLOCK_TIMES * blockTimeMs ? "stalled" : null;
  return { healthy: reason === null, reason, height: h.height, headTime: h.time, headAgeMs, blockTimeMs };
}

/** The /health body: `{status: "ok"}` or `{status: "unhealthy", reason}` with the head's height and age. */
export function healthJson(hl: Health, storageFault: string | null) {
  return {
    status: hl.healthy ? "ok" : "unhealthy",
    reason: hl.reason,
    ...(hl.reason === "storage fault" ? { detail: storageFault } : {}),
    height: hl.height,
    headTime: hl.headTime,
    headAgeMs: hl.headAgeMs,
    /** Same as headAgeMs (the name /health used before). */
    lagMs: hl.headAgeMs,
    blockTimeMs: hl.blockTimeMs,
  };
}

/** The /status body: everything an operator looks at first. `rpc` comes from the server. */
export function statusJson(node: RpcNode, now: number, rpc: Record<string, unknown>) {
  const { chain } = node;
  const hl = health(node, now);
  const info = node.healthInfo();
  const net = node.networkStatus?.() ?? null;
  const v = node.validatorAddress;
  return {
    status: hl.healthy ? "ok" : "unhealthy",
    reason: hl.reason,
    chainId: chain.genesis.chainId,
    nodeVersion: node.version,
    head: { height: hl.height, hash: toHex(chain.head.hash), time: hl.headTime, ageMs: hl.headAgeMs },
    blockTimeMs: hl.blockTimeMs,
    syncing: info.syncing,
    bestPeerHeight: info.bestPeerHeight,
    peers: info.peers,
    peerId: net?.peerId ?? null,
    consensus: info.consensus,
    validator: v ? { address: encodeAddress(v), active: activeSet(chain.world.validators).has(addrKey(v)) } : null,
    mempool: { size: node.mempoolSize() },
    storageFault: info.storageFault,
    blobs: info.blobs,
    rpc,
  };
}
