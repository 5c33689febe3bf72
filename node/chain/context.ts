import type { DatasetInfo } from "../types/genesis.ts";
import type { Params } from "../types/params.ts";

/** What executing a block needs to know besides the state and the transactions. */
export interface BlockContext {
  chainId: Uint8Array;
  height: number;
  baseFeePerGas: bigint;
  /** Address credited with tips. */
  proposer: Uint8Array;
  params: Params;
  /** The genesis datasets, by id hex (no 0x). */
  datasets: ReadonlyMap<string, DatasetInfo>;
  /** Blobs this node holds in memory (a challenge's start checkpoint); absent: none. */
  blob?: (id: Uint8Array) => Uint8Array | undefined;
}
