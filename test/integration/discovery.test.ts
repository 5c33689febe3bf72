/**
 * Peer discovery (issue 14, decision 0009), in one process over real libp2p
 * sockets on 127.0.0.1 and real LevelDB homes: ten nodes (4 validators, 6
 * full nodes) each given only node 0 (a full node) as bootstrap find each
 * other; with node 0 killed the rest stay connected and keep committing; a
 * node restarted on a new port without bootstrap peers rejoins from its
 * address book; a node above its target drops the worst-scored
 * non-validator, never a validator; an announcement is relayed only if it
 * announces its own signer.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, publicKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { afterAll, describe, expect, it } from "vitest";
import type { AccountKey } from "../../node/crypto/keys.ts";
import type { NetworkOptions } from "../../node/network/options.ts";
import { discoveryTopic } from "../../node/network/network.ts";
import { PouwNode } from "../../node/node.ts";
import { freePort } from "../helpers/child.ts";
import { makeTestNet } from "../helpers/genesis.ts";
import { createGossipPeer } from "../helpers/gossip-peer.ts";
import { multiaddr } from "@multiformats/multiaddr";

const TIMEOUTS = { proposeMs: 1500, proposeDeltaMs: 500, prevoteMs: 500, prevoteDeltaMs: 250, precommitMs: 500, precommitDeltaMs: 250 };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Spec {
  key: PrivateKey;
  port: number;
  home: string;
  validator: AccountKey | null;
}

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

const addrOf = (s: Spec) => `/ip4/127.0.0.1/tcp/${s.port}/p2p/${peerIdFromPrivateKey(s.key).toString()}`;

async function specs(n: number, validators: AccountKey[], label: string): Promise<Spec[]> {
  const out: Spec[] = [];
  for (let i = 0; i < n; i++) out.push({ key: await generateKeyPair("Ed25519"), port: await freePort(), home: mkdtempSync(join(tmpdir(), `pouw-${label}-${i}-`)), validator: validators[i] ?? null });
  homes.push(...out.map((s) => s.home));
  return out;
}

function startNode(genesisJson: string, s: Spec, network: Partial<NetworkOptions>): Promise<PouwNode> {
  return PouwNode.create({
    dataDir: s.home,
    genesisJson,
    validatorKey: s.validator,
    rpc: null,
    blockTimeMs: 500,
    timeouts: TIMEOUTS,
    verifierThreads: 0,
    network: { listen: [`/ip4/127.0.0.1/tcp/${s.port}`], peerKey: s.key.raw, ...network },
  }).then(async (n) => {
    await n.start();
    return n;
  });
}

describe("ten nodes given only node 0 find each other", { timeout: 180_000 }, () => {
  const net = makeTestNet({ validators: 4, accounts: 1, label: "discovery" });
  const nodes: (PouwNode | null)[] = [];
  let all: Spec[] = [];
  afterAll(async () => {
    for (const n of nodes) await n?.close();
  });
  const peers = (i: number) => nodes[i]!.network!.peerCount;
  const height = (i: number) => nodes[i]!.chain.head.header.height;

  it("within 30 s every node has at least min(8, 9) peers and knows which are validators", async () => {
    // Node 0: the seed, a full node. Nodes 1-4: the validators. Nodes 5-9: full nodes.
    all = await specs(10, [], "disc");
    all.forEach((s, i) => (s.validator = i >= 1 && i <= 4 ? net.validators[i - 1]! : null));
    const seed = addrOf(all[0]!);
    const started = Date.now();
    nodes.push(...(await Promise.all(all.map((s, i) => startNode(net.genesisJson, s, { bootstrap: i === 0 ? [] : [seed] })))));
    await until(() => nodes.every((_, i) => peers(i) >= 8), 30_000 - (Date.now() - started), "every node to have ≥ 8 peers");
    // Proven validator identities: every node sees the four validators (a validator the other three).
    await until(() => nodes.every((n, i) => n!.network!.validatorPeers().length === (i >= 1 && i <= 4 ? 3 : 4)), 10_000, "validator identities");
  });

  it("with node 0 killed the rest stay connected and keep committing", async () => {
    await until(() => nodes.every((_, i) => height(i) >= 2), 30_000, "the first blocks everywhere");
    const seedId = nodes[0]!.network!.peerId;
    await nodes[0]!.close();
    nodes[0] = null;
    const rest = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    await until(() => rest.every((i) => !nodes[i]!.network!.libp2p.getPeers().some((p) => p.toString() === seedId)), 10_000, "node 0's connections to close");
    const h0 = Math.max(...rest.map(height));
    await until(() => rest.every((i) => height(i) >= h0 + 3), 45_000, "three more blocks on every remaining node");
    // Still connected among themselves: each lost at most node 0.
    for (const i of rest) expect(peers(i), `node ${i}`).toBeGreaterThanOrEqual(7);
    for (const i of rest) expect(nodes[i]!.network!.keeper.trims, `node ${i} trims (target 16)`).toBe(0);
  });

  it("a node restarted on a new port without bootstrap peers rejoins from its address book", async () => {
    const i = 9;
    await nodes[i]!.close();
    nodes[i] = null;
    // On a new port, so the others cannot dial it at its old address: it has to dial them, from its book.
    all[i]!.port = await freePort();
    const book = JSON.parse(readFileSync(join(all[i]!.home, "peers.json"), "utf8")) as { version: number; peers: { id: string; validator: boolean }[] };
    expect(book.version).toBe(1);
    expect(book.peers.length).toBeGreaterThanOrEqual(8);
    expect(book.peers.filter((p) => p.validator).length).toBe(4);
    expect(book.peers.slice(0, 4).every((p) => p.validator)).toBe(true); // validators first
    nodes[i] = await startNode(net.genesisJson, all[i]!, { bootstrap: [] });
    await until(() => peers(i) >= 8, 30_000, "the restarted node to reconnect from peers.json");
    const h = Math.max(...[1, 2, 3, 4].map(height));
    await until(() => height(i) >= h + 1, 30_000, "the restarted node to follow the chain");
  });
});

describe("a node above its target", { timeout: 120_000 }, () => {
  const net = makeTestNet({ validators: 1, accounts: 1, label: "discovery-trim" });
  const nodes: PouwNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("drops the worst-scored non-validator peer, never a validator", async () => {
    // Node 0 keeps 2 peers; node 1 is the validator; node 2 has sent node 0 invalid data; node 3 has not.
    const all = await specs(4, [], "trim");
    all[1]!.validator = net.validators[0]!;
    const hub = addrOf(all[0]!);
    nodes.push(await startNode(net.genesisJson, all[0]!, { bootstrap: [], targetPeers: 2, trimGraceMs: 3_000, maxInvalid: 1_000 }));
    const hubNet = nodes[0]!.network!;
    const [validator, bad, good] = [1, 2, 3].map((i) => peerIdFromPrivateKey(all[i]!.key).toString()) as [string, string, string];
    // Before they connect, so no trim round can come first. The validator has the worst score of all
    // (150 invalid messages outweigh its +100 bonus): it is kept only because it is a validator.
    hubNet.penalise(bad, "test: one invalid message");
    for (let i = 0; i < 150; i++) hubNet.penalise(validator, "test: invalid messages");
    const disconnected: string[] = [];
    hubNet.libp2p.addEventListener("peer:disconnect", (e) => disconnected.push(e.detail.toString()));
    // The others only dial the hub (target 1: they do not dial each other, so node 0's view is the test).
    for (const s of all.slice(1)) nodes.push(await startNode(net.genesisJson, s, { bootstrap: [hub], targetPeers: 1, announceMs: 60_000 }));
    await until(() => hubNet.peerCount === 3, 20_000, "three peers on node 0");
    await until(() => hubNet.isValidatorPeer(validator), 10_000, "node 1's validator identity");
    expect(hubNet.score(validator)).toBeLessThan(hubNet.score(bad));
    expect(hubNet.score(bad)).toBeLessThan(hubNet.score(good));
    await until(() => hubNet.keeper.trims >= 1, 20_000, "a trim");
    expect(hubNet.keeper.trimmed[0]).toBe(bad);
    expect(disconnected).not.toContain(validator);
    expect(hubNet.libp2p.getPeers().map((p) => p.toString())).toContain(validator);
    expect(hubNet.libp2p.getPeers().map((p) => p.toString())).toContain(good);
    // The trimmed peer dials again (the hub is its bootstrap peer): a few rounds later every trim was still of it.
    await new Promise((r) => setTimeout(r, 8_000));
    expect(hubNet.keeper.trimmed.every((p) => p === bad), hubNet.keeper.trimmed.join(",")).toBe(true);
    expect(disconnected).not.toContain(validator);
    expect(disconnected).not.toContain(good);
  });
});

describe("peer announcements", { timeout: 60_000 }, () => {
  const net = makeTestNet({ validators: 1, accounts: 1, label: "discovery-announce" });
  let node: PouwNode | null = null;
  let hostile: Awaited<ReturnType<typeof createGossipPeer>> | null = null;
  afterAll(async () => {
    await hostile?.stop();
    await node?.close();
  });

  it("relays a peer's announcement of itself and rejects one of another key (a peer cannot announce others)", async () => {
    const [s] = await specs(1, [], "announce");
    node = await startNode(net.genesisJson, s!, { bootstrap: [] });
    const topic = discoveryTopic(net.chainId);
    hostile = await createGossipPeer();
    hostile.services.pubsub.subscribe(topic);
    await hostile.dial(multiaddr(addrOf(s!)));
    const nodeId = node.network!.peerId;
    await until(() => hostile!.services.pubsub.getSubscribers(topic).some((p) => p.toString() === nodeId), 20_000, "the node's discovery subscription");
    await new Promise((r) => setTimeout(r, 1500)); // mesh heartbeat
    // Peer { publicKey = 1, addrs = 2 } as pubsub-peer-discovery encodes it.
    const announce = (key: Uint8Array, addr: Uint8Array) => Uint8Array.from([0x0a, key.length, ...key, 0x12, addr.length, ...addr]);
    const addr = multiaddr("/ip4/127.0.0.1/tcp/1").bytes;
    const other = publicKeyToProtobuf((await generateKeyPair("Ed25519")).publicKey);
    const own = publicKeyToProtobuf(hostile.peerId.publicKey!);
    const count = (v: "accept" | "reject") => node!.network!.verdicts.get("peers")?.[v] ?? 0;
    await hostile.services.pubsub.publish(topic, announce(other, addr));
    await until(() => count("reject") === 1, 10_000, "the forged announcement to be rejected");
    await hostile.services.pubsub.publish(topic, announce(own, addr));
    await until(() => count("accept") === 1, 10_000, "the hostile peer's own announcement to be accepted");
    await hostile.services.pubsub.publish(topic, new Uint8Array(4096).fill(1));
    await until(() => count("reject") === 2, 10_000, "an oversized announcement to be rejected");
  });
});

describe("a validator behind a sentry (p2p.pex false on the validator, p2p.privatePeers on the sentry)", { timeout: 90_000 }, () => {
  const net = makeTestNet({ validators: 1, accounts: 1, label: "discovery-sentry" });
  const nodes: PouwNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  it("neither a pex-off validator's address nor a private peer's reaches anyone past the sentry, which still relays blocks; other addresses spread as before", async () => {
    // V: the validator, pex off, dialing only its sentry (not a private peer of the sentry: pex alone must hide it).
    // P: a full node that announces itself as usual, listed in the sentry's privatePeers (the sentry alone must hide it).
    // S: the sentry. O and C: public full nodes that know only S.
    const [v, p, s, o, c] = await specs(5, [], "sentry");
    v!.validator = net.validators[0]!;
    const [vId, pId, sId, , cId] = [v, p, s, o, c].map((x) => peerIdFromPrivateKey(x!.key).toString()) as [string, string, string, string, string];
    const fast = { announceMs: 500, redialMs: 500 };
    // The validator once knew the control node (its address book says so): with pex off it does not dial it.
    writeFileSync(join(v!.home, "peers.json"), JSON.stringify({ version: 1, peers: [{ id: cId, addrs: [`/ip4/127.0.0.1/tcp/${c!.port}`], validator: true, lastSeen: Date.now() }] }));
    const sentry = await startNode(net.genesisJson, s!, { ...fast, bootstrap: [], privatePeers: [pId] });
    const validator = await startNode(net.genesisJson, v!, { ...fast, bootstrap: [addrOf(s!)], pex: false });
    const hidden = await startNode(net.genesisJson, p!, { ...fast, bootstrap: [addrOf(s!)], targetPeers: 1 });
    const outsider = await startNode(net.genesisJson, o!, { ...fast, bootstrap: [addrOf(s!)] });
    const control = await startNode(net.genesisJson, c!, { ...fast, bootstrap: [addrOf(s!)] });
    nodes.push(sentry, validator, hidden, outsider, control);
    const connectedTo = (n: PouwNode) => n.network!.libp2p.getPeers().map((x) => x.toString());
    const addressesOf = async (n: PouwNode, id: string) => (await n.network!.libp2p.peerStore.get(peerIdFromString(id)).catch(() => null))?.addresses.length ?? 0;
    // The control node's announcements reach the outsider through the sentry: they meet.
    await until(() => connectedTo(outsider).includes(cId), 30_000, "the outsider to find the control node through the sentry's relay");
    // Blocks still flow from the validator through the sentry.
    const h = outsider.chain.head.header.height;
    await until(() => outsider.chain.head.header.height >= h + 3 && control.chain.head.header.height >= h + 3, 30_000, "blocks on the public nodes");
    // Many announce rounds later: neither was announced past the sentry, and the validator dialed no one else.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(sentry.network!.verdicts.get("peers")?.accept ?? 0, "the sentry relays the public nodes' announcements").toBeGreaterThan(0);
    for (const [name, n] of [["outsider", outsider], ["control", control]] as const) {
      for (const [who, id] of [["the validator", vId], ["the private peer", pId]] as const) {
        expect(connectedTo(n), `${name} connected to ${who}`).not.toContain(id);
        expect(await addressesOf(n, id), `${name} knows an address of ${who}`).toBe(0);
      }
    }
    expect(sentry.network!.verdicts.get("peers")?.ignore ?? 0, "the private peer's announcements, not relayed").toBeGreaterThan(0);
    expect(connectedTo(validator)).toEqual([sId]);
    expect(await addressesOf(sentry, vId)).toBeGreaterThan(0); // the sentry itself knows them
    expect(await addressesOf(sentry, pId)).toBeGreaterThan(0);
  });
});
