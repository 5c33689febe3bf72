/** What RPC error answers may and may not say (test/integration/rpc-errors.test.ts, rpc-fuzz.test.ts). */
import { TxErrorCode } from "../../node/chain/errors.ts";
import { MempoolErrorCode } from "../../node/mempool/errors.ts";

/** Text that belongs to a decoder or a runtime, never in an answer (messages name the field and the limit). */
export const INTERNAL_TEXT = /offset|out of bounds|undefined|TypeError|RangeError|SyntaxError|at .*\.ts|DataView|fixedEnd|not equal fixed size|Invalid selector|Invalid checksum|\[object /i;

/** Every `data.code` a request may be refused with (a code outside this list is a new, undocumented one). */
export const KNOWN_CODES: ReadonlySet<string> = new Set([
  ...Object.values(TxErrorCode),
  ...Object.values(MempoolErrorCode),
  "EVICTED",
  "INVALID_PARAMS",
  "NOT_FOUND",
  "BLOB_NOT_EXPECTED",
  "BLOB_QUOTA_EXCEEDED",
  "SUBSCRIPTIONS_NEED_WEBSOCKET",
]);
