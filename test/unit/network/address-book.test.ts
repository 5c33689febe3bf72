/** The address book (peers.json): what it keeps, in what order, and what it survives. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ADDRESS_BOOK_MAX, AddressBook } from "../../../node/network/address-book.ts";

const dir = () => mkdtempSync(join(tmpdir(), "pouw-book-"));

describe("address book", () => {
  it("survives a save and a load: validators first, then the most recently seen, /p2p suffix and wildcard hosts dropped", () => {
    const path = join(dir(), "peers.json");
    const a = new AddressBook(path);
    a.seen("peerA", ["/ip4/127.0.0.1/tcp/1/p2p/peerA", "/ip4/0.0.0.0/tcp/1"], false, 100);
    a.seen("peerB", ["/ip4/127.0.0.1/tcp/2"], true, 50);
    a.seen("peerC", ["/ip4/127.0.0.1/tcp/3"], false, 200);
    a.seen("peerD", ["/ip4/0.0.0.0/tcp/4"], false, 300); // nothing dialable: not kept
    a.save();
    const b = new AddressBook(path);
    expect(b.load()).toEqual({ loaded: 3, error: null });
    expect(b.all().map((e) => e.id)).toEqual(["peerB", "peerC", "peerA"]);
    expect(b.all().find((e) => e.id === "peerA")!.addrs).toEqual(["/ip4/127.0.0.1/tcp/1"]);
  });

  it("says when a sighting is news (a new peer, new addresses, a changed validator flag), so the node writes the book at once", () => {
    const a = new AddressBook(null);
    expect(a.seen("p", ["/ip4/127.0.0.1/tcp/1"], false, 1)).toBe(true);
    expect(a.seen("p", ["/ip4/127.0.0.1/tcp/1"], false, 2)).toBe(false);
    expect(a.seen("p", ["/ip4/127.0.0.1/tcp/1"], true, 3)).toBe(true);
    expect(a.seen("p", ["/ip4/127.0.0.1/tcp/2"], true, 4)).toBe(true);
    expect(a.all()[0]!.lastSeen).toBe(4);
  });

  it("keeps at most ADDRESS_BOOK_MAX peers, dropping the least recently seen", () => {
    const a = new AddressBook(null);
    for (let i = 0; i < ADDRESS_BOOK_MAX + 10; i++) a.seen(`p${i}`, [`/ip4/127.0.0.1/tcp/${i + 1}`], false, i);
    expect(a.size).toBe(ADDRESS_BOOK_MAX);
    expect(a.all().some((e) => e.id === "p0")).toBe(false);
    expect(a.all()[0]!.id).toBe(`p${ADDRESS_BOOK_MAX + 9}`);
  });

  it("a file that does not parse is reported and the book starts empty; a missing one is no error", () => {
    const d = dir();
    writeFileSync(join(d, "peers.json"), "{ not json");
    const a = new AddressBook(join(d, "peers.json"));
    const r = a.load();
    expect(r.loaded).toBe(0);
    expect(r.error).toMatch(/JSON/);
    expect(new AddressBook(join(d, "absent.json")).load()).toEqual({ loaded: 0, error: null });
    writeFileSync(join(d, "other.json"), JSON.stringify({ version: 2, peers: [] }));
    expect(new AddressBook(join(d, "other.json")).load().error).toMatch(/version: 1/);
  });

  it("writes whole files (temporary file renamed over the old one)", () => {
    const path = join(dir(), "peers.json");
    const a = new AddressBook(path);
    a.seen("x", ["/ip4/127.0.0.1/tcp/9"], false, 1);
    a.save();
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ version: 1, peers: [{ id: "x", addrs: ["/ip4/127.0.0.1/tcp/9"], validator: false, lastSeen: 1 }] });
  });
});
