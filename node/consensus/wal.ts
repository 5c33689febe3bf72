/**
 * The consensus write-ahead record: the block this validator is about to vote
 * for, written with `sync` before the first vote. After a crash between
 * signing and committing, the node votes for the same block again (the
 * privval returns the same signatures) instead of building a different one it
 * would have to refuse to sign.
 */
import { ContainerType } from "@chainsafe/ssz";
import { Bucket, bucketKey, type Level } from "../db/database.ts";
import { Block, type BlockT } from "../types/block.ts";
import { Uint32 } from "../types/primitives.ts";

const WalProposal = new ContainerType({ round: Uint32, block: Block }, { typeName: "WalProposal" });
const KEY = bucketKey(Bucket.wal, new TextEncoder().encode("proposal"));

export class ConsensusWal {
  private readonly db: Level;

  constructor(db: Level) {
    this.db = db;
  }

  async saveProposal(round: number, block: BlockT): Promise<void> {
    await this.db.put(KEY, WalProposal.serialize({ round, block }), { sync: true } as never);
  }

  async loadProposal(): Promise<{ round: number; block: BlockT } | undefined> {
    const v = await this.db.get(KEY);
    return v ? WalProposal.deserialize(v) : undefined;
  }
}
