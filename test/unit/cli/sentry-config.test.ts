/** config.json's p2p.pex and p2p.privatePeers (a validator behind sentries): checked when read, passed to the network. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_HOME_CONFIG, readConfig } from "../../../node/cli/home.ts";
import { resolveP2p } from "../../../node/cli/start.ts";

const p2p = { listen: ["/ip4/127.0.0.1/tcp/8760"], peers: [] };
const ID = "12D3KooWLEChKvtMFf6evamm14cwzN91uf4Mmdt3jTHX7Jp9RHR8";
const home = mkdtempSync(join(tmpdir(), "pouw-sentry-config-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const read = (extra: Record<string, unknown>) => {
  writeFileSync(join(home, "config.json"), JSON.stringify({ ...DEFAULT_HOME_CONFIG, p2p: { ...p2p, ...extra } }));
  return readConfig(home).config;
};

describe("sentry settings in config.json", () => {
  it("reads p2p.pex and p2p.privatePeers and hands them on; absent, neither is set (the network's defaults: pex on, none private)", () => {
    const c = read({ pex: false, privatePeers: [ID] });
    expect(resolveP2p(c, {})).toMatchObject({ pex: false, privatePeers: [ID] });
    const plain = resolveP2p(read({}), {})!;
    expect("pex" in plain || "privatePeers" in plain).toBe(false);
  });

  it("refuses a pex that is not a boolean and a private peer that is not a peer id, naming the key and the value", () => {
    expect(() => read({ pex: "no" })).toThrow(/"p2p.pex" must be true or false, got "no"/);
    expect(() => read({ privatePeers: [ID, "12D3KooWnot-an-id"] })).toThrow(/"p2p.privatePeers" must be a list of libp2p peer ids \(12D3KooW…\), got "12D3KooWnot-an-id"/);
    expect(() => read({ privatePeers: ID })).toThrow(/"p2p.privatePeers" must be a list of libp2p peer ids/);
  });
});
