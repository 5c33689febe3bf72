/**
 * The composition root: builds every part in order (db → chain → mempool →
 * consensus → rpc) and closes them in reverse. Parts never reach up; this
 * file wires their events together.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Blockchain, genesisFileHash, type CommittedBlock } from "./chain/blockchain.ts";
import { baseFeeAfter } from "./chain/block.ts";
import { TxError, TxErrorCode } from "./chain/errors.ts";
import { effectiveTip } from "./chain/fees.ts";
import { openDb, type Level } from "./db/database.ts";
import type { AccountKey } from "./crypto/keys.ts";
import { ConsensusWal } from "./consensus/wal.ts";
import { PrivValidator } from "./consensus/privval.ts";
import { ConsensusEngine } from "./consensus/engine.ts";
import type { TimeoutParams } from "./consensus/tendermint/types.ts";
import type { ConsensusTransport } from "./consensus/transport.ts";
import { PouwNetwork, type Verdict } from "./network/network.ts";
import type { NetworkOptions } from "./network/options.ts";
import { ADDRESS_BOOK_FILE } from "./network/address-book.ts";
import { BlockSync } from "./sync/sync.ts";
import { AdmissionQueue } from "./mempool/admission.ts";
import { Mempool } from "./mempool/mempool.ts";
import type { MempoolOptions } from "./mempool/options.ts";
import { SignatureVerifier } from "./mempool/verifier.ts";
import { MempoolJournal } from "./mempool/journal.ts";
import { GENESIS_CHILD_MIN, initGenesisInChild } from "./genesis-init.ts";
import { hasHead } from "./chain/store.ts";
import { DEFAULT_RPC_OPTIONS, RpcServer, type RpcServerOptions } from "./rpc/server.ts";
import type { NodeHealthInfo, RpcNode } from "./rpc/methods.ts";
import { BlobIntake } from "./work/blob-intake.ts";
import { addrKey, idKey } from "./state/world.ts";
import { parseGenesis, type DatasetInfo, type Genesis, type GenesisJson } from "./types/genesis.ts";
import type { JobSpecT } from "./types/transaction.ts";
import type { CurvePoint } from "./pouw/curve.ts";
import { bundleTxs, TxBundle } from "./types/tx-bundle.ts";
import { decodeTransaction, decodeUnhashed, envelopeOf, TxDecodeError, type DecodedTx, type TxEnvelope } from "./types/txcodec.ts";
import { systemClock, type Clock } from "./util/clock.ts";
import { PouwError } from "./util/errors.ts";
import { bytesEqual, toHex } from "./util/hex.ts";
import { silentLogger, type Logger } from "./util/logger.ts";
import { BlobStore } from "./db/blobs.ts";
import { sha256 } from "./crypto/hash.ts";
import { fetchBlob, serveBlobs } from "./network/blobs.ts";
import { blobMatches } from "./pouw/proof.ts";
import { WorkThread } from "./pouw/work-pool.ts";
import { WorkAttestation, type WorkAttestationT } from "./types/block.ts";
import { AttestationPool } from "./work/attestation-pool.ts";
import { BlobCache, challengeStarts } from "./work/blob-cache.ts";
import { WorkVerifier } from "./work/verifier.ts";
import { encodeAddress } from "./crypto/address.ts";
import { AnchorKey } from "./crypto/anchor-key.ts";
import { AnchorSignatureStore } from "./db/anchor-signatures.ts";
import { CheckpointBook } from "./anchor/book.ts";
import type { AnchorTarget } from "./anchor/checkpoint.ts";
import { Relayer } from "./anchor/relayer.ts";
import { fetchAnchorSignatures, serveAnchorSignatures } from "./network/anchor-signatures.ts";
import { ProofStatus } from "./state/schemas.ts";
import { createMetrics, type Metrics } from "./util/metrics.ts";
import { MetricsServer } from "./rpc/metrics-server.ts";
import { NodeMetrics } from "./node-metrics.ts";
import { freeBytes, StorageFault, storageFaultLine } from "./util/storage-fault.ts";
import { ValidatorWatch } from "./node-events.ts";
import { Pruner, type Pruning } from "./chain/pruner.ts";
import { StateSnapshots, type StateSnapshotOptions } from "./sync/snapshot-store.ts";
import { serveStateSnapshots } from "./sync/state-serve.ts";
import { stateSync, type StateSyncOptions, type StateSyncProgress, type TrustRoot } from "./sync/state-sync.ts";

import { NODE_VERSION } from "./version.ts";
export { NODE_VERSION };

export interface NodeConfig {
  /** Data directory (LevelDB under `data/`); null keeps everything in memory (tests). */
  dataDir: string | null;
  /** The genesis file's text. */
  genesisJson: string;
  /** Where the genesis file is, for its `accountsFile` (default: the data directory, where `pouw init` puts both). */
  genesisDir?: string;
  /** The validator key; null runs a non-validating node. */
  validatorKey: AccountKey | null;
  /** The key that signs epoch checkpoints; defaults to the one derived from the validator key (null: do not sign). */
  anchorKey?: AnchorKey | null;
  /** Relays checkpoints with a quorum of anchor signatures to settlement chains (off when absent). */
  relay?: { targets: AnchorTarget[]; retryMs?: number } | null;
  /** RPC listener; null disables RPC. */
  rpc: Partial<RpcServerOptions> | null;
  /**
   * This node's block time instead of the genesis' (tests, benchmarks): how it
   * paces heights when nothing waits. Node-local, not a consensus rule: the
   * least spacing between blocks stays the genesis' (`minBlockIntervalMs`).
   */
  blockTimeMs?: number;
  /** libp2p networking; null or absent for a lone node. */
  network?: Partial<NetworkOptions> | null;
  /** How consensus messages reach the other validators (defaults to the network's gossip; tests inject a bus). */
  transport?: ConsensusTransport | null;
  /** Consensus timeouts (defaults: CometBFT's). */
  timeouts?: TimeoutParams;
  /** This node waits at least this long after a block before the next height (node-local; tests that step consensus by hand). */
  minBlockIntervalMs?: number;
  /** Signature-verification worker threads (0 = main thread). */
  verifierThreads?: number;
  mempool?: Partial<MempoolOptions>;
  logger?: Logger;
  /** Collect Prometheus metrics (served at GET /metrics). */
  metrics?: boolean;
  /** A listener of its own serving only GET /metrics (`pouw start --metrics-addr`); turns metrics on. */
  metricsListen?: { host: string; port: number } | null;
  clock?: Clock;
  /**
   * Called once, after the node has logged a storage fault (the disk refused
   * a write) and stopped consensus and sync. `pouw start` exits the process
   * here; without it the node just stays stopped.
   */
  onStorageFault?: (fault: StorageFault) => void;
  /**
   * Stop after committing this height (an upgrade at an agreed height, as the Cosmos SDK's halt-height): nothing
   * later is signed, proposed or imported. `onHalt` is called once it is committed (`pouw start` closes and exits 86).
   */
  haltHeight?: number;
  onHalt?: (height: number) => void;
  /** How much block history to keep (docs/decisions/0010-bounded-history.md); default archive. */
  pruning?: Pruning;
  /** Block file segment size (default: 64 MiB when pruning, so space comes back in small steps; 1 GiB in archive mode). */
  blockFileBytes?: number;
  /** The state snapshots this node makes and serves for state sync (default: every 1,000 blocks, the last 2 kept); null makes none. */
  stateSnapshots?: Partial<StateSnapshotOptions> | null;
  /**
   * Start an empty home by state sync (node/sync/state-sync.ts) from the
   * trusted block, or from what `trust` finds (the anchored checkpoint). A
   * home that already holds a chain starts from it and ignores this.
   */
  stateSync?: { trust: TrustRoot | (() => Promise<TrustRoot>); onProgress?: (p: StateSyncProgress) => void; opts?: Partial<StateSyncOptions> } | null;
}

