/** GET /health's verdict: storage fault, then syncing, then a head older than three block times; healthy otherwise. */
import { describe, expect, it } from "vitest";
import { health, healthJson } from "../../../node/rpc/health.ts";
import type { NodeHealthInfo, RpcNode } from "../../../node/rpc/methods.ts";

function fakeNode(headTime: number, info: Partial<NodeHealthInfo> = {}): RpcNode {
  const full: NodeHealthInfo = { syncing: false, bestPeerHeight: 0, peers: 0, consensus: null, storageFault: null, blobs: null, ...info };
  return { chain: { head: { header: { height: 7, time: headTime } }, params: { blockTimeMs: 1000 } }, healthInfo: () => full } as unknown as RpcNode;
}

describe("health", () => {
  const now = 1_800_000_000_000;

  it("is healthy while the head is younger than three block times", () => {
    expect(health(fakeNode(now - 2999), now)).toMatchObject({ healthy: true, reason: null, height: 7, headAgeMs: 2999, blockTimeMs: 1000 });
  });

  it("is stalled past three block times", () => {
    expect(health(fakeNode(now - 3001), now)).toMatchObject({ healthy: false, reason: "stalled", headAgeMs: 3001 });
  });

  it("says syncing, and a storage fault before anything else", () => {
    expect(health(fakeNode(now - 60_000, { syncing: true }), now).reason).toBe("syncing");
    expect(health(fakeNode(now, { syncing: true, storageFault: "storage fault writing the block file: ENOSPC" }), now).reason).toBe("storage fault");
    const body = healthJson(health(fakeNode(now, { storageFault: "ENOSPC" }), now), "ENOSPC");
    expect(body).toMatchObject({ status: "unhealthy", reason: "storage fault", detail: "ENOSPC" });
  });

  it("does not count a head from the future as negative age", () => {
    expect(health(fakeNode(now + 500), now)).toMatchObject({ healthy: true, headAgeMs: 0 });
  });
});
