/**
 * Errors the command line raises itself (bad flags, unusable homes or ports)
 * and the exit status of each fatal start-up failure, so a script or a
 * supervisor can tell them apart. One line each, naming what to do.
 */
import { KeystoreError } from "../crypto/keystore.ts";
import { PouwError } from "../util/errors.ts";

export const CliErrorCode = {
  BAD_AMOUNT: "BAD_AMOUNT",
  AMOUNT_TOO_LARGE: "AMOUNT_TOO_LARGE",
  BAD_NUMBER: "BAD_NUMBER",
  NUMBER_TOO_LARGE: "NUMBER_TOO_LARGE",
  BAD_ADDRESS: "BAD_ADDRESS",
  BAD_FLAG: "BAD_FLAG",
  BAD_CONFIG: "BAD_CONFIG",
  HOME_IN_USE: "HOME_IN_USE",
  RPC_LISTEN_FAILED: "RPC_LISTEN_FAILED",
  P2P_LISTEN_FAILED: "P2P_LISTEN_FAILED",
  METRICS_LISTEN_FAILED: "METRICS_LISTEN_FAILED",
  VALIDATOR_DID_NOT_START: "VALIDATOR_DID_NOT_START",
  /** A key file is encrypted and no password was given (no --password-file, no terminal to ask on). */
  KEY_LOCKED: "KEY_LOCKED",
  /** --halt-height is committed (the node stopped there), or the chain was already at or past it at start. */
  HALT_HEIGHT_REACHED: "HALT_HEIGHT_REACHED",
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

export class CliError extends PouwError<CliErrorCode> {}

/** Exit statuses of `pouw` (README "Running a node"). */
export const EXIT = {
  /** Any other error (a bad flag, a refused transaction, an unreachable node). */
  ERROR: 1,
  /** sysexits.h EX_IOERR: a storage fault, the disk refused a write. */
  STORAGE_FAULT: 74,
  /** The home's database is locked by another pouw process. */
  HOME_IN_USE: 80,
  /** The JSON-RPC address cannot be listened on (in use, not local, not permitted). */
  RPC_LISTEN_FAILED: 81,
  /** The P2P address cannot be listened on. */
  P2P_LISTEN_FAILED: 82,
  /** A key (a validator key for `pouw start`) is encrypted and no password was given: --password-file, or a terminal. */
  KEY_LOCKED: 83,
  /** A key's password is wrong (its keystore's checksum does not match). */
  KEY_BAD_PASSWORD: 84,
  /** The --metrics-addr address cannot be listened on. */
  METRICS_LISTEN_FAILED: 85,
  /** The node stopped at --halt-height, or was started at or past it. */
  HALT_HEIGHT_REACHED: 86,
} as const;

/** The exit status for an error that ends the command. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) {
    if (e.code === "HOME_IN_USE") return EXIT.HOME_IN_USE;
    if (e.code === "RPC_LISTEN_FAILED") return EXIT.RPC_LISTEN_FAILED;
    if (e.code === "P2P_LISTEN_FAILED") return EXIT.P2P_LISTEN_FAILED;
    if (e.code === "METRICS_LISTEN_FAILED") return EXIT.METRICS_LISTEN_FAILED;
    if (e.code === "KEY_LOCKED") return EXIT.KEY_LOCKED;
    if (e.code === "HALT_HEIGHT_REACHED") return EXIT.HALT_HEIGHT_REACHED;
    if (e.code === "VALIDATOR_DID_NOT_START" && typeof e.context.exitCode === "number" && e.context.exitCode > 0) return e.context.exitCode;
  }
  if (e instanceof KeystoreError && e.code === "KEYSTORE_BAD_PASSWORD") return EXIT.KEY_BAD_PASSWORD;
  return EXIT.ERROR;
}
