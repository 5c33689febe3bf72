/**
 * The checkpoint book over a real chain (memory-level, blocks built and
 * committed): a member signs each finished epoch once, a failed signing
 * round is retried by the next one instead of stopping signing for good, a
 * non-member signs nothing, and the signatures survive in the database.
 */
import { describe, expect, it } from "vitest";
import { CheckpointBook } from "../../../node/anchor/book.ts";
import { hasQuorum, recoverSigner } from "../../../node/anchor/checkpoint.ts";
import { AnchorKey } from "../../../node/crypto/anchor-key.ts";
import { AnchorSignatureStore } from "../../../node/db/anchor-signatures.ts";
import { checkpointDigest } from "../../../node/types/settlement.ts";
import { silentLogger } from "../../../node/util/logger.ts";
import { useChainDrivers } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const net = makeTestNet({ validators: 1, accounts: 1, label: "book", params: { epochLength: 3 } });

/** A store whose next `failures` writes throw (a full disk, a closed database). */
class FlakyStore extends AnchorSignatureStore {
  failures = 0;
  override async put(epoch: number, signer: Uint8Array, signature: Uint8Array): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("disk full");
    }
    return super.put(epoch, signer, signature);
  }
}

const open = useChainDrivers(net.genesisJson, net.validators);

describe("CheckpointBook", () => {
  it("signs each finished epoch once, and a failed round is made good by the next", async () => {
    const d = await open();
    const store = new FlakyStore(d.db);
    const published: Uint8Array[] = [];
    const key = AnchorKey.fromSeed(net.validator.seed);
    const book = new CheckpointBook({ chain: d.chain, store, key, publish: (b) => published.push(b), logger: silentLogger() });
    const quorums: number[] = [];
    book.onQuorum((c) => quorums.push(Number(c.checkpoint.epoch)));
    await book.start();
    store.failures = 1;
    await d.until(3); // epoch 1 ends; its signing fails
    await book.onCommit();
    expect((await book.get(1))!.signatures).toEqual([null]);
    expect(published).toHaveLength(0);
    await d.until(6); // epoch 2 ends: the next round signs 1 and 2
    await book.onCommit();
    await book.stop();
    for (const e of [1, 2]) {
      const c = (await book.get(e))!;
      expect(await recoverSigner(checkpointDigest(c.checkpoint), c.signatures[0]!)).toBe(key.address);
      expect(hasQuorum(c)).toBe(true);
    }
    expect(published).toHaveLength(2);
    expect(quorums).toEqual([1, 2]);
    // Nothing is signed twice: another round finds both stored.
    const third = new CheckpointBook({ chain: d.chain, store, key, publish: (b) => published.push(b), logger: silentLogger() });
    await third.start();
    await third.stop();
    expect(published).toHaveLength(2);
  });

  it("a key outside the epoch's set signs nothing", async () => {
    const d = await open();
    const store = new AnchorSignatureStore(d.db);
    const published: Uint8Array[] = [];
    const book = new CheckpointBook({ chain: d.chain, store, key: AnchorKey.fromSeed(new Uint8Array(32).fill(9)), publish: (b) => published.push(b), logger: silentLogger() });
    await d.until(3);
    await book.start();
    await book.stop();
    expect(published).toHaveLength(0);
    expect((await book.get(1))!.signatures).toEqual([null]);
    expect(await book.get(2)).toBeNull();
  });
});
