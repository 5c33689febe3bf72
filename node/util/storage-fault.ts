/**
 * Storage faults: the disk refused a write (full, read-only, I/O error). A
 * node that cannot persist cannot sign or commit safely, so such a fault is
 * fatal (fail-stop, as CometBFT does): one clear line, a non-zero exit, and a
 * clean restart once the operator has made room. Parts that write wrap the
 * error with `storageFault(...)`; everything above only asks `isStorageFault`.
 */
import { PouwError } from "./errors.ts";

export const STORAGE_FAULT = "STORAGE_FAULT";

/** errno codes that mean "this disk cannot take our writes", not "this input is bad". */
const FAULT_CODES = new Set(["ENOSPC", "EIO", "EROFS", "EDQUOT", "EFBIG"]);
/** LevelDB reports the OS error inside its message, not as a code. */
const FAULT_TEXT = /No space left on device|Input\/output error|Read-only file system|Disk quota exceeded|IO error/i;

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
    if (typeof msg === "string" && FAULT_TEXT.test(msg)) return true;
  }
  return false;
}

/** Wraps `e` as a StorageFault when it is one (keeps other errors as they are). */
export function asStorageFault(e: unknown, what: string, path: string | null): unknown {
  if (e instanceof StorageFault) return e;
  return isStorageFault(e) ? new StorageFault(what, path, e) : e;
}
