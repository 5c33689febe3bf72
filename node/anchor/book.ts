/**
 * The node's checkpoint book (DESIGN §9): builds each finished epoch's
 * checkpoint from the state's record and the epoch's last block, signs it
 * with the validator's anchor key when the validator is in the epoch's set,
 * and gathers the other members' signatures from gossip. Signatures are
 * stored (`AnchorSignatureStore`), so a restart loses nothing; a member's
 * own signatures for recent epochs are re-gossiped until peers have them.
 */
import { bytesToHex, hexToBytes, type Hex } from "viem";
import type { Blockchain } from "../chain/blockchain.ts";
import { blockHash } from "../chain/block.ts";
import { chainIdWord } from "../chain/settlement.ts";
import type { AnchorKey } from "../crypto/anchor-key.ts";
import type { AnchorSignatureStore } from "../db/anchor-signatures.ts";
import type { Verdict } from "../network/network.ts";
import { AnchorSignatureMessage, checkpointDigest, sortMembers, type AnchorMember, type Checkpoint } from "../types/settlement.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { hasQuorum, recoverSigner, signDigest, type SignedCheckpoint } from "./checkpoint.ts";

/** Epochs behind the head a member still signs when it catches up (older ones are anchored or need no more). */
const SIGN_BEHIND = 8;
/** Own signatures of the latest epochs re-gossiped each `rebroadcastMs`. */
const REBROADCAST_EPOCHS = 2;

interface EpochBase {
  checkpoint: Checkpoint;
  digest: Hex;
  members: AnchorMember[];
  /** Lower-case member addresses (no 0x) → position. */
  position: Map<string, number>;
}

export interface CheckpointBookDeps {
  chain: Blockchain;
  store: AnchorSignatureStore;
  /** The validator's anchor key; null on a node that only collects. */
  key: AnchorKey | null;
  /** Gossips a signature; null without networking. */
  publish: ((bytes: Uint8Array) => void) | null;
  logger: Logger;
  metrics?: Metrics | null;
  rebroadcastMs?: number;
  /**
   * Asks peers for an epoch's signatures (the `anchor_signatures` req/resp),
   * handing each message to `accept`, until `enough`; absent without networking.
   */
  fetchRemote?: (epoch: number, accept: (message: Uint8Array) => Promise<"valid" | "invalid">, enough: () => Promise<boolean>) => Promise<void>;
}

const lower = (a: string): string => a.slice(2).toLowerCase();

export class CheckpointBook {
  private readonly deps: CheckpointBookDeps;
  private readonly bases = new Map<number, EpochBase>();
  private timer: NodeJS.Timeout | null = null;
  /** Signing in flight, so a commit and a catch-up do not sign one epoch twice. */
  private signing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(c: SignedCheckpoint) => void>();
  private readonly quorate = new Set<number>();
  private seenEpoch = 0;
  private stopped = false;
  /** When each epoch's signatures were last asked of peers (ms, wall clock: networking, not consensus). */
  private readonly fetchedAt = new Map<number, number>();

  constructor(deps: CheckpointBookDeps) {
    this.deps = deps;
  }

  /** The last finished epoch (0 before the first). */
  get lastEpoch(): number {
    return this.deps.chain.world.lastEpoch;
  }

  /** Signs what the key still owes and starts re-gossiping own signatures. */
  async start(): Promise<void> {
    await this.catchUp();
    if (this.deps.publish && this.deps.key) {
      this.timer = setInterval(() => void this.rebroadcast().catch((e: unknown) => this.deps.logger.debug({ err: e }, "Re-gossiping anchor signatures failed")), this.deps.rebroadcastMs ?? 5_000);
      this.timer.unref();
    }
  }

