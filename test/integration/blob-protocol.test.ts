/**
 * The libp2p `blob` protocol between real nodes on 127.0.0.1: a node fetches
 * a blob another serves (a checkpoint by SHA-256, a manifest by its Merkle
 * root), gets nothing for an unknown id, and a peer that serves bytes not
 * matching the id is refused and penalised (here banned on the first offence).
 */
import { multiaddr } from "@multiformats/multiaddr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../../node/crypto/hash.ts";
import { fetchBlob } from "../../node/network/blobs.ts";
import { protocolId, serve } from "../../node/network/reqresp.ts";
import { PouwNode } from "../../node/node.ts";
import { merkleRoot } from "../../node/pouw/merkle.ts";
import { blobMatches, encodeManifest } from "../../node/pouw/proof.ts";
import { toHex } from "../../node/util/hex.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";

const net = makeTestNet({ label: "blob-protocol" });

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("blob req/resp over libp2p", () => {
  let a: PouwNode;
  let b: PouwNode;

  beforeAll(async () => {
    a = await PouwNode.create({ dataDir: null, genesisJson: net.genesisJson, validatorKey: net.validator, rpc: null, network: { listen: ["/ip4/127.0.0.1/tcp/0"] } });
    await a.start();
    b = await PouwNode.create({
      dataDir: null,
      genesisJson: net.genesisJson,
      validatorKey: null,
      rpc: null,
      network: { listen: ["/ip4/127.0.0.1/tcp/0"], bootstrap: [a.network!.addresses[0]!], maxInvalid: 1 },
    });
    await b.start();
    await until(() => b.network!.peerCount >= 1, 10_000, "b to connect to a");
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it("fetches a checkpoint by hash and a manifest by Merkle root from a peer; nothing for an unknown id", async () => {
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const id = await a.blobs.put(blob);
    const got = await fetchBlob(b.network!, net.chainId, id, blobMatches);
    expect(got && Buffer.from(got).equals(Buffer.from(blob))).toBe(true);
    const hashes = [sha256(Uint8Array.of(1)), sha256(Uint8Array.of(2)), sha256(Uint8Array.of(3))];
    const root = merkleRoot(hashes);
    await a.blobs.put(encodeManifest(hashes), root);
    const manifest = await fetchBlob(b.network!, net.chainId, root, blobMatches);
    expect(manifest && toHex(manifest)).toBe(toHex(encodeManifest(hashes)));
    expect(await fetchBlob(b.network!, net.chainId, sha256(Uint8Array.of(9)), blobMatches)).toBeUndefined();
  });

  it("refuses bytes that do not match the id and bans the peer that served them", async () => {
    const liar = await createGossipPeer();
    try {
      await serve(liar, protocolId(net.chainId, "blob"), { maxResponseBytes: 1 << 20, timeoutMs: 5000 }, async () => [new Uint8Array(64).fill(1)]);
      await b.network!.libp2p.dial(multiaddr(liar.getMultiaddrs()[0]!.toString()));
      await a.network!.libp2p.hangUp(b.network!.libp2p.peerId).catch(() => undefined); // only the liar is left to ask
      await until(() => b.network!.libp2p.getPeers().length === 1, 10_000, "b connected to the liar only");
      expect(await fetchBlob(b.network!, net.chainId, sha256(Uint8Array.of(4)), blobMatches)).toBeUndefined();
      expect(b.network!.isBanned(liar.peerId.toString())).toBe(true);
    } finally {
      await liar.stop();
    }
  });
});
