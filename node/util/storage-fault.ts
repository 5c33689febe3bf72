/**
 * Storage faults: the disk refused a write (full, read-only, I/O error). A
 * node that cannot persist cannot sign or commit safely, so such a fault is
 * fatal (fail-stop, as CometBFT does): one clear line, a non-zero exit, and a
 * clean restart once the operator has made room. Parts that write wrap the
 * error with `storageFault(...)`; everything above only asks `isStorageFault`.
 */
import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import { PouwError } from "./errors.ts";

export const STORAGE_FAULT = "STORAGE_FAULT";

/** errno codes that mean "this disk cannot take our writes", not "this input is bad". */
const FAULT_CODES = new Set(["ENOSPC", "EIO", "EROFS", "EDQUOT", "EFBIG"]);
/**
 * LevelDB reports the OS error inside its message, not as a code. A "short
 * write" (our files' wording when a write stored fewer bytes than asked) is
 * the disk running out partway: the OS only says ENOSPC on the next write.
 */
const FAULT_TEXT = /No space left on device|Input\/output error|Read-only file system|Disk quota exceeded|IO error|short write/i;
/** LevelDB's "IO error" also covers a LOCK held by another process: that is a second node on the same home, not a disk fault. */
const NOT_FAULT_TEXT = /IO error: lock |LOCK: already held/i;

export class StorageFault extends PouwError<typeof STORAGE_FAULT> {
  /** What was being written (e.g. "privval state", "block file", "consensus WAL", "database"). */
  readonly what: string;
  /** The file or directory it was written to, when known. */
  readonly path: string | null;
  /** The OS error code (ENOSPC, EIO, …) when known. */
  readonly errno: string | null;

  constructor(what: string, path: string | null, cause: unknown) {
    const errno = errnoOf(cause);
    super(STORAGE_FAULT, `storage fault writing the ${what}${path ? ` at ${path}` : ""}: ${cause instanceof Error ? cause.message : String(cause)}`, { what, path, errno }, { cause });
    this.what = what;
    this.path = path;
    this.errno = errno;
  }
}

function errnoOf(e: unknown): string | null {
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && FAULT_CODES.has(code)) return code;
    const msg = (x as { message?: unknown }).message;
    if (typeof msg === "string") {
      if (/No space left on device/i.test(msg)) return "ENOSPC";
      if (/Input\/output error/i.test(msg)) return "EIO";
      if (/Read-only file system/i.test(msg)) return "EROFS";
      if (/Disk quota exceeded/i.test(msg)) return "EDQUOT";
    }
  }
  return null;
}

/** True for a StorageFault, or an error (or one of its causes) that the OS raised because the disk refused a write. */
export function isStorageFault(e: unknown): boolean {
  if (e instanceof StorageFault) return true;
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof StorageFault) return true;
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && FAULT_CODES.has(code)) return true;
    const msg = (x as { message?: unknown }).message;
    if (typeof msg === "string" && FAULT_TEXT.test(msg) && !NOT_FAULT_TEXT.test(msg)) return true;
  }
  return false;
}

/** Wraps `e` as a StorageFault when it is one (keeps other errors as they are). */
export function asStorageFault(e: unknown, what: string, path: string | null): unknown {
  if (e instanceof StorageFault) return e;
  return isStorageFault(e) ? new StorageFault(what, path, e) : e;
}

/** Told of a storage fault by the part whose write failed (the node logs it once and stops). */
export type StorageFaultHandler = (fault: StorageFault) => void;

/**
 * Runs a write; if the disk refuses it, the error becomes a StorageFault
 * naming `what` and `path`, goes to `onFault` (so the node stops whatever the
 * caller does with the error) and is thrown. Other errors pass unchanged.
 */
export async function guardWrite<T>(what: string, path: string | null, write: () => Promise<T>, onFault?: StorageFaultHandler | null): Promise<T> {
  try {
    return await write();
  } catch (e) {
    const f = asStorageFault(e, what, path);
    if (f instanceof StorageFault) onFault?.(f);
    throw f;
  }
}

/** Bytes an unprivileged writer may still use on the filesystem holding `path` (or its nearest existing parent); null when unknown. */
export function freeBytes(path: string | null): number | null {
  for (let p = path; p; ) {
    try {
      const s = statfsSync(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const up = dirname(p);
      if (up === p) return null;
      p = up;
    }
  }
  return null;
}

/** The one line a node logs when a storage fault stops it. */
export function storageFaultLine(f: StorageFault, free: number | null): string {
  const why = f.errno ?? (f.cause instanceof Error ? f.cause.message : String(f.cause));
  return `Storage fault: ${f.what} at ${f.path ?? "(unknown path)"}: ${why}; free space on that filesystem: ${free ?? "unknown"} bytes (statfs); stopping`;
}
