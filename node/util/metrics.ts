import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus
 * keeps for counters (`promtool check metrics` fails on them). They are
 * dropped, not renamed: their per-type twins `nodejs_active_handles`,
 * `nodejs_active_requests` and `nodejs_active_resources` (label `type`) stay,
 * and `sum(nodejs_active_handles)` is the total.
 */
export const DROPPED_DEFAULT_METRICS = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"] as const;

/** The steps of a height that `pouw_consensus_step_duration_seconds` times. */
export const CONSENSUS_STEPS = ["propose", "prevote", "precommit", "commit"] as const;
export type ConsensusStep = (typeof CONSENSUS_STEPS)[number];

/** What a gauge reads at scrape time (its collect callback). */
export type Sampler = () => void | Promise<void>;

export interface MetricsOptions {
  /** prom-client's Node.js process metrics, under their standard names (no prefix), as the usual dashboards expect. */
  defaultMetrics?: boolean;
  /** This node has a validator key: registers its status, power and missed-block series. */
  ownValidator?: boolean;
  /** This node keeps a data directory: registers its filesystem's free and total bytes. */
  dataDir?: boolean;
}

/** Every metric the node exposes, created once and passed to the parts that record them. */
export interface Metrics {
  registry: Registry;
  /** Sets what `gauge` reads at scrape time (head age, disk space); replaces an earlier sampler. */
  sample(gauge: Gauge<string>, fn: Sampler): void;
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
  /** 1, labelled with the package version and the git commit (or "unknown"). */
  buildInfo: Gauge<"version" | "commit">;
  headAgeSeconds: Gauge;
  validatorMissedBlocks: Gauge<"validator">;
  selfMissedBlocks: Counter;
  validatorStatus: Gauge<"status">;
  validatorPower: Gauge;
  consensusStepSeconds: Histogram<"step">;
  mempoolBytes: Gauge;
  jobs: Gauge<"status">;
  proofs: Counter<"result">;
  attestationLatencyBlocks: Histogram;
  workerStepsPerSecond: Gauge;
  relayLagEpochs: Gauge<"target">;
  dataDirFreeBytes: Gauge;
  dataDirSizeBytes: Gauge;
}

/** Sets every label set in `values` to 0, so a counter's series exist before its first event. */
export function preset<L extends string>(counter: Counter<L>, values: readonly Partial<Record<L, string>>[]): void {
  for (const v of values) counter.inc(v, 0);
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const ownValidator = opts.ownValidator ? registers : [];
  const samplers = new Map<string, Sampler>();
  // A sampled gauge's collect runs its sampler (if one is set) at each scrape.
  const sampled = <L extends string = never>(name: string, help: string, labelNames: readonly L[] = [], regs = registers) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: regs,
      collect() {
        return samplers.get(name)?.();
      },
    });
  const consensusStepSeconds = new Histogram({
    name: "pouw_consensus_step_duration_seconds",
    help: "Time a height spent in each consensus step (all its rounds together); commit: from the decision to the block written",
    labelNames: ["step"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  for (const step of CONSENSUS_STEPS) consensusStepSeconds.zero({ step });
  return {
    registry,
    sample: (gauge, fn) => samplers.set((gauge as unknown as { name: string }).name, fn),
    buildInfo: new Gauge({ name: "pouw_build_info", help: "Always 1: the node's version (package.json) and git commit (unknown outside a checkout)", labelNames: ["version", "commit"] as const, registers }),
    headAgeSeconds: sampled("pouw_head_age_seconds", "Seconds since the head block's header time, at scrape time"),
    validatorMissedBlocks: new Gauge({
      name: "pouw_validator_missed_blocks",
      help: "Blocks each active validator (bech32 address) missed in the current signedBlocksWindow, after the last commit",
      labelNames: ["validator"] as const,
      registers,
    }),
    selfMissedBlocks: new Counter({ name: "pouw_self_missed_blocks_total", help: "Committed blocks whose lastCommit lacks this node's validator while it was in the set that signed", registers: ownValidator }),
    validatorStatus: new Gauge({
      name: "pouw_validator_status",
      help: "This node's validator: 1 for its status (active / inactive / jailed / tombstoned / unregistered), 0 for the others",
      labelNames: ["status"] as const,
      registers: ownValidator,
    }),
    validatorPower: new Gauge({ name: "pouw_validator_power", help: "This node's validator's consensus power (0 when not in the active set)", registers: ownValidator }),
    consensusStepSeconds,
    mempoolBytes: new Gauge({ name: "pouw_mempool_bytes", help: "Bytes of the transactions waiting in the mempool", registers }),
    jobs: sampled<"status">("pouw_jobs", "Jobs in the live state by status", ["status"]),
    proofs: new Counter({ name: "pouw_proofs_total", help: "Proof status transitions seen in committed blocks (accepted / rejected / paid / fraudulent)", labelNames: ["result"] as const, registers }),
    attestationLatencyBlocks: new Histogram({
      name: "pouw_attestation_latency_blocks",
      help: "Blocks from a proof's submission to its acceptance or rejection",
      buckets: [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    workerStepsPerSecond: new Gauge({ name: "pouw_worker_training_steps_per_second", help: "The built-in worker's training speed (0 when idle)", registers }),
    relayLagEpochs: sampled<"target">("pouw_relay_lag_epochs", "Last finished epoch minus the last epoch the relay target's anchor accepted", ["target"]),
    dataDirFreeBytes: sampled("pouw_data_dir_free_bytes", "Bytes available to the node on the data directory's filesystem", [], opts.dataDir ? registers : []),
    dataDirSizeBytes: sampled("pouw_data_dir_size_bytes", "Size of the data directory's filesystem in bytes", [], opts.dataDir ? registers : []),
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
