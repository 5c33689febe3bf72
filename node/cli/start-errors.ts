/**
 * What `pouw start` says when it cannot start: one line naming the home or
 * the address and what to do, as a CliError whose code picks the exit
 * status (errors.ts EXIT). Everything else passes through unchanged.
 */
import { resolve } from "node:path";
import { DatabaseLockedError } from "../db/database.ts";
import { ListenError } from "../util/listen-error.ts";
import { CliError } from "./errors.ts";

/** Each listener's name in the message, the flags that move it and its error code (so its exit status). */
const LISTENERS = {
  rpc: { what: "RPC", port: "--rpc-port", host: "--rpc-host", code: "RPC_LISTEN_FAILED" },
  p2p: { what: "P2P", port: "--p2p-port", host: "--p2p-host", code: "P2P_LISTEN_FAILED" },
  metrics: { what: "Metrics", port: "--metrics-addr", host: "--metrics-addr", code: "METRICS_LISTEN_FAILED" },
} as const;

function listenFailure(e: ListenError): CliError {
  const { what, port, host, code } = LISTENERS[e.service];
  const ctx = { address: e.address, errno: e.errno };
  if (e.errno === "EADDRINUSE") return new CliError(code, `${what} port ${e.address} is in use (another pouw node?): stop it or start with ${port}`, ctx, { cause: e });
  if (e.errno === "EACCES" || e.errno === "EPERM") return new CliError(code, `${what} port ${e.address} is not permitted (ports below 1024 need privileges): start with another ${port}`, ctx, { cause: e });
  if (e.errno === "EADDRNOTAVAIL") return new CliError(code, `${what} address ${e.address} is not an address of this machine: start with another ${host}`, ctx, { cause: e });
  const why = e.cause instanceof Error ? e.cause.message.split("\n")[0] : String(e.cause);
  return new CliError(code, `cannot listen for ${what} on ${e.address}: ${why}`, ctx, { cause: e });
}

/**
 * While the node was being built (database, genesis, the libp2p host, which
 * listens as it is created): a home held by another process, a P2P address
 * that cannot be listened on.
 */
export function createFailure(e: unknown, home: string): unknown {
  if (e instanceof DatabaseLockedError) {
    return new CliError("HOME_IN_USE", `home ${resolve(home)} is in use by another pouw process (LevelDB lock): stop it or use --home`, { home: resolve(home) }, { cause: e });
  }
  return startFailure(e);
}

/** While the node was starting its listeners (the RPC server, the libp2p host): each reports a ListenError. */
export function startFailure(e: unknown): unknown {
  return e instanceof ListenError ? listenFailure(e) : e;
}