/** Segment size of a pruned node's block files: pruning frees whole files. */
const PRUNED_BLOCK_FILE_BYTES = 64 * 1024 * 1024;

const REJECTED_CACHE = 10_000;
/** Most pending challenges whose start checkpoints are pinned while this validator builds a block. */
const MAX_BUILD_CHALLENGES = 64;

/** A transaction arriving for admission: `local` when it came over RPC (this node gossips those, in bundles). */
interface Arrival {
  tx: DecodedTx;
  local: boolean;
}

/** What admission answers a submitter: the completed envelope (once hashed) and null, or why the transaction was refused. */
type Admitted = { env: TxEnvelope; error: null } | { env: null; error: PouwError } | { env: TxEnvelope; error: PouwError };

/** Refusals that are the sending peer's fault (gossip): anything else may be a matter of timing (a nonce, a full pool). */
function peerFault(e: PouwError): boolean {
  return e.code === TxErrorCode.BAD_SIGNATURE || e.code === TxErrorCode.WRONG_CHAIN_ID || e.code === TxErrorCode.TX_TOO_LARGE;
}

export class PouwNode implements RpcNode {
  readonly version = NODE_VERSION;
  readonly genesis: Genesis;
  readonly db: Level;
  readonly chain: Blockchain;
  readonly mempool: Mempool;
  /** RPC and gossip transactions on their way into the mempool, in micro-batches. */
  private readonly admission: AdmissionQueue<Arrival, Admitted>;
  readonly verifier: SignatureVerifier;
  readonly consensus: ConsensusEngine | null;
  readonly network: PouwNetwork | null;
  readonly sync: BlockSync | null;
  readonly rpcServer: RpcServer | null;
  readonly metricsServer: MetricsServer | null;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  readonly validatorAddress: Uint8Array | null;
  readonly blobs: BlobStore;
  readonly attestations: AttestationPool;
  /** The block time consensus is paced by (the genesis', or the configured override). */
  readonly blockTimeMs: number;
  private readonly consensusVerifier: SignatureVerifier | null;
  /** Verifies pending proofs and attests them (validators only). */
  readonly workVerifier: WorkVerifier | null;
  /** Epoch checkpoints and the anchor signatures gathered for them. */
  readonly checkpoints: CheckpointBook;
  readonly relayer: Relayer | null;
  /** The state snapshots this node serves (null: none). */
  readonly stateSnapshots: StateSnapshots | null;
  private readonly blobCache: BlobCache;
  /** What pouw_putBlob may store: blobs a job or proof references or expects, within quotas. */
  private readonly blobIntake: BlobIntake;
  /** Accepted transactions, journaled so they survive a restart; and what the journal held at start. */
  private readonly journal: MempoolJournal | null;
  private journalRestore: Uint8Array[];
  private readonly rejected = new Map<string, { code: string; message: string }>();
  /** Challenges admitted to the mempool (tx hash → start checkpoint hash), oldest first; pruned as they leave it. */
  private readonly pendingChallenges = new Map<string, Uint8Array>();
  private lastTip = 1n;
  private closed = false;
  private readonly closeHooks: (() => Promise<void> | void)[] = [];
  /** Open proofs as of the last commit: slot → proof id hex (a slot may hold another proof later). */
  private readonly liveProofs = new Map<number, string>();
  private readonly dataDir: string | null;
  private readonly onFatal: ((fault: StorageFault) => void) | null;
  private readonly onHalt: ((height: number) => void) | null;
  private curveThread: WorkThread | null = null;
  /** The height this node stopped at (haltHeight), once it has. */
  haltedAt: number | null = null;
  /** The storage fault that stopped this node, if one did. */
  fault: StorageFault | null = null;

