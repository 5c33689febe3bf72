/**
 * A listener that could not open its socket (the JSON-RPC server, the libp2p
 * host, the metrics listener): which service, which address and the OS reason (EADDRINUSE, EACCES,
 * EADDRNOTAVAIL), so the command line can say in one line what to change.
 */
import { PouwError } from "./errors.ts";

export const LISTEN_FAILED = "LISTEN_FAILED";

export type ListenService = "rpc" | "p2p" | "metrics";
const SERVICE_NAMES: Record<ListenService, string> = { rpc: "JSON-RPC", p2p: "P2P", metrics: "metrics" };

const ERRNOS = ["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "EPERM"] as const;

export class ListenError extends PouwError<typeof LISTEN_FAILED> {
  readonly service: ListenService;
  /** host:port (or the multiaddrs) it tried. */
  readonly address: string;
  readonly errno: string | null;

  constructor(service: ListenService, address: string, cause: unknown) {
    const errno = listenErrno(cause);
    super(LISTEN_FAILED, `cannot listen for ${SERVICE_NAMES[service]} on ${address}${errno ? `: ${errno}` : ""}`, { service, address, errno }, { cause });
    this.service = service;
    this.address = address;
    this.errno = errno;
  }
}

/** The OS error code of a failed listen, from its `code` or (libp2p wraps it in text) its message. */
function listenErrno(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (ERRNOS as readonly string[]).includes(code)) return code;
  const text = e instanceof Error ? `${e.message} ${e.cause instanceof Error ? e.cause.message : ""}` : String(e);
  return ERRNOS.find((x) => text.includes(x)) ?? null;
}
