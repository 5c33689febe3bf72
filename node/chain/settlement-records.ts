/**
 * An epoch's checkpoint record and withdrawals, from the live state or, once
 * they left it (`settlementRetentionEpochs`, decision 0010), from the archive
 * buckets every node keeps on disk, outside the state root: what withdrawal
 * proofs of old epochs are built from.
 */
import { Bucket, getBytes, u32Key } from "../db/database.ts";
import { EpochCheckpoint, Withdrawal, type EpochCheckpointT, type WithdrawalT } from "../state/schemas.ts";
import type { Blockchain } from "./blockchain.ts";

/** Epoch `epoch`'s checkpoint record, or undefined when the epoch has not finished. */
export async function checkpointRecord(chain: Blockchain, epoch: number): Promise<EpochCheckpointT | undefined> {
  const w = chain.world;
  if (epoch < 1 || epoch > w.lastEpoch) return undefined;
  const live = w.checkpointOf(epoch);
  if (live) return live;
  const bytes = await getBytes(chain.store.db, Bucket.checkpointArchive, u32Key(epoch - 1));
  return bytes ? EpochCheckpoint.deserialize(bytes) : undefined;
}

/** The epoch's withdrawals in leaf order: a finished epoch's from its record, the open epoch's so far. */
export async function epochWithdrawals(chain: Blockchain, epoch: number): Promise<WithdrawalT[]> {
  const w = chain.world;
  const rec = await checkpointRecord(chain, epoch);
  if (!rec) return w.withdrawals.filter((x) => x.epoch === epoch);
  const out: WithdrawalT[] = [];
  for (let n = rec.firstWithdrawal; n < rec.firstWithdrawal + rec.withdrawalCount; n++) {
    const live = w.withdrawalAt(n);
    if (live) {
      out.push(live);
      continue;
    }
    const bytes = await getBytes(chain.store.db, Bucket.withdrawalArchive, u32Key(n));
    if (!bytes) throw new Error(`withdrawal ${n} of epoch ${epoch} is neither in the state nor in the archive`);
    out.push(Withdrawal.deserialize(bytes));
  }
  return out;
}
