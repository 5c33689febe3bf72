/**
 * Request/response over libp2p streams (DESIGN §10): one length-prefixed
 * request, then a length-prefixed count and that many length-prefixed
 * responses. Sizes are capped on both sides and every exchange has a deadline.
 */
import type { Libp2p } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";

export type ReqRespKind = "status" | "blocks_by_range" | "blob" | "anchor_signatures" | "validator_identity";

const VERSION: Record<ReqRespKind, number> = { status: 1, blocks_by_range: 2, blob: 1, anchor_signatures: 1, validator_identity: 1 };

export function protocolId(chainId: string, kind: ReqRespKind): string {
  return `/pouw/${chainId}/${kind}/ssz/${VERSION[kind]}`;
}

const MAX_REQUEST_BYTES = 1024;
const MAX_RESPONSES = 256;
/**
 * Room for what arrives before it is read, beyond one response of
 * `maxResponseBytes`: a server sends a whole response at once and libp2p's
 * byte stream refuses to buffer more than its limit (4 MiB by default: a block
 * of ~1,100 transfers), so the reader's buffer must hold the largest response
 * a server may send (see the server's own total budget, e.g. sync's).
 */
const RESPONSE_SLACK_BYTES = 1 << 20;

export async function serve(
  libp2p: Libp2p,
  protocol: string,
  opts: { maxResponseBytes: number; timeoutMs: number },
  handler: (request: Uint8Array, peer: string) => Promise<Uint8Array[]>,
): Promise<void> {
  await libp2p.handle(protocol, async (stream, connection) => {
    const signal = AbortSignal.timeout(opts.timeoutMs);
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES });
      const req = (await lp.read({ signal })).subarray();
      const responses = (await handler(req, connection.remotePeer.toString())).slice(0, MAX_RESPONSES);
      const out = lpStream(stream, { maxDataLength: opts.maxResponseBytes });
      await out.writeV([Uint8Array.of(responses.length & 0xff, responses.length >> 8), ...responses], { signal });
      await stream.close({ signal });
    } catch {
      stream.abort(new Error("request failed"));
    }
  }, { runOnLimitedConnection: false });
}

export async function request(
  libp2p: Libp2p,
  peer: string,
  protocol: string,
  body: Uint8Array,
  opts: { maxResponseBytes: number; timeoutMs: number },
): Promise<Uint8Array[]> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const stream = await libp2p.dialProtocol(peerIdFromString(peer), protocol, { signal });
  try {
    const lp = lpStream(stream, { maxDataLength: opts.maxResponseBytes, maxBufferSize: opts.maxResponseBytes + RESPONSE_SLACK_BYTES });
    await lp.write(body, { signal });
    const count = (await lp.read({ signal })).subarray();
    const n = count.length === 2 ? count[0]! | (count[1]! << 8) : -1;
    if (n < 0 || n > MAX_RESPONSES) throw new Error("bad response count");
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) out.push((await lp.read({ signal })).subarray());
    await stream.close({ signal }).catch(() => undefined);
    return out;
  } catch (e) {
    stream.abort(e as Error);
    throw e;
  }
}