  private constructor(parts: {
    genesis: Genesis;
    db: Level;
    chain: Blockchain;
    mempool: Mempool;
    verifier: SignatureVerifier;
    consensus: ConsensusEngine | null;
    network: PouwNetwork | null;
    sync: BlockSync | null;
    rpc: Partial<RpcServerOptions> | null;
    metricsListen: { host: string; port: number } | null;
    logger: Logger;
    metrics: Metrics | null;
    validatorAddress: Uint8Array | null;
    blobs: BlobStore;
    attestations: AttestationPool;
    workVerifier: WorkVerifier | null;
    blobCache: BlobCache;
    checkpoints: CheckpointBook;
    relayer: Relayer | null;
    stateSnapshots: StateSnapshots | null;
    dataDir: string | null;
    onStorageFault: ((fault: StorageFault) => void) | null;
    onHalt: ((height: number) => void) | null;
    journal: { journal: MempoolJournal; restore: Uint8Array[] } | null;
    blockTimeMs: number;
    consensusVerifier: SignatureVerifier | null;
  }) {
    this.blockTimeMs = parts.blockTimeMs;
    this.consensusVerifier = parts.consensusVerifier;
    this.journal = parts.journal?.journal ?? null;
    this.journalRestore = parts.journal?.restore ?? [];
    this.genesis = parts.genesis;
    this.db = parts.db;
    this.chain = parts.chain;
    this.mempool = parts.mempool;
    this.admission = new AdmissionQueue((batch) => this.admit(batch));
    this.verifier = parts.verifier;
    this.consensus = parts.consensus;
    this.network = parts.network;
    this.sync = parts.sync;
    this.rpcServer = parts.rpc ? new RpcServer(parts.rpc, this, parts.logger.child({ module: "rpc" }), parts.metrics) : null;
    this.metricsServer = parts.metricsListen && parts.metrics ? new MetricsServer(parts.metricsListen, parts.metrics, parts.logger.child({ module: "metrics" })) : null;
    this.logger = parts.logger;
    this.metrics = parts.metrics;
    this.validatorAddress = parts.validatorAddress;
    this.blobs = parts.blobs;
    this.attestations = parts.attestations;
    this.workVerifier = parts.workVerifier;
    this.checkpoints = parts.checkpoints;
    this.relayer = parts.relayer;
    this.stateSnapshots = parts.stateSnapshots;
    this.blobCache = parts.blobCache;
    const rpcOpts = { ...DEFAULT_RPC_OPTIONS, ...parts.rpc };
    this.blobIntake = new BlobIntake(
      { quotaBytes: rpcOpts.blobQuotaBytes, ttlMs: rpcOpts.blobTtlMs },
      { chain: parts.chain, store: parts.blobs, logger: parts.logger.child({ module: "rpc" }) },
    );
    this.onClose(() => this.blobIntake.close());
    this.dataDir = parts.dataDir;
    this.onFatal = parts.onStorageFault;
    this.onHalt = parts.onHalt;
  }

