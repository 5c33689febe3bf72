/**
 * A commit or a sync import the disk refuses: thrown as a StorageFault
 * ("chain database") and handed to the chain's onStorageFault listeners, the
 * head left where it was; a block the disk refused is not reported as an
 * invalid block.
 */
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BlockT, CommitT } from "../../../node/types/block.ts";
import { StorageFault } from "../../../node/util/storage-fault.ts";
import { useChainDrivers, type ChainDriver } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const net = makeTestNet({ accounts: 1, label: "chain-fault" });
const open = useChainDrivers(net.genesisJson, net.validators);

function enospc(): Error {
  try {
    writeFileSync("/dev/full", "x");
  } catch (e) {
    return e as Error;
  }
  throw new Error("/dev/full accepted a write");
}

/** Makes the database refuse every batch from now on, as a full disk does. */
function fillDisk(d: ChainDriver): void {
  d.db.batch = (() => Promise.reject(enospc())) as never;
}

describe("chain writes on a full disk", () => {
  it("commit: throws a StorageFault, tells the listeners once, keeps the head", async () => {
    const d = await open();
    await d.next();
    const faults: StorageFault[] = [];
    d.chain.onStorageFault((f) => faults.push(f));
    const head = d.chain.head;
    fillDisk(d);
    const err = await d.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFault);
    expect([(err as StorageFault).what, (err as StorageFault).errno]).toEqual(["chain database", "ENOSPC"]);
    expect(faults).toEqual([err]);
    expect(d.chain.head).toBe(head);
  });

  it("import: a batch the disk refuses is a StorageFault, not an invalid block", async () => {
    const source = await open();
    for (let i = 0; i < 3; i++) await source.next();
    const items: { block: BlockT; commit: CommitT }[] = [];
    for (let h = 1; h <= 3; h++) items.push({ block: (await source.chain.store.getBlock(h))!, commit: (await source.chain.store.getCommit(h))! });

    const d = await open();
    const faults: StorageFault[] = [];
    d.chain.onStorageFault((f) => faults.push(f));
    fillDisk(d);
    const err = await d.chain.importBatch(items, { now: Date.now() + 60_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageFault);
    expect(faults).toEqual([err]);
  });
});
