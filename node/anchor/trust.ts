/**
 * A trust root for state sync from a settlement chain (issue 14): the latest
 * checkpoint anchored on the EVM anchor of a deployment record. The anchor
 * accepted it only with signatures of more than 2/3 of the validator set's
 * power, so its block hash is as good as a block the operator checked by
 * hand; its height is the epoch's boundary (epoch × epochLength).
 */
import { BaseError, createPublicClient, http, type Hex } from "viem";
import { checkpointHeight } from "../chain/settlement.ts";
import type { Params } from "../types/params.ts";
import { describeError } from "../util/errors.ts";
import { fromHex } from "../util/hex.ts";
import { readEvmDeployment } from "./deployment.ts";
import { POUW_ANCHOR_ABI } from "./evm-abi.ts";

export interface AnchoredTrust {
  height: number;
  hash: Uint8Array;
  epoch: number;
  source: string;
}

/** The latest anchored checkpoint of the deployment at `path` (POUW_EVM_RPC overrides its RPC URL). Throws with the reason when there is none. */
export async function trustFromEvmAnchor(path: string, chainId: string, params: Pick<Params, "epochLength">, env: NodeJS.ProcessEnv = process.env): Promise<AnchoredTrust> {
  const d = readEvmDeployment(path, chainId);
  const rpcUrl = env.POUW_EVM_RPC?.trim() || d.rpcUrl;
  const client = createPublicClient({ transport: http(rpcUrl) });
  const read = async <T>(what: string, p: Promise<T>): Promise<T> =>
    p.catch((e: unknown) => {
      const why = e instanceof BaseError ? e.shortMessage : describeError(e);
      throw new Error(`cannot read ${what} from the EVM anchor ${d.anchor} at ${rpcUrl}: ${why}`);
    });
  const epoch = await read("lastEpoch", client.readContract({ address: d.anchor, abi: POUW_ANCHOR_ABI, functionName: "lastEpoch" }) as Promise<bigint>);
  if (epoch === 0n) throw new Error(`the EVM anchor ${d.anchor} has no checkpoint yet: state sync needs one anchored (or --trust-height and --trust-hash)`);
  const [blockHash] = await read(`roots(${epoch})`, client.readContract({ address: d.anchor, abi: POUW_ANCHOR_ABI, functionName: "roots", args: [epoch] }) as Promise<readonly [Hex, Hex, Hex]>);
  const e = Number(epoch);
  return { height: checkpointHeight(e, params), hash: fromHex(blockHash), epoch: e, source: `checkpoint of epoch ${e} on the EVM anchor ${d.anchor} (${d.network})` };
}
