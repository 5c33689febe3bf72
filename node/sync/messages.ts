/** Sync req/resp messages (SSZ). */
import { ContainerType, type ValueOf } from "@chainsafe/ssz";
import { Bytes32, Uint32, UintNum64 } from "../types/primitives.ts";

export const StatusMessage = new ContainerType({ height: UintNum64, headHash: Bytes32, genesisHash: Bytes32 }, { typeName: "StatusMessage" });
export type StatusMessageT = ValueOf<typeof StatusMessage>;

export const BlocksByRangeRequest = new ContainerType({ startHeight: UintNum64, count: Uint32 }, { typeName: "BlocksByRangeRequest" });

/**
 * Most blocks served per request. A response is the blocks in order, then
 * the commit of the last one: block h is proven by block h+1's lastCommit
 * (as in CometBFT's blocksync), so commits are not sent twice.
 */
export const MAX_BLOCKS_PER_REQUEST = 100;