  static async create(cfg: NodeConfig): Promise<PouwNode> {
    const logger = cfg.logger ?? silentLogger();
    const metrics = cfg.metrics || cfg.metricsListen ? createMetrics({ defaultMetrics: true, ownValidator: !!cfg.validatorKey, dataDir: cfg.dataDir !== null }) : null;
    const clock = cfg.clock ?? systemClock;
    const genesisJson = JSON.parse(cfg.genesisJson) as GenesisJson;
    const genesis = parseGenesis(genesisJson, { dir: cfg.genesisDir ?? cfg.dataDir ?? "." });
    const genesisHash = genesisFileHash(cfg.genesisJson);

    let dbPath: string | null = null;
    let blocksDir: string | null = null;
    let stateDir: string | null = null;
    if (cfg.dataDir !== null) {
      dbPath = join(cfg.dataDir, "data");
      blocksDir = join(cfg.dataDir, "blocks");
      stateDir = join(cfg.dataDir, "state");
      mkdirSync(dbPath, { recursive: true });
      mkdirSync(stateDir, { recursive: true });
    }
    const pruning = cfg.pruning ?? "archive";
    const blockFileBytes = cfg.blockFileBytes ?? (pruning === "archive" ? undefined : PRUNED_BLOCK_FILE_BYTES);
    let initialised = false;
    if (dbPath !== null) {
      const probe = await openDb(dbPath);
      initialised = await hasHead(probe).finally(() => probe.close());
    }
    if (cfg.stateSync && !cfg.network) throw new PouwError("STATE_SYNC_NEEDS_NETWORK", "state sync needs networking (peers to fetch the state from)");
    const stateSyncing = !!cfg.stateSync && !initialised;
    if (cfg.stateSync && initialised) logger.info("This home already holds a chain: starting from it (state sync is for an empty home)");
    if (cfg.dataDir !== null && genesis.accountCount >= GENESIS_CHILD_MIN && !initialised && !stateSyncing) {
      const t = performance.now();
      await initGenesisInChild(
        {
          dataDir: cfg.dataDir,
          genesisDir: cfg.genesisDir ?? cfg.dataDir,
          ...(blockFileBytes === undefined ? {} : { maxFileBytes: blockFileBytes }),
        },
        cfg.genesisJson,
      );
      logger.info({ accounts: genesis.accountCount, ms: Math.round(performance.now() - t) }, "Built the genesis state (in a child process, so its memory goes with it)");
    }
    const db = await openDb(dbPath);
    let verifier: SignatureVerifier | undefined;
    let consensusVerifier: SignatureVerifier | null = null;
    let opened: Blockchain | undefined;
    let network: PouwNetwork | null = null;
    let journal: MempoolJournal | null = null;
    try {
      let chainRef: Blockchain | undefined;
      if (cfg.network) {
        // The address book lives in the home unless the caller names one (or null: none).
        const addressBook = cfg.network.addressBook !== undefined ? cfg.network.addressBook : cfg.dataDir !== null ? join(cfg.dataDir, ADDRESS_BOOK_FILE) : null;
        network = await PouwNetwork.create({ ...cfg.network, addressBook }, genesis.chainId, logger.child({ module: "network" }), metrics);
        // Validators prove their identity to peers, which keep and prefer them (decision 0009); membership is the active set's.
        network.useValidatorIdentity(cfg.validatorKey, (publicKey) => chainRef?.world.validators.some((v) => bytesEqual(v.publicKey, publicKey)) ?? false);
      }
      const t0 = performance.now();
      const chainOpts = {
        ...(blockFileBytes === undefined ? {} : { maxFileBytes: blockFileBytes }),
        ...(stateDir === null ? {} : { accountSnapshot: join(stateDir, "accounts.snapshot") }),
        warn: (msg: string, err?: unknown) => logger.warn({ err }, msg),
      };
      let chain: Blockchain;
      if (stateSyncing) {
        const net0 = network!;
        await net0.start();
        logger.info({ peerId: net0.peerId, listen: net0.addresses }, "P2P listening (state sync)");
        const trust = typeof cfg.stateSync!.trust === "function" ? await cfg.stateSync!.trust() : cfg.stateSync!.trust;
        const restored = await stateSync({
          libp2p: net0.libp2p,
          chainId: genesis.chainId,
          genesisHash,
          trust,
          logger: logger.child({ module: "state-sync" }),
          metrics,
          penalise: (peer, why) => net0.penalise(peer, why),
          maxBlockResponseBytes: net0.opts.maxProposalBytes,
          ...(cfg.stateSync!.onProgress ? { onProgress: cfg.stateSync!.onProgress } : {}),
          ...(cfg.stateSync!.opts ? { opts: cfg.stateSync!.opts } : {}),
        });
        chain = opened = await Blockchain.openRestored(db, genesis, genesisHash, blocksDir, chainOpts, restored);
        logger.info(
          {
            height: restored.block.header.height,
            accounts: restored.world.accounts.count,
            peers: restored.sources,
            droppedPeers: restored.dropped.length,
            mb: Math.round((restored.bytes / 2 ** 20) * 10) / 10,
            ms: restored.ms,
          },
          "State sync: restored the state of the snapshot; block sync takes it to the head",
        );
      } else {
        chain = opened = await Blockchain.open(db, genesis, genesisHash, blocksDir, chainOpts);
      }
      chainRef = chain;
      logger.info({ height: chain.head.header.height, accounts: chain.world.accounts.count, from: chain.accountsSource, ms: Math.round(performance.now() - t0) }, "Loaded the state");
      const stateSnapshots =
        cfg.stateSnapshots === null ? null : new StateSnapshots(stateDir === null ? null : join(stateDir, "sync"), cfg.stateSnapshots ?? {}, (msg, err) => logger.warn({ err }, msg));
      if (stateSnapshots) {
        chain.onAdopt((height, hash) => {
          if (!stateSnapshots.due(height)) return;
          stateSnapshots.capture(chain.world, height, hash);
          metrics?.stateSnapshotHeight.set(height);
        });
      }
      // The state holds the accounts now; a million parsed genesis entries need not stay on the heap.
      genesis.releaseAccounts();
      delete genesisJson.accounts;
      let consensus: ConsensusEngine | null = null;
      let node: PouwNode | undefined;
      const onFault = (f: StorageFault) => node?.storageFault(f);
      chain.onStorageFault(onFault);
      verifier = new SignatureVerifier({ threads: cfg.verifierThreads });
      const journaled = cfg.dataDir === null ? null : MempoolJournal.open(join(cfg.dataDir, "mempool.journal"));
      journal = journaled?.journal ?? null;
      const mempool = new Mempool(cfg.mempool ?? {}, {
        view: {
          chainId: chain.ctx.chainId,
          params: chain.params,
          baseFee: () => baseFeeAfter(chain.head, chain.params),
          account: (senderHex: string) => {
            const i = chain.world.accounts.indexOfKey(senderHex);
            const a = i === undefined ? undefined : chain.world.accounts.get(i);
            return a ? { nonce: a.nonce, balance: a.balance } : undefined;
          },
        },
        verifier,
        metrics,
        onEvicted: (envs) => {
          for (const env of envs) node?.reject(env, new PouwError("EVICTED", "evicted from the full mempool by transactions paying a higher tip"));
        },
        // Accepted means journaled: a crash or restart does not lose it.
        onAdmitted: journal
          ? async (envs) => {
              try {
                await journal!.append(envs.map((e) => e.bytes));
              } catch (e) {
                node?.storageFault(e);
                throw e;
              }
            }
          : undefined,
      });

      const blobs = new BlobStore(db, { onFault });
      const attestations = new AttestationPool(chain);
      const blobCache = new BlobCache(blobs, network ? (id) => fetchBlob(network!, genesis.chainId, id, blobMatches) : null);
      chain.ctx.blob = (id) => blobCache.get(id);
      const transport = cfg.transport ?? network?.consensusTransport() ?? null;
      if (cfg.validatorKey || transport) {
        const key = cfg.validatorKey;
        if (key && !chain.world.validators.some((v) => addrKey(v.address) === addrKey(key.address))) {
          // A candidate (or one jailed or not yet registered) follows the chain and signs once an epoch elects it.
          const registered = chain.world.getValidator(key.address);
          logger.warn(
            { validator: key.bech32, registered: registered !== undefined, jailed: registered?.jailed ?? false },
            registered ? "This validator is not in the active set: following until an epoch elects it" : "This key is not a registered validator: following until a CreateValidator with it is elected",
          );
        }
        const privval = key ? await PrivValidator.open(db, key, chain.ctx.chainId, metrics) : null;
        // Peers' votes and proposals are checked by a thread of their own (also with verifierThreads 0): they never
        // wait behind transaction batches. The engine uses it from offThreadSignaturesFrom active validators; it starts on
        // its first batch, so a smaller set never runs the thread.
        consensusVerifier = transport ? new SignatureVerifier({ threads: 1, lazy: true }) : null;
        consensus = new ConsensusEngine(
          {
            blockTimeMs: cfg.blockTimeMs ?? genesis.params.blockTimeMs,
            ...(cfg.timeouts ? { timeouts: cfg.timeouts } : {}),
            ...(cfg.minBlockIntervalMs === undefined ? {} : { minBlockIntervalMs: cfg.minBlockIntervalMs }),
            ...(cfg.haltHeight === undefined ? {} : { haltHeight: cfg.haltHeight }),
          },
          {
            chain,
            privval,
            transport,
            verifier,
            consensusVerifier,
            wal: new ConsensusWal(db, cfg.dataDir === null ? null : join(cfg.dataDir, "consensus-wal")),
            txs: { pending: (baseFee) => mempool.pending(baseFee), verified: (env) => mempool.verified(env), hasReady: (baseFee) => mempool.hasReady(baseFee) },
            clock,
            logger: logger.child({ module: "consensus" }),
            metrics,
            onStorageFault: (e) => node?.storageFault(e),
            onBehind: () => node?.sync?.poke(),
            onHalt: (height) => node?.reachedHaltHeight(height),
            attestations: () => attestations.values(),
            // Held until the blocks are verified or imported: nothing fetched meanwhile evicts them.
            prepare: (blocks) => blobCache.forBlocks(blocks),
            prepareBuild: () => blobCache.acquire(node?.pendingChallengeStarts() ?? []),
            onDropped: (dropped) => {
              for (const { env, error } of dropped) {
                if (!node) continue;
                // A nonce gap or a base fee above the cap can clear up later: those wait in the pool.
                if (error.code === TxErrorCode.NONCE_GAP || error.code === TxErrorCode.FEE_BELOW_BASE_FEE) continue;
                // So can a challenge whose start checkpoint is still being fetched.
                if (error.code === TxErrorCode.BLOB_UNAVAILABLE) {
                  void blobCache.prefetch(challengeStarts([env.signed]));
                  continue;
                }
                node.reject(env, error);
              }
            },
          },
        );
      }
      const sync =
        network && consensus
          ? new BlockSync(
              {},
              { chain, network, engine: consensus, genesisHash, logger: logger.child({ module: "sync" }), metrics, onStorageFault: (e) => node?.storageFault(e) },
            )
          : null;
      const net = network;
      const publishAttestation = (a: WorkAttestationT) => {
        attestations.add(a);
        net?.publish("attestation", WorkAttestation.serialize(a));
      };
      const workVerifier = cfg.validatorKey
        ? new WorkVerifier({
            chain,
            blobs,
            ...(net ? { fetchRemote: (id: Uint8Array) => fetchBlob(net, genesis.chainId, id, blobMatches) } : {}),
            key: cfg.validatorKey,
            thread: new WorkThread(),
            logger: logger.child({ module: "work" }),
            publish: publishAttestation,
          })
        : null;
      const anchorKey = cfg.anchorKey !== undefined ? cfg.anchorKey : cfg.validatorKey ? AnchorKey.fromSeed(cfg.validatorKey.seed) : null;
      const checkpoints = new CheckpointBook({
        chain,
        store: new AnchorSignatureStore(db, { onFault }),
        key: anchorKey,
        publish: net ? (bytes) => net.publish("anchor", bytes) : null,
        logger: logger.child({ module: "anchor" }),
        metrics,
        ...(net ? { fetchRemote: (epoch, accept, enough) => fetchAnchorSignatures(net, genesis.chainId, epoch, accept, enough) } : {}),
      });
      const relayer = cfg.relay && cfg.relay.targets.length > 0 ? new Relayer({ book: checkpoints, targets: cfg.relay.targets, retryMs: cfg.relay.retryMs, logger: logger.child({ module: "relayer" }), metrics }) : null;
      node = new PouwNode({
        blockTimeMs: cfg.blockTimeMs ?? genesis.params.blockTimeMs,
        consensusVerifier,
        genesis,
        db,
        chain,
        mempool,
        verifier,
        consensus,
        network,
        sync,
        rpc: cfg.rpc,
        metricsListen: cfg.metricsListen ?? null,
        logger,
        metrics,
        validatorAddress: cfg.validatorKey?.address ?? null,
        blobs,
        attestations,
        workVerifier,
        blobCache,
        checkpoints,
        relayer,
        stateSnapshots,
        dataDir: cfg.dataDir,
        onStorageFault: cfg.onStorageFault ?? null,
        onHalt: cfg.onHalt ?? null,
        journal: journaled ? { journal: journaled.journal, restore: journaled.txs } : null,
      });
      chain.onCommit((c) => node.afterCommit(c));
      if (metrics) {
        const derived = new NodeMetrics(chain, metrics, { validator: cfg.validatorKey?.address ?? null, dataDir: cfg.dataDir });
        chain.onCommit((c) => derived.onCommit(c));
      }
      if (cfg.validatorKey) {
        const watch = new ValidatorWatch(chain, cfg.validatorKey.address, logger.child({ module: "validator" }));
        chain.onCommit((c) => watch.onCommit(c));
      }
      chain.onCommit(() => void checkpoints.onCommit());
      if (pruning !== "archive") {
        const log = logger.child({ module: "pruner" });
        const pruner = new Pruner(chain, { keep: pruning.keep, blobs, onError: (err) => log.warn({ err }, "Pruning failed: trying again after the next block") });
        if (pruner.keep > pruning.keep) log.warn({ asked: pruning.keep, keep: pruner.keep }, "Pruning keeps more blocks than asked: what this node reads back (epochs, downtime window, proof windows)");
        log.info({ keep: pruner.keep, lowestRetained: chain.store.floor }, "Pruning old blocks");
        pruner.start();
        node.onClose(() => pruner.stop());
      }
      network?.on("anchor", (data) => checkpoints.onGossip(data));
      network?.on("tx", (data) => node.onGossipTx(data));
      network?.on("txs", (data) => node.onGossipBundle(data));
      network?.on("attestation", async (data) => attestations.onGossip(data));
      metrics?.headHeight.set(chain.head.header.height);
      return node;
    } catch (e) {
      await journal?.close();
      await network?.stop().catch(() => undefined);
      await verifier?.close();
      await consensusVerifier?.close();
      await opened?.close();
      await db.close();
      throw e;
    }
  }

