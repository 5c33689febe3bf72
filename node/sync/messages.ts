/** Sync req/resp messages (SSZ). */
import { ContainerType, type ValueOf } from "@chainsafe/ssz";
import { Bytes32, Uint32, UintNum64 } from "../types/primitives.ts";

export const StatusMessage = new ContainerType({ height: UintNum64, headHash: Bytes32, genesisHash: Bytes32 }, { typeName: "StatusMessage" });
export type StatusMessageT = ValueOf<typeof StatusMessage>;

/**
 * A peer's retained history (its own protocol, "history", so status and
 * blocks_by_range keep their wire format): blocks below `lowestHeight` were
 * pruned; blocks_by_range for them answers empty. An archive node says 0.
 */
export const HistoryMessage = new ContainerType({ lowestHeight: UintNum64 }, { typeName: "HistoryMessage" });

/**
 * The history protocol's id, in reqresp.ts's scheme (/pouw/<chain>/<kind>/ssz/<version>). A new protocol, so
 * no existing one changes version; kept here until network/reqresp.ts lists it among its kinds.
 */
export const historyProtocolId = (chainId: string): string => `/pouw/${chainId}/history/ssz/1`;

export const BlocksByRangeRequest = new ContainerType({ startHeight: UintNum64, count: Uint32 }, { typeName: "BlocksByRangeRequest" });

/**
 * Most blocks served per request. A response is the blocks in order, then
 * the commit of the last one: block h is proven by block h+1's lastCommit
 * (as in CometBFT's blocksync), so commits are not sent twice.
 */
export const MAX_BLOCKS_PER_REQUEST = 100;

/**
 * Most bytes of blocks a server puts in one response: it stops before the
 * block that would pass this (but always sends at least one block, which is
 * at most maxProposalBytes), and the requester asks again for the rest. A
 * range of full blocks read into memory at once would otherwise cost the
 * server 100 × maxProposalBytes.
 */
export const MAX_RANGE_RESPONSE_BYTES = 16 * 1024 * 1024;
