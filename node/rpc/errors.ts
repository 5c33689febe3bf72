/**
 * JSON-RPC error mapping. Standard codes for protocol faults; -32000 with
 * `data.code` (a stable string) for everything the node itself refuses.
 */
import { PouwError } from "../util/errors.ts";

export const RpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SERVER_ERROR: -32000,
} as const;

export class RpcError extends PouwError<string> {
  readonly rpcCode: number;

  constructor(rpcCode: number, code: string, message: string, context: Record<string, unknown> = {}) {
    super(code, message, context);
    this.rpcCode = rpcCode;
  }
}

/** -32602 with `data.code` INVALID_PARAMS; `context` (e.g. `{ field }`, the parameter at fault) goes into `data`. */
export const invalidParams = (message: string, context: Record<string, unknown> = {}): RpcError => new RpcError(RpcCode.INVALID_PARAMS, "INVALID_PARAMS", message, context);
export const notFound = (what: string): RpcError => new RpcError(RpcCode.SERVER_ERROR, "NOT_FOUND", `${what} not found`);

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: { code: string; [k: string]: unknown };
}

function jsonSafe(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return "0x" + Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

export function toJsonRpcError(e: unknown): JsonRpcErrorObject {
  if (e instanceof RpcError) return { code: e.rpcCode, message: e.message, data: { code: e.code, ...(jsonSafe(e.context) as object) } };
  if (e instanceof PouwError) return { code: RpcCode.SERVER_ERROR, message: e.message, data: { code: e.code, ...(jsonSafe(e.context) as object) } };
  return { code: RpcCode.INTERNAL_ERROR, message: "internal error", data: { code: "INTERNAL_ERROR" } };
}