  /** Stops re-gossiping and waits for signing in flight (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.signing;
  }

  /** Calls `fn` once for each epoch whose checkpoint reaches more than 2/3 of its set's power here. */
  onQuorum(fn: (c: SignedCheckpoint) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** After a commit (or a batch of them): sign the epochs that finished. Resolves when that round is done. */
  onCommit(): Promise<void> {
    if (this.lastEpoch === this.seenEpoch) return this.signing;
    this.seenEpoch = this.lastEpoch;
    this.deps.metrics?.checkpointEpoch.set(this.lastEpoch);
    return this.catchUp();
  }

  /** Queued behind any signing in flight; a failure is logged and retried by the next round (it still owes that epoch). */
  private catchUp(): Promise<void> {
    this.signing = this.signing.then(async () => {
      const last = this.lastEpoch;
      for (let e = Math.max(1, last - SIGN_BEHIND + 1); e <= last && !this.stopped; e++) {
        await this.signOwn(e).catch((err: unknown) => this.deps.logger.error({ err, epoch: e }, "Signing a checkpoint failed"));
      }
    });
    return this.signing;
  }

  private async signOwn(epoch: number): Promise<void> {
    const { key, store } = this.deps;
    if (!key) return;
    const base = await this.base(epoch);
    if (!base || !base.position.has(lower(key.address))) return;
    if (await store.has(epoch, key.addressBytes)) return;
    const signature = await signDigest(base.digest, key.privateKey);
    await store.put(epoch, key.addressBytes, hexToBytes(signature));
    this.deps.logger.info({ epoch, height: Number(base.checkpoint.height), digest: base.digest.slice(0, 18) }, "Signed checkpoint");
    this.deps.publish?.(AnchorSignatureMessage.serialize({ epoch, signature: hexToBytes(signature) }));
    await this.checkQuorum(epoch);
  }

  private async rebroadcast(): Promise<void> {
    const { key, store, publish } = this.deps;
    if (!key || !publish) return;
    const last = this.lastEpoch;
    for (let e = Math.max(1, last - REBROADCAST_EPOCHS + 1); e <= last; e++) {
      const mine = (await store.list(e)).get(lower(key.address));
      if (mine) publish(AnchorSignatureMessage.serialize({ epoch: e, signature: mine }));
    }
  }

  /** The checkpoint of `epoch` without signatures, or null when the epoch has not finished. */
  async base(epoch: number): Promise<EpochBase | null> {
    if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > this.lastEpoch) return null;
    const cached = this.bases.get(epoch);
    if (cached) return cached;
    const { chain } = this.deps;
    // An epoch older than the live state's checkpoints (decision 0010) is long anchored or beyond the node's history.
    const rec = chain.world.checkpointOf(epoch);
    if (!rec) return null;
    const block = await chain.store.getBlock(rec.height);
    if (!block) return null; // pruned or not stored: cannot be rebuilt here
    const checkpoint: Checkpoint = {
      chainId: chainIdWord(chain.ctx.chainId),
      epoch: BigInt(rec.epoch),
      height: BigInt(rec.height),
      blockHash: bytesToHex(blockHash(block.header)),
      stateRoot: bytesToHex(block.header.stateRoot),
      withdrawalsRoot: bytesToHex(rec.withdrawalsRoot),
      validatorSetHash: bytesToHex(rec.validatorSetHash),
      nextValidatorSetHash: bytesToHex(rec.nextValidatorSetHash),
    };
    const members = sortMembers(rec.members.map((m) => ({ address: bytesToHex(m.address), power: m.power })));
    const base: EpochBase = { checkpoint, digest: checkpointDigest(checkpoint), members, position: new Map(members.map((m, i) => [lower(m.address), i])) };
    if (this.bases.size > 64) this.bases.delete(this.bases.keys().next().value as number);
    this.bases.set(epoch, base);
    return base;
  }