  /** Starts the RPC listener and block production. */
  async start(): Promise<void> {
    if (this.rpcServer) {
      const { host, port } = await this.rpcServer.listen();
      this.logger.info({ url: `http://${host}:${port}/` }, "JSON-RPC listening");
    }
    if (this.metricsServer) {
      await this.metricsServer.listen();
      this.logger.info({ url: this.metricsServer.url }, "Metrics listening");
    }
    const h = this.chain.head.header;
    this.logger.info({ chainId: this.genesis.chainId, height: h.height, stateRoot: toHex(h.stateRoot).slice(0, 18) }, "Chain loaded");
    if (this.network) {
      await this.network.start();
      this.logger.info({ peerId: this.network.peerId, listen: this.network.addresses }, "P2P listening");
      await this.sync?.start();
      await serveBlobs(this.network, this.genesis.chainId, this.blobs);
      await serveAnchorSignatures(this.network, this.genesis.chainId, (epoch) => this.checkpoints.messages(epoch));
      if (this.stateSnapshots) {
        const net = this.network;
        await serveStateSnapshots(net.libp2p, this.genesis.chainId, this.stateSnapshots, (peer, why) => net.penalise(peer, why));
      }
    }
    await this.checkpoints.start();
    this.relayer?.start();
    await this.restoreMempool();
    await this.consensus?.start();
  }

