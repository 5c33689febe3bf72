/** A node that only syncs: no validator key, no RPC, an empty in-memory database, `server` its only bootstrap peer. */
import { PouwNode } from "../../node/node.ts";
import type { Logger } from "../../node/util/logger.ts";

export function freshSyncingNode(genesisJson: string, server: PouwNode, logger?: Logger): Promise<PouwNode> {
  return PouwNode.create({
    dataDir: null,
    genesisJson,
    validatorKey: null,
    rpc: null,
    verifierThreads: 1,
    ...(logger ? { logger } : {}),
    network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: server.network!.addresses.filter((a) => a.includes("127.0.0.1")) },
  });
}
