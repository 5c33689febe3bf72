/**
 * The private validator: the only code that signs consensus messages. Before
 * a signature leaves it, the (height, round, step, blockHash, signature) it
 * signed is written to the database with `sync` (fsync). It refuses to sign
 * anything at an earlier (height, round, step) or a different block at the
 * same one, across restarts. Asked again for exactly what it signed, it
 * returns the stored signature.
 */
import { ContainerType } from "@chainsafe/ssz";
import { Bucket, bucketKey, putBytes, type Level } from "../db/database.ts";
import type { AccountKey } from "../crypto/keys.ts";
import { proposalSigningMessage, voteSigningMessage } from "../chain/commit.ts";
import { VoteType } from "../types/block.ts";
import { Bytes32, Signature, Uint32, Uint8, UintNum64 } from "../types/primitives.ts";
import { bytesEqual, toHex } from "../util/hex.ts";
import type { Metrics } from "../util/metrics.ts";
import { ConsensusError, ConsensusErrorCode } from "./errors.ts";

export const SignStep = { Propose: 1, Prevote: 2, Precommit: 3 } as const;
export type SignStep = (typeof SignStep)[keyof typeof SignStep];

const LastSignState = new ContainerType(
  { height: UintNum64, round: Uint32, step: Uint8, blockHash: Bytes32, signature: Signature },
  { typeName: "LastSignState" },
);
type LastSign = { height: number; round: number; step: number; blockHash: Uint8Array; signature: Uint8Array };

const STATE_KEY = bucketKey(Bucket.privval, new TextEncoder().encode("last-sign"));

const stepOfVote = (type: number): SignStep => {
  if (type === VoteType.Prevote) return SignStep.Prevote;
  if (type === VoteType.Precommit) return SignStep.Precommit;
  if (type === VoteType.Proposal) return SignStep.Propose;
  throw new TypeError(`unknown vote type ${type}`);
};

export class PrivValidator {
  readonly key: AccountKey;
  private readonly db: Level;
  private readonly chainId: Uint8Array;
  private readonly metrics: Metrics | null;
  private last: LastSign | null;
  /** Serialises signing so two concurrent requests cannot both pass the check. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(db: Level, key: AccountKey, chainId: Uint8Array, last: LastSign | null, metrics: Metrics | null) {
    this.db = db;
    this.key = key;
    this.chainId = chainId;
    this.last = last;
    this.metrics = metrics;
  }

  static async open(db: Level, key: AccountKey, chainId: Uint8Array, metrics: Metrics | null = null): Promise<PrivValidator> {
    const v = await db.get(STATE_KEY);
    return new PrivValidator(db, key, chainId, v ? LastSignState.deserialize(v) : null, metrics);
  }

  get lastSigned(): Readonly<LastSign> | null {
    return this.last;
  }

  /** Signs a vote for `blockHash` (zero = nil) unless that could equivocate. */
  signVote(type: number, height: number, round: number, blockHash: Uint8Array): Promise<Uint8Array> {
    const run = this.queue.then(() => this.signNow(type, height, round, blockHash, () => voteSigningMessage(this.chainId, type, height, round, blockHash)));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Signs a proposal (step Propose of the same height/round/step order). */
  signProposal(height: number, round: number, polRound: number, blockHash: Uint8Array): Promise<Uint8Array> {
    const run = this.queue.then(() =>
      this.signNow(VoteType.Proposal, height, round, blockHash, () => proposalSigningMessage(this.chainId, height, round, polRound, blockHash)),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async signNow(type: number, height: number, round: number, blockHash: Uint8Array, message: () => Uint8Array): Promise<Uint8Array> {
    const step = stepOfVote(type);
    const last = this.last;
    if (last) {
      const cmp = compareHRS(height, round, step, last.height, last.round, last.step);
      if (cmp < 0) {
        throw new ConsensusError(ConsensusErrorCode.SIGN_REGRESSION, `refusing to sign (${height}/${round}/${step}): already signed (${last.height}/${last.round}/${last.step})`);
      }
      if (cmp === 0) {
        if (bytesEqual(last.blockHash, blockHash)) return last.signature;
        throw new ConsensusError(
          ConsensusErrorCode.DOUBLE_SIGN_REFUSED,
          `refusing to sign ${toHex(blockHash)} at (${height}/${round}/${step}): already signed ${toHex(last.blockHash)}`,
        );
      }
    }
    const signature = this.key.sign(message());
    const next: LastSign = { height, round, step, blockHash: new Uint8Array(blockHash), signature };
    // A disk that refuses this write throws a StorageFault ("privval state"): nothing is signed without it.
    await putBytes(this.db, STATE_KEY, LastSignState.serialize(next), "privval state", { sync: true });
    this.last = next;
    this.metrics?.privvalLastSignedHeight.set(height);
    return signature;
  }
}

function compareHRS(h1: number, r1: number, s1: number, h2: number, r2: number, s2: number): number {
  if (h1 !== h2) return h1 < h2 ? -1 : 1;
  if (r1 !== r2) return r1 < r2 ? -1 : 1;
  if (s1 !== s2) return s1 < s2 ? -1 : 1;
  return 0;
}