  /**
   * Re-admits the transactions the journal held at start (those included or
   * made stale meanwhile are refused and dropped), then rewrites the journal
   * with what the pool kept.
   */
  private async restoreMempool(): Promise<void> {
    const txs = this.journalRestore;
    this.journalRestore = [];
    if (!this.journal || txs.length === 0) return;
    let kept = 0;
    for (let i = 0; i < txs.length; i += 500) {
      const envs: TxEnvelope[] = [];
      for (const bytes of txs.slice(i, i + 500)) {
        try {
          envs.push(decodeTransaction(bytes));
        } catch {
          // a frame that is not a transaction: dropped with the rewrite below
        }
      }
      const results = await this.mempool.addBatch(envs);
      kept += results.filter((r) => r === null).length;
      envs.forEach((env, j) => results[j] === null && this.noteChallenge(env));
    }
    await this.journal.rewrite([...this.mempool.all()].map((e) => e.bytes));
    this.logger.info({ journaled: txs.length, restored: kept }, "Restored the mempool from its journal");
    // Peers may never have got them (this node died before its gossip went out): send them again once the
    // mesh has formed, and once more a little later, while they are still waiting here.
    const restored = [...this.mempool.all()].map((e) => e.hashHex);
    for (const ms of [2_000, 10_000]) {
      const t = setTimeout(() => {
        const still = restored.flatMap((h) => this.mempool.get(h)?.bytes ?? []);
        if (this.network) for (const b of bundleTxs(still)) this.network.publish("txs", b);
      }, ms);
      t.unref();
      this.closeHooks.push(() => clearTimeout(t));
    }
  }

