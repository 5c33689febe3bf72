/**
 * Errors of the settlement targets (DESIGN §9) with stable codes, one class
 * for every chain the relayer submits to, so it can catch `AnchorError` and
 * switch on `code` (node/anchor/evm.ts and sui-client.ts re-export it).
 */
import { PouwError } from "../util/errors.ts";

export const AnchorErrorCode = {
  /** The contract refused (in simulation or on chain); `errorName` names its custom error when it could be decoded. */
  EVM_REVERTED: "EVM_REVERTED",
  /** The call never reached the contract: transport, funds for gas, nonce, a node that refused the transaction. */
  EVM_RPC: "EVM_RPC",
  /** The checkpoint cannot be packed: signatures not aligned with members, too many members. */
  EVM_BAD_CHECKPOINT: "EVM_BAD_CHECKPOINT",
  /** The deployed contracts do not report the set hash or domain the node computes. */
  EVM_MISMATCH: "EVM_MISMATCH",
  /** The compiled contracts (Hardhat artifacts) are missing: run `npx hardhat build`. */
  EVM_NO_ARTIFACTS: "EVM_NO_ARTIFACTS",
  /**
   * A Sui transaction failed: its simulation or its execution aborted (the
   * Move abort, e.g. `anchor::submit_checkpoint` code 2 EWrongEpoch, is in the
   * message and in `errorName` / `context.abortCode`) or the node refused it.
   */
  SUI_FAILED: "SUI_FAILED",
  /** The Sui node could not be reached, refused the transaction, or did not show it executed in time. */
  SUI_RPC: "SUI_RPC",
  /** The object read is not the package's Anchor (wrong type, not shared, content that does not decode). */
  SUI_BAD_OBJECT: "SUI_BAD_OBJECT",
  /** The signed checkpoint cannot be submitted: signatures not aligned with members, or no quorum among them. */
  SUI_BAD_CHECKPOINT: "SUI_BAD_CHECKPOINT",
  /** A deployment step did not produce what it should (no package, no shared Anchor or Vault in the effects). */
  SUI_DEPLOY: "SUI_DEPLOY",
  /** The deployer key (POUW_SUI_KEY) is missing or is not a `suiprivkey…` key. */
  SUI_BAD_KEY: "SUI_BAD_KEY",
  /** The bytecode file is not the JSON `sui move build --dump-bytecode-as-base64` prints. */
  SUI_BAD_BYTECODE: "SUI_BAD_BYTECODE",
} as const;
export type AnchorErrorCode = (typeof AnchorErrorCode)[keyof typeof AnchorErrorCode];

export class AnchorError extends PouwError<AnchorErrorCode> {
  /** The contract's error: an EVM custom error (`WrongEpoch`) or a Move abort constant (`EWrongEpoch`), when known. */
  readonly errorName: string | undefined;

  constructor(code: AnchorErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
    this.errorName = typeof context.errorName === "string" ? context.errorName : undefined;
  }
}
