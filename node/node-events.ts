/**
 * What happens to this node's validator, said once in the log when it
 * happens: elected into the active set or out of it, unjailed (INFO); jailed
 * for downtime with its missed blocks, slashed, tombstoned (WARN). After each
 * commit our own validator's record is compared with the one before: a few
 * fields of one record, nothing scanned.
 */
import type { Blockchain, CommittedBlock } from "./chain/blockchain.ts";
import { encodeAddress } from "./crypto/address.ts";
import { addrKey } from "./state/world.ts";
import type { Logger } from "./util/logger.ts";

interface Snapshot {
  height: number;
  registered: boolean;
  /** In the active set of the next height, with this power. */
  power: bigint | null;
  jailed: boolean;
  jailedUntil: number;
  tombstoned: boolean;
  tokens: bigint;
  shares: bigint;
  missedCount: number;
  indexOffset: number;
  missed: Uint8Array;
}

export class ValidatorWatch {
  private readonly chain: Blockchain;
  private readonly key: string;
  private readonly validator: string;
  private readonly logger: Logger;
  private last: Snapshot;

  constructor(chain: Blockchain, address: Uint8Array, logger: Logger) {
    this.chain = chain;
    this.key = addrKey(address);
    this.validator = encodeAddress(address);
    this.logger = logger;
    this.last = this.snapshot();
  }

  private snapshot(): Snapshot {
    const w = this.chain.world;
    const vi = w.validatorIndex.get(this.key);
    const v = vi === undefined ? undefined : w.staking[vi];
    const info = vi === undefined ? undefined : w.signingInfos[vi];
    const member = w.validators.find((x) => addrKey(x.address) === this.key);
    return {
      height: this.chain.head.header.height,
      registered: v !== undefined,
      power: member ? member.power : null,
      jailed: v?.jailed ?? false,
      jailedUntil: v?.jailedUntil ?? 0,
      tombstoned: v?.tombstoned ?? false,
      tokens: v?.tokens ?? 0n,
      shares: v?.delegatorShares ?? 0n,
      missedCount: info?.missedCount ?? 0,
      indexOffset: info?.indexOffset ?? 0,
      missed: new Uint8Array(info?.missed ?? []),
    };
  }

  /** Compares our validator's record after `c` with the one before and logs what changed. */
  onCommit(c: CommittedBlock): void {
    const before = this.last;
    const now = this.snapshot();
    this.last = now;
    if (!before.registered || !now.registered) return;
    const height = c.block.header.height;
    const base = { validator: this.validator, height };
    const slashed = slashedTokens(before, now);
    if (now.tombstoned && !before.tombstoned) {
      this.logger.warn({ ...base, slashed: slashed.toString(), tokens: now.tokens.toString() }, "Our validator was tombstoned for double signing: slashed and jailed for good");
    } else if (now.jailed && !before.jailed) {
      const missed = this.missedAtJail(before, c);
      const window = this.chain.params.signedBlocksWindow;
      this.logger.warn(
        { ...base, ...(missed !== null ? { missedBlocks: missed } : {}), window, slashed: slashed.toString(), jailedUntil: now.jailedUntil },
        missed !== null ? `Our validator was jailed for missing ${missed} of the last ${window} blocks` : "Our validator was jailed for missing blocks",
      );
    } else if (slashed > 0n) {
      this.logger.warn({ ...base, slashed: slashed.toString(), tokens: now.tokens.toString() }, "Our validator was slashed");
    }
    if (before.jailed && !now.jailed) this.logger.info(base, "Our validator was unjailed");
    if (now.power !== null && before.power === null) this.logger.info({ ...base, power: now.power.toString() }, "Our validator was elected into the active set");
    if (now.power === null && before.power !== null) this.logger.info(base, "Our validator left the active set");
  }

  /**
   * The misses that jailed it: the liveness ring of the record before this
   * block, moved on by this block's lastCommit as the chain does. Null when
   * the record before is not the previous height's (a batch of synced blocks).
   */
  private missedAtJail(before: Snapshot, c: CommittedBlock): number | null {
    if (before.height !== c.block.header.height - 1) return null;
    const window = this.chain.params.signedBlocksWindow;
    const signed = c.block.body.lastCommit.signatures.some((s) => addrKey(s.validator) === this.key);
    const pos = before.indexOffset % window;
    const wasMissed = ((before.missed[pos >> 3] ?? 0) & (1 << (pos & 7))) !== 0;
    if (!signed && !wasMissed) return before.missedCount + 1;
    if (signed && wasMissed) return before.missedCount - 1;
    return before.missedCount;
  }
}

/**
 * Tokens the validator lost to slashing between two records. Slashing lowers
 * tokens and leaves shares; delegating and undelegating move both at the
 * exchange rate (rounded in the validator's favour), so the tokens missing at
 * the old rate are the slash.
 */
function slashedTokens(before: Snapshot, now: Snapshot): bigint {
  if (before.shares === 0n) return 0n;
  const expected = now.shares === before.shares ? before.tokens : (before.tokens * now.shares) / before.shares;
  return expected > now.tokens ? expected - now.tokens : 0n;
}