  /** Runs `fn` first when the node closes (a built-in worker stops before the node it talks to). */
  onClose(fn: () => Promise<void> | void): void {
    this.closeHooks.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closeHooks) await fn();
    this.sync?.stop();
    await this.relayer?.stop();
    await this.checkpoints.stop();
    await this.workVerifier?.close();
    await this.consensus?.stop();
    await this.network?.stop();
    await this.rpcServer?.close();
    await this.metricsServer?.close();
    await this.verifier.close();
    await this.consensusVerifier?.close();
    if (this.journal) {
      // Compacted to what is still pending: a clean restart does not re-check thousands of included transactions.
      try {
        await this.journal.rewrite([...this.mempool.all()].map((e) => e.bytes));
      } catch (e) {
        this.logger.warn({ err: e }, "Could not compact the mempool journal at close (the next start re-checks it whole)");
      }
      await this.journal.close();
    }
    // A state snapshot being written finishes (a torn one would be deleted at the next start anyway).
    await this.stateSnapshots?.idle();
    await this.chain.close();
    await this.db.close();
  }

  /**
   * Fail-stop on a storage fault (the disk refused a write: full, read-only,
   * I/O error): logs ONE line saying what failed, where and how much space is
   * left, stops consensus and sync (nothing more is signed or committed) and
   * calls the `onStorageFault` hook. Later faults (every part fails once the
   * disk is full) are not logged again. On restart with room on the disk the
   * node resumes at its last committed head: each commit is one atomic batch,
   * and block files are cut back to it.
   */
  storageFault(err: unknown): void {
    if (this.fault) return;
    const f = err instanceof StorageFault ? err : new StorageFault("node data", this.dataDir, err);
    this.fault = f;
    const free = freeBytes(f.path ?? this.dataDir);
    this.logger.fatal({ what: f.what, path: f.path, errno: f.errno, freeBytes: free, err: f.cause }, storageFaultLine(f, free));
    this.sync?.stop();
    void this.consensus?.stop().catch(() => undefined);
    this.onFatal?.(f);
  }

  /** The halt height is committed: sync stops too (consensus already has), and the `onHalt` hook is told once. */
  private reachedHaltHeight(height: number): void {
    if (this.haltedAt !== null) return;
    this.haltedAt = height;
    this.sync?.stop();
    this.logger.warn({ height }, `Reached the halt height ${height}: stopped (nothing later is signed or imported). Upgrade if that is the plan, then start again without --halt-height or with a later one`);
    this.onHalt?.(height);
  }

  private afterCommit(c: CommittedBlock): void {
    this.mempool.removeCommitted(c.txs);
    // The journal only grows between rewrites: rewrite it once it is well past what the pool holds.
    if (this.journal && this.journal.bytes > Math.max(64 * 1024 * 1024, 4 * this.mempool.bytes)) {
      this.journal.rewrite([...this.mempool.all()].map((e) => e.bytes)).catch((e: unknown) => this.storageFault(e));
    }
    this.attestations.prune();
    this.workVerifier?.onCommit(c);
    const h = c.block.header;
    if (c.txs.length > 0) {
      const tips = c.txs.map((t) => effectiveTip(t.signed.tx.maxFeePerGas, t.signed.tx.maxPriorityFeePerGas, h.baseFeePerGas)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.lastTip = tips[tips.length >> 1]! > 1n ? tips[tips.length >> 1]! : 1n;
    }
    this.logDecidedProofs(h.height);
    this.metrics?.headHeight.set(h.height);
    this.metrics?.blockTxs.observe(c.txs.length);
    this.metrics?.txsFinalized.inc(c.txs.length);
    this.logger.info(
      { height: h.height, txs: c.txs.length, gasUsed: h.gasUsed, baseFee: h.baseFeePerGas.toString(), hash: toHex(c.hash).slice(0, 18), mempool: this.mempool.size },
      "Committed block",
    );
  }

  /**
   * Logs the proofs this block decided: those that were open (pending or
   * accepted) after the block before and are not now, never every proof.
   */
  private logDecidedProofs(height: number): void {
    const { proofs, jobs, openProofs } = this.chain.world;
    for (const [i, id] of this.liveProofs) {
      const p = proofs[i]!;
      if (openProofs.has(i) && idKey(p.id) === id) continue;
      this.liveProofs.delete(i);
      if (idKey(p.id) !== id || p.decidedAt !== height || p.status === ProofStatus.Pending) continue;
      const status = Object.keys(ProofStatus).find((k) => ProofStatus[k as keyof typeof ProofStatus] === p.status);
      this.logger.info({ proof: toHex(p.id).slice(0, 18), job: toHex(jobs[p.job]!.id).slice(0, 18), status, worker: encodeAddress(p.worker) }, `Proof ${status?.toLowerCase()}`);
    }
    for (const i of openProofs) if (!this.liveProofs.has(i)) this.liveProofs.set(i, idKey(proofs[i]!.id));
  }

  /**
   * A micro-batch of arriving transactions: the checks that need no hash on
   * the event loop, then roots, hash and signature in the workers, then the
   * mempool (which checks again against the state it has by then).
   */
  private async admit(arrivals: readonly Arrival[]): Promise<Admitted[]> {
    const batch = arrivals.map((a) => a.tx);
    const out: Admitted[] = new Array(batch.length);
    const pass: number[] = [];
    batch.forEach((d, i) => {
      const error = this.mempool.screen(d);
      if (error) out[i] = { env: null, error };
      else pass.push(i);
    });
    if (pass.length === 0) return out;
    const digests = await this.verifier.digestAndVerify(pass.map((i) => batch[i]!.bytes));
    const envs: TxEnvelope[] = [];
    const oks: boolean[] = [];
    pass.forEach((i, k) => {
      const d = digests[k]!;
      if (d.ok === null) {
        out[i] = { env: null, error: new PouwError("INTERNAL", "the node failed to check this transaction (an internal error; the node's log has the cause)") };
        this.logger.error({ bytes: batch[i]!.bytes.length }, "A signature worker could not decode a transaction the event loop decoded");
        return;
      }
      envs.push(envelopeOf(batch[i]!, d.hash, d.txRoot));
      oks.push(d.ok);
    });
    const results = await this.mempool.addBatch(envs, oks);
    let k = 0;
    const gossip: Uint8Array[] = [];
    for (const i of pass) {
      if (out[i]) continue;
      const error = results[k]!;
      out[i] = error ? { env: envs[k]!, error } : { env: envs[k]!, error: null };
      if (!error && arrivals[i]!.local) gossip.push(envs[k]!.bytes);
      k++;
    }
    // What this batch took over RPC goes out as bundles: one gossip message per batch, not one per transaction.
    if (gossip.length > 0 && this.network) for (const b of bundleTxs(gossip)) this.network.publish("txs", b);
    return out;
  }

  /**
   * A bundle from gossip: relayed if the mempool took any of it, dropped
   * quietly if it held nothing new, and held against the peer if any
   * transaction in it is malformed, mis-signed, for another chain or too large.
   */
  private async onGossipBundle(data: Uint8Array): Promise<Verdict> {
    let list: Uint8Array[];
    try {
      list = TxBundle.deserialize(data);
    } catch {
      return "reject";
    }
    if (list.length === 0) return "reject";
    const decoded: DecodedTx[] = [];
    for (const bytes of list) {
      try {
        decoded.push(decodeUnhashed(bytes));
      } catch {
        return "reject";
      }
    }
    const results = await Promise.all(decoded.map((tx) => this.admission.submit({ tx, local: false })));
    let fresh = false;
    for (const r of results) {
      if (r.error) {
        if (peerFault(r.error)) return "reject";
        continue;
      }
      fresh = true;
      this.noteChallenge(r.env);
      void this.blobCache.prefetch(challengeStarts([r.env.signed]));
    }
    return fresh ? "accept" : "ignore";
  }

  /** A transaction from gossip: relayed only if the mempool took it; malformed or mis-signed ones count against the peer. */
  private async onGossipTx(data: Uint8Array): Promise<Verdict> {
    let decoded: DecodedTx;
    try {
      decoded = decodeUnhashed(data);
    } catch {
      return "reject";
    }
    const { env, error: err } = await this.admission.submit({ tx: decoded, local: false });
    if (!err) {
      this.noteChallenge(env);
      void this.blobCache.prefetch(challengeStarts([env.signed]));
      return "accept";
    }
    return peerFault(err) ? "reject" : "ignore";
  }

  private noteChallenge(env: TxEnvelope): void {
    const [start] = challengeStarts([env.signed]);
    if (start) this.pendingChallenges.set(env.hashHex, start);
  }

  /** Start checkpoints of the challenges still in the mempool (at most MAX_BUILD_CHALLENGES), for the block being built. */
  private pendingChallengeStarts(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [hash, start] of this.pendingChallenges) {
      if (!this.mempool.get(hash)) this.pendingChallenges.delete(hash);
      else if (out.length < MAX_BUILD_CHALLENGES) out.push(start);
    }
    return out;
  }

  private reject(env: TxEnvelope, error: PouwError): void {
    this.mempool.remove(env.hashHex);
    if (this.rejected.size >= REJECTED_CACHE) this.rejected.delete(this.rejected.keys().next().value as string);
    this.rejected.set(env.hashHex, { code: error.code, message: error.message });
    this.logger.debug({ tx: env.hashHex, code: error.code }, "Dropped transaction");
  }

  // RpcNode

  mempoolSize(): number {
    return this.mempool.size;
  }

  networkStatus(): { peers: number; peerId: string; syncing: boolean; bestPeerHeight: number; round: number } | null {
    if (!this.network) return null;
    return {
      peers: this.network.peerCount,
      peerId: this.network.peerId,
      syncing: this.sync?.syncing ?? false,
      bestPeerHeight: this.sync?.bestPeerHeight ?? 0,
      round: this.consensus?.round ?? 0,
    };
  }

  relayStatus(): { target: string; lastEpoch: number; failures: number }[] | null {
    return this.relayer?.status().map((s) => ({ target: s.target, lastEpoch: Number(s.lastEpoch), failures: s.failures })) ?? null;
  }

  async submitTransaction(bytes: Uint8Array): Promise<TxEnvelope> {
    if (bytes.length > this.chain.params.maxTxBytes) {
      throw new TxError(TxErrorCode.TX_TOO_LARGE, `transaction is ${bytes.length} bytes, limit ${this.chain.params.maxTxBytes}`);
    }
    let decoded: DecodedTx;
    try {
      decoded = decodeUnhashed(bytes);
    } catch (e) {
      // The field at fault and the limit, never the decoder's own text.
      if (e instanceof TxDecodeError) throw new TxError(TxErrorCode.MALFORMED_TX, e.reason, { field: e.field, size: e.size });
      throw new TxError(TxErrorCode.MALFORMED_TX, "transaction does not decode as an SSZ SignedTransaction");
    }
    const { env, error: err } = await this.admission.submit({ tx: decoded, local: true });
    if (err) throw err;
    this.noteChallenge(env);
    await this.blobCache.prefetch(challengeStarts([env.signed]));
    this.rejected.delete(env.hashHex);
    return env;
  }

  pendingTx(hashHex: string): TxEnvelope | undefined {
    return this.mempool.get(hashHex);
  }

  isProposing(hashHex: string): boolean {
    return this.consensus?.proposing.has(hashHex) ?? false;
  }

  rejection(hashHex: string): { code: string; message: string } | undefined {
    return this.rejected.get(hashHex);
  }

  replacement(hashHex: string): { replacedBy: string; senderHex: string; nonce: bigint } | undefined {
    return this.mempool.replacement(hashHex);
  }

  suggestedTip(): bigint {
    return this.lastTip;
  }

  onCommit(listener: (c: CommittedBlock) => void): () => void {
    return this.chain.onCommit(listener);
  }

  /** Stores a blob from RPC if a job or proof references or expects it (BLOB_NOT_EXPECTED, BLOB_QUOTA_EXCEEDED otherwise). */
  async putBlob(bytes: Uint8Array, id: Uint8Array = sha256(bytes)): Promise<Uint8Array> {
    await this.blobIntake.put(bytes, id);
    return id;
  }

  healthInfo(): NodeHealthInfo {
    return {
      syncing: this.sync?.syncing ?? false,
      bestPeerHeight: this.sync?.bestPeerHeight ?? 0,
      peers: this.network?.peerCount ?? 0,
      consensus: this.consensus ? { height: this.consensus.height, round: this.consensus.round } : null,
      storageFault: this.fault ? this.fault.message : null,
      blobs: this.blobIntake.stats(),
      blockTimeMs: this.blockTimeMs,
    };
  }

  async getBlob(id: Uint8Array): Promise<Uint8Array | undefined> {
    return this.blobs.get(id);
  }

  /** Explorer curves (pouw_getJobCurve) in a work thread of their own: started on the first, never behind proof verification. */
  async evaluateCheckpoints(spec: JobSpecT, jobId: Uint8Array, dataset: DatasetInfo, checkpoints: { index: number; blob: Uint8Array }[]): Promise<CurvePoint[]> {
    if (this.closed) return [];
    if (!this.curveThread) {
      const t = new WorkThread();
      this.curveThread = t;
      this.onClose(() => t.close());
    }
    return this.curveThread.evaluate({ spec, jobId, dataset, checkpoints });
  }
}
