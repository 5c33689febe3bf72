/**
 * A follower that was not there when checkpoints were signed (real libp2p
 * sockets on 127.0.0.1): it syncs the blocks, then fetches the anchor
 * signatures of old epochs with the `anchor_signatures` req/resp, which
 * gossip no longer repeats, and checks them before keeping them.
 */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasQuorum, recoverSigner } from "../../node/anchor/checkpoint.ts";
import { AnchorKey } from "../../node/crypto/anchor-key.ts";
import { PouwNode } from "../../node/node.ts";
import { checkpointDigest } from "../../node/types/settlement.ts";
import { freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";

const net = makeTestNet({ validators: 1, accounts: 1, label: "anchor-fetch", params: { epochLength: 3 } });

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("anchor signatures for epochs a node missed", { timeout: 90_000 }, () => {
  let validator: PouwNode;
  let follower: PouwNode;

  beforeAll(async () => {
    const key = await generateKeyPair("Ed25519");
    const port = await freePort();
    validator = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: net.validator,
      rpc: null,
      blockTimeMs: 100,
      verifierThreads: 0,
      network: { listen: [`/ip4/127.0.0.1/tcp/${port}`], peerKey: key.raw },
    });
    await validator.start();
    await until(() => validator.checkpoints.lastEpoch >= 5, 60_000, "five epochs on the validator");
    follower = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      verifierThreads: 0,
      network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${peerIdFromPrivateKey(key).toString()}`] },
    });
    await follower.start();
  });
  afterAll(async () => {
    await follower?.close();
    await validator?.close();
  });

  it("syncs, fetches epoch 1's signatures from a peer, and verifies them", async () => {
    await until(() => follower.checkpoints.lastEpoch >= 5, 60_000, "the follower to sync five epochs");
    const before = (await follower.checkpoints.get(1))!;
    expect(before.signatures).toEqual([null]); // gossiped long before the follower existed
    expect(hasQuorum(before)).toBe(false);
    expect(await follower.checkpoints.fill(1)).toBe(true);
    const after = (await follower.checkpoints.get(1))!;
    expect(after).toEqual(await validator.checkpoints.get(1));
    expect(await recoverSigner(checkpointDigest(after.checkpoint), after.signatures[0]!)).toBe(AnchorKey.fromSeed(net.validator.seed).address);
    // A second ask within the refetch window does not go to the network; the answer still stands.
    expect(await follower.checkpoints.fill(1)).toBe(true);
    // The validator serves nothing for epochs that have not finished.
    expect(await validator.checkpoints.messages(10_000)).toEqual([]);
    expect(await validator.checkpoints.messages(0)).toEqual([]);
  });
});