  /** The checkpoint of `epoch` with the signatures gathered so far, or null when it has not finished. */
  async get(epoch: number): Promise<SignedCheckpoint | null> {
    const base = await this.base(epoch);
    if (!base) return null;
    const sigs = await this.deps.store.list(epoch);
    const rec = this.deps.chain.world.checkpointOf(epoch + 1) ?? null;
    const nextMembers = rec
      ? sortMembers(rec.members.map((m) => ({ address: bytesToHex(m.address), power: m.power })))
      : sortMembers(this.deps.chain.world.validators.map((v) => ({ address: bytesToHex(v.anchorAddress), power: v.power })));
    return {
      checkpoint: base.checkpoint,
      members: base.members,
      nextMembers,
      signatures: base.members.map((m) => {
        const s = sigs.get(lower(m.address));
        return s ? bytesToHex(s) : null;
      }),
    };
  }

  /**
   * A gossiped signature. Malformed ones, and those that do not recover to a
   * member of the epoch's set, count against the peer; epochs this node has
   * not finished yet, and signatures it has, are ignored (not relayed).
   */
  async onGossip(data: Uint8Array): Promise<Verdict> {
    const r = await this.accept(data);
    return r === "invalid" ? "reject" : r === "new" ? "accept" : "ignore";
  }

  /** Checks a signature message and stores it when new. */
  private async accept(data: Uint8Array): Promise<"invalid" | "new" | "known" | "unknown epoch"> {
    let msg: { epoch: number; signature: Uint8Array };
    try {
      msg = AnchorSignatureMessage.deserialize(data);
    } catch {
      return "invalid";
    }
    const base = await this.base(msg.epoch);
    if (!base) return "unknown epoch";
    const signer = await recoverSigner(base.digest, bytesToHex(msg.signature));
    if (!signer || !base.position.has(lower(signer))) return "invalid";
    const signerBytes = hexToBytes(signer);
    if (await this.deps.store.has(msg.epoch, signerBytes)) return "known";
    await this.deps.store.put(msg.epoch, signerBytes, new Uint8Array(msg.signature));
    await this.checkQuorum(msg.epoch);
    return "new";
  }

  /** The stored signatures of an epoch as messages (what `anchor_signatures` serves). */
  async messages(epoch: number): Promise<Uint8Array[]> {
    if (!Number.isSafeInteger(epoch) || epoch < 1 || epoch > this.lastEpoch) return [];
    return [...(await this.deps.store.list(epoch)).values()].map((signature) => AnchorSignatureMessage.serialize({ epoch, signature }));
  }

  /**
   * Asks peers for the signatures of `epoch` when it has no quorum here (a
   * relayer that was away when they were gossiped). At most once per epoch
   * every `refetchMs`. Resolves to whether the epoch has a quorum here now.
   */
  async fill(epoch: number, refetchMs = 5_000, now = Date.now()): Promise<boolean> {
    const { fetchRemote } = this.deps;
    if (!fetchRemote || epoch < 1 || epoch > this.lastEpoch) return false;
    const enough = async () => {
      const c = await this.get(epoch);
      return c !== null && hasQuorum(c);
    };
    if (await enough()) return true;
    if ((this.fetchedAt.get(epoch) ?? -Infinity) + refetchMs > now) return false;
    this.fetchedAt.set(epoch, now);
    if (this.fetchedAt.size > 64) this.fetchedAt.delete(this.fetchedAt.keys().next().value as number);
    await fetchRemote(epoch, async (m) => ((await this.accept(m)) === "invalid" ? "invalid" : "valid"), enough);
    return enough();
  }

  private async checkQuorum(epoch: number): Promise<void> {
    if (this.quorate.has(epoch)) return;
    const c = await this.get(epoch);
    if (!c || !hasQuorum(c)) return;
    this.quorate.add(epoch);
    if (this.quorate.size > 64) this.quorate.delete(this.quorate.values().next().value as number);
    this.deps.metrics?.checkpointQuorumEpoch.set(Math.max(epoch, ...this.quorate));
    for (const fn of this.listeners) fn(c);
  }
}
