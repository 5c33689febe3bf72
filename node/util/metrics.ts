import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Every metric the node exposes, created once and passed to the parts that record them. */
export interface Metrics {
  registry: Registry;
  headHeight: Gauge;
  blockTxs: Histogram;
  blockExecutionSeconds: Histogram;
  blockCommitSeconds: Histogram;
  txsFinalized: Counter;
  mempoolSize: Gauge;
  mempoolAdmitted: Counter<"result">;
  rpcRequests: Counter<"method" | "outcome">;
  privvalLastSignedHeight: Gauge;
  peers: Gauge;
  validatorPeers: Gauge;
  peerDials: Counter<"result">;
  peerTrims: Counter;
  syncTargetHeight: Gauge;
  syncing: Gauge;
  stateSyncChunks: Counter<"result">;
  stateSyncSnapshotHeight: Gauge;
  stateSyncProgress: Gauge;
  stateSnapshotHeight: Gauge;
  consensusRound: Gauge;
  gossipVerdicts: Counter<"topic" | "verdict">;
  checkpointEpoch: Gauge;
  checkpointQuorumEpoch: Gauge;
  anchoredEpoch: Gauge<"target">;
  relayFailures: Counter<"target">;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "pouw_process_" });
  const registers = [registry];
  return {
    registry,
    headHeight: new Gauge({ name: "pouw_head_height", help: "Height of the last committed block", registers }),
    blockTxs: new Histogram({
      name: "pouw_block_transactions",
      help: "Transactions per committed block",
      buckets: [0, 1, 10, 100, 1000, 5000, 10000, 20000],
      registers,
    }),
    blockExecutionSeconds: new Histogram({
      name: "pouw_block_execution_seconds",
      help: "Time to execute a block's transactions and compute its state root",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers,
    }),
    blockCommitSeconds: new Histogram({
      name: "pouw_block_commit_seconds",
      help: "Time to write a block's batch to the database",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    txsFinalized: new Counter({ name: "pouw_transactions_finalized_total", help: "Transactions in committed blocks", registers }),
    mempoolSize: new Gauge({ name: "pouw_mempool_transactions", help: "Transactions waiting in the mempool", registers }),
    mempoolAdmitted: new Counter({
      name: "pouw_mempool_admissions_total",
      help: "Transactions offered to the mempool, by result code",
      labelNames: ["result"] as const,
      registers,
    }),
    rpcRequests: new Counter({
      name: "pouw_rpc_requests_total",
      help: "JSON-RPC requests by method and outcome",
      labelNames: ["method", "outcome"] as const,
      registers,
    }),
    privvalLastSignedHeight: new Gauge({ name: "pouw_privval_last_signed_height", help: "Height of the last vote this validator signed", registers }),
    peers: new Gauge({ name: "pouw_p2p_peers", help: "Connected libp2p peers", registers }),
    validatorPeers: new Gauge({ name: "pouw_p2p_validator_peers", help: "Connected peers that proved an active validator's identity", registers }),
    peerDials: new Counter({ name: "pouw_p2p_dials_total", help: "Dials to known peers to reach the target peer count, by result (connected / failed)", labelNames: ["result"] as const, registers }),
    peerTrims: new Counter({ name: "pouw_p2p_trims_total", help: "Peers disconnected because the node had more than its target", registers }),
    syncTargetHeight: new Gauge({ name: "pouw_sync_target_height", help: "Highest head a peer reported", registers }),
    syncing: new Gauge({ name: "pouw_syncing", help: "1 while catching up with peers by block sync", registers }),
    stateSyncChunks: new Counter({
      name: "pouw_state_sync_chunks_total",
      help: "State-sync chunks fetched, by result (ok / bad: did not match its root / failed: no answer or not held)",
      labelNames: ["result"] as const,
      registers,
    }),
    stateSyncSnapshotHeight: new Gauge({ name: "pouw_state_sync_snapshot_height", help: "Height of the snapshot this node state-synced from (0: none)", registers }),
    stateSyncProgress: new Gauge({ name: "pouw_state_sync_progress_ratio", help: "Share of the snapshot's chunks fetched and verified while state syncing (1 once restored)", registers }),
    stateSnapshotHeight: new Gauge({ name: "pouw_state_snapshot_height", help: "Height of the newest state snapshot this node serves (0: none)", registers }),
    consensusRound: new Gauge({ name: "pouw_consensus_round", help: "Tendermint round of the height being decided (0 normally)", registers }),
    gossipVerdicts: new Counter({
      name: "pouw_gossip_messages_total",
      help: "Gossip messages by topic and verdict (accept / reject / ignore)",
      labelNames: ["topic", "verdict"] as const,
      registers,
    }),
    checkpointEpoch: new Gauge({ name: "pouw_checkpoint_epoch", help: "Last finished epoch (its checkpoint is recorded in state)", registers }),
    checkpointQuorumEpoch: new Gauge({ name: "pouw_checkpoint_quorum_epoch", help: "Last epoch whose checkpoint has more than 2/3 of its anchor signatures here", registers }),
    anchoredEpoch: new Gauge({ name: "pouw_relay_anchored_epoch", help: "Last epoch the relay target's anchor accepted", labelNames: ["target"] as const, registers }),
    relayFailures: new Counter({ name: "pouw_relay_failures_total", help: "Failed relay attempts (retried) by target", labelNames: ["target"] as const, registers }),
  };
}
