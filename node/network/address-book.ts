/**
 * The address book: peers this node has been connected to, kept across
 * restarts in a small JSON file in the home (`peers.json`), so a restarted
 * node can rejoin without its bootstrap peers. It is a hint, not a trust
 * anchor: every entry is dialed like any discovered peer (Noise checks the
 * peer id) and a validator flag only orders the dials (decision 0009).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export const ADDRESS_BOOK_FILE = "peers.json";
/** Most entries kept; the least recently seen go first. */
export const ADDRESS_BOOK_MAX = 256;
const MAX_ADDRS = 8;

export interface AddressBookEntry {
  /** The libp2p peer id. */
  id: string;
  /** Multiaddrs without the /p2p/<id> suffix. */
  addrs: string[];
  /** Proved a validator identity when last connected. */
  validator: boolean;
  /** When it was last connected (ms since the epoch; local bookkeeping only). */
  lastSeen: number;
}

export class AddressBook {
  private readonly entries = new Map<string, AddressBookEntry>();

  readonly path: string | null;

  constructor(path: string | null) {
    this.path = path;
  }

  /** Reads the file if there is one; a file that does not parse is ignored (the book starts empty) and reported. */
  load(): { loaded: number; error: string | null } {
    if (!this.path) return { loaded: 0, error: null };
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch {
      return { loaded: 0, error: null };
    }
    try {
      const raw = JSON.parse(text) as { version?: number; peers?: unknown };
      if (raw.version !== 1 || !Array.isArray(raw.peers)) throw new Error("expected { version: 1, peers: [...] }");
      for (const e of raw.peers as Partial<AddressBookEntry>[]) {
        if (typeof e?.id !== "string" || !Array.isArray(e.addrs) || !e.addrs.every((a) => typeof a === "string")) continue;
        this.entries.set(e.id, { id: e.id, addrs: e.addrs.slice(0, MAX_ADDRS), validator: e.validator === true, lastSeen: Number.isFinite(e.lastSeen) ? Number(e.lastSeen) : 0 });
      }
      return { loaded: this.entries.size, error: null };
    } catch (e) {
      this.entries.clear();
      return { loaded: 0, error: (e as Error).message };
    }
  }

  /** Records a connected peer (its current addresses replace the old ones); true if that is news (a new peer, new addresses, a changed flag). */
  seen(id: string, addrs: string[], validator: boolean, now: number): boolean {
    const dialable = [...new Set(addrs.map((a) => a.split("/p2p/")[0]!).filter((a) => a.length > 0 && !/^\/ip[46]\/(0\.0\.0\.0|::)\//.test(a)))].slice(0, MAX_ADDRS);
    if (dialable.length === 0) return false;
    const old = this.entries.get(id);
    this.entries.delete(id); // re-inserted last: Map order is recency
    this.entries.set(id, { id, addrs: dialable, validator, lastSeen: now });
    while (this.entries.size > ADDRESS_BOOK_MAX) this.entries.delete(this.entries.keys().next().value as string);
    return !old || old.validator !== validator || old.addrs.join() !== dialable.join();
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  /** Validators first, then the most recently seen. */
  all(): AddressBookEntry[] {
    return [...this.entries.values()].sort((a, b) => Number(b.validator) - Number(a.validator) || b.lastSeen - a.lastSeen);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes the book (to a temporary file, then renamed over the old one, so a crash never leaves half a file). */
  save(): void {
    if (!this.path) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, peers: this.all() }, null, 1) + "\n");
    renameSync(tmp, this.path);
  }
}
