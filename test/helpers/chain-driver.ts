/**
 * Drives a real `Blockchain` (memory-level) block by block without consensus:
 * the round-0 proposer from the state's priorities builds, a chosen subset of
 * the active set signs the commit. For state-transition tests of staking.
 */
import { Blockchain, genesisFileHash } from "../../node/chain/blockchain.ts";
import { voteSigningMessage } from "../../node/chain/commit.ts";
import { ProposerSet } from "../../node/chain/proposer.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { openDb, type Level } from "../../node/db/database.ts";
import { addrKey } from "../../node/state/world.ts";
import { VoteType, type CommitT, type DuplicateVoteEvidenceT, type WorkAttestationT } from "../../node/types/block.ts";
import { parseGenesis } from "../../node/types/genesis.ts";
import type { TxEnvelope } from "../../node/types/txcodec.ts";
import type { ExecutionResult } from "../../node/chain/execute.ts";
import { afterEach } from "vitest";
import { signedTx, type TxSpec } from "./tx.ts";

export class ChainDriver {
  readonly keys = new Map<string, AccountKey>();
  readonly db: Level;
  readonly chain: Blockchain;
  /** Per sender: the nonce last signed by `sign` and the height it was signed at. */
  private readonly lastSigned = new Map<string, { height: number; nonce: bigint }>();

  private constructor(db: Level, chain: Blockchain, keys: AccountKey[]) {
    this.db = db;
    this.chain = chain;
    for (const k of keys) this.keys.set(addrKey(k.address), k);
  }

  /** `disk`: a LevelDB directory and a block-files directory (default: memory-level, bodies in the database). */
  static async open(
    genesisJson: string,
    keys: AccountKey[],
    disk?: { dbDir: string; blocksDir: string; maxFileBytes?: number; accountSnapshot?: string; warn?: (msg: string) => void },
  ): Promise<ChainDriver> {
    const db = await openDb(disk?.dbDir ?? null);
    const storeOpts = {
      ...(disk?.maxFileBytes === undefined ? {} : { maxFileBytes: disk.maxFileBytes }),
      ...(disk?.accountSnapshot === undefined ? {} : { accountSnapshot: disk.accountSnapshot }),
      ...(disk?.warn === undefined ? {} : { warn: disk.warn }),
    };
    const chain = await Blockchain.open(db, parseGenesis(JSON.parse(genesisJson)), genesisFileHash(genesisJson), disk?.blocksDir ?? null, storeOpts);
    return new ChainDriver(db, chain, keys);
  }

  addKey(k: AccountKey): void {
    this.keys.set(addrKey(k.address), k);
  }

  get height(): number {
    return this.chain.head.header.height;
  }

  /** The round-0 proposer of the next height, from the committed priorities. */
  proposer(): Uint8Array {
    const { validators, priorities } = this.chain.world;
    const set = ProposerSet.fromPriorities(validators.map((v, i) => ({ id: addrKey(v.address), power: v.power, priority: priorities[i]! }))).increment(1);
    return validators.find((v) => addrKey(v.address) === set.proposer.id)!.address;
  }

  /**
   * Builds, signs and commits the next block. `signers`: which members of the
   * active set sign its commit (default all); `offline` members never sign.
   */
  async next(
    txs: TxEnvelope[] = [],
    opts: { evidence?: DuplicateVoteEvidenceT[]; offline?: Uint8Array[]; proposer?: Uint8Array; attestations?: WorkAttestationT[] } = {},
  ): Promise<ExecutionResult> {
    const chain = this.chain;
    const built = chain.build({ time: chain.head.header.time + 1000, proposer: opts.proposer ?? this.proposer(), candidates: txs, evidence: opts.evidence, attestations: opts.attestations });
    const off = new Set((opts.offline ?? []).map(addrKey));
    const h = built.block.header.height;
    const msg = voteSigningMessage(chain.ctx.chainId, VoteType.Precommit, h, 0, built.hash);
    const commit: CommitT = {
      height: h,
      round: 0,
      blockHash: built.hash,
      signatures: chain.world.validators
        .filter((v) => !off.has(addrKey(v.address)))
        .map((v) => {
          const key = this.keys.get(addrKey(v.address));
          if (!key) throw new Error(`no key for validator ${addrKey(v.address)}`);
          return { validator: v.address, signature: key.sign(msg) };
        }),
    };
    await chain.commit(built.block, built.hash, built.result, commit);
    return built.result;
  }

  /** Commits blocks until `height`, with the same options for each. */
  async until(height: number, opts: Parameters<ChainDriver["next"]>[1] = {}): Promise<void> {
    while (this.height < height) await this.next([], opts);
  }

  /**
   * Signs `body` from `key` with its next nonce: the committed one, or one
   * past the last this driver signed for the same (uncommitted) block.
   */
  sign(key: AccountKey, body: TxSpec["body"], opts: { gasLimit?: number } = {}): TxEnvelope {
    const k = addrKey(key.address);
    const last = this.lastSigned.get(k);
    const committed = this.chain.world.getAccount(key.address)?.nonce ?? 0n;
    const nonce = last && last.height === this.height && last.nonce >= committed ? last.nonce + 1n : committed;
    this.lastSigned.set(k, { height: this.height, nonce });
    return signedTx(key, { nonce, body, ...opts }).env;
  }

  async close(): Promise<void> {
    await this.chain.close();
    await this.db.close();
  }
}

/** `open()` for a test file: a fresh driver on `genesisJson` signed by `keys`, closed after each test. */
export function useChainDrivers(genesisJson: string, keys: AccountKey[]): () => Promise<ChainDriver> {
  let open: ChainDriver[] = [];
  afterEach(async () => {
    for (const d of open) await d.close();
    open = [];
  });
  return async () => {
    const d = await ChainDriver.open(genesisJson, keys);
    open.push(d);
    return d;
  };
}
