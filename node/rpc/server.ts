/**
 * JSON-RPC 2.0 over HTTP POST and WebSocket on one port, plus `GET /health`,
 * `GET /status` and `GET /metrics`. Bodies are size capped before parsing;
 * every failure is a JSON-RPC error with a specific code and the server
 * keeps serving.
 *
 * RPC can never hurt consensus (issue 12): connections are capped in total
 * and per IP (refused at once, logged at most every few seconds); idle
 * HTTP sockets and idle WebSockets time out, and WebSockets are pinged; a
 * WebSocket holds at most `maxInFlightPerSocket` requests in progress, past
 * which the server stops reading it, and one whose unsent output passes
 * `maxSendBufferBytes` is cut off; heavy reads share a small semaphore, yield
 * to the event loop and reuse cached block JSON (./heavy.ts).
 */
import { checkpointJson } from "./settlement.ts";
import { StringDecoder } from "node:string_decoder";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { ListenError } from "../util/listen-error.ts";
import type { Logger } from "../util/logger.ts";
import { preset, type Metrics } from "../util/metrics.ts";
import { RpcCode, RpcError, invalidParams, toJsonRpcError, type JsonRpcErrorObject } from "./errors.ts";
import { headerJson } from "./format.ts";
import { serveExplorer } from "./explorer.ts";
import { health, healthJson, statusJson } from "./health.ts";
import { HeavyReads, RawJson } from "./heavy.ts";
import { methods, type MethodContext, type RpcNode } from "./methods.ts";
import { paramList } from "./params.ts";

export interface RpcServerOptions {
  host: string;
  port: number;
  /** Largest accepted request body (HTTP) or message (WebSocket), bytes. */
  maxBodyBytes: number;
  /** Largest JSON-RPC batch. */
  maxBatch: number;
  /** Most subscriptions one WebSocket connection may hold. */
  maxSubscriptionsPerSocket: number;
  /** Open connections (HTTP and WebSocket together); one more is closed at once. */
  maxConnections: number;
  /** Open connections from one IP address. */
  maxConnectionsPerIp: number;
  /** A WebSocket client whose unsent output exceeds this many bytes is disconnected (it is not reading). 0: no limit. */
  maxSendBufferBytes: number;
  /** Requests one WebSocket may have in progress; past it the server stops reading from that socket until one finishes. */
  maxInFlightPerSocket: number;
  /** Heavy reads (blocks, blobs) in progress at once, across all connections. */
  maxConcurrentHeavy: number;
  /** A batch's results past this many bytes are answered RESPONSE_TOO_LARGE instead. */
  maxBatchResponseBytes: number;
  /** HTTP sockets with no request and WebSockets with no subscription and no request for this long are closed; WebSockets are pinged every half of it. */
  idleTimeoutMs: number;
  /** Bytes of blobs taken by pouw_putBlob that nothing references yet (node/work/blob-intake.ts). */
  blobQuotaBytes: number;
  /** An unreferenced blob is deleted this long after pouw_putBlob stored it. */
  blobTtlMs: number;
}

export const DEFAULT_RPC_OPTIONS: RpcServerOptions = {
  host: "127.0.0.1",
  port: 8750,
  // Room for one checkpoint blob in base64 (pouw_putBlob); every method still checks its own sizes.
  maxBodyBytes: 9 * 1024 * 1024,
  maxBatch: 100,
  maxSubscriptionsPerSocket: 16,
  maxConnections: 1000,
  // Half the slots: room for a busy local tool (a wallet polling 200 transactions at once opens 200 sockets)
  // or a NAT's users, while one address can never take every slot.
  maxConnectionsPerIp: 500,
  maxSendBufferBytes: 16 * 1024 * 1024,
  maxInFlightPerSocket: 32,
  maxConcurrentHeavy: 2,
  // geth's BatchResponseMaxSize.
  maxBatchResponseBytes: 25 * 1000 * 1000,
  idleTimeoutMs: 60_000,
  blobQuotaBytes: 256 * 1024 * 1024,
  blobTtlMs: 10 * 60_000,
};

/** The block JSON cache (see heavy.ts): a few recent big blocks. */
const BLOCK_CACHE = { bytes: 64 * 1024 * 1024, entries: 16 };
/** At most one "connection cap reached" warning per this many ms. */
const CAP_WARN_EVERY_MS = 5000;

type Id = string | number | null;
interface Response {
  jsonrpc: "2.0";
  id: Id;
  result?: unknown;
  error?: JsonRpcErrorObject;
}

const errorResponse = (id: Id, code: number, dataCode: string, message: string): Response => ({
  jsonrpc: "2.0",
  id,
  error: { code, message, data: { code: dataCode } },
});

function validId(id: unknown): id is Id {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** A WebSocket's bookkeeping. */
interface SocketState {
  remote: string;
  /** Requests being handled. */
  inFlight: number;
  /** Reading is paused (inFlight reached the cap). */
  paused: boolean;
  /** Messages already parsed when reading was paused; handled as slots free up. */
  backlog: string[];
  /** Answered the last ping (or sent anything since). */
  alive: boolean;
  lastActive: number;
  /** Cut off (logged once). */
  dropped: boolean;
}

/** A response as pieces: strings and shared buffers (a cached block is never copied per response). */
type Chunks = (string | Buffer)[];

export class RpcServer {
  readonly opts: RpcServerOptions;
  private readonly node: RpcNode;
  private readonly logger: Logger;
  private readonly metrics: Metrics | null;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly unsubscribers = new Set<() => void>();
  private readonly heavy: HeavyReads;
  private readonly ctx: MethodContext;
  private readonly sockets = new Map<WebSocket, SocketState>();
  private readonly perIp = new Map<string, number>();
  private open = 0;
  private refusedTotal = 0;
  /** Per cap: when it was last logged and how many were refused since. */
  private readonly capWarnings = { maxConnections: { at: -Infinity, refused: 0 }, maxConnectionsPerIp: { at: -Infinity, refused: 0 } };
  private slowDropped = 0;
  private livenessTimer: NodeJS.Timeout | null = null;

  constructor(opts: Partial<RpcServerOptions>, node: RpcNode, logger: Logger, metrics: Metrics | null) {
    this.opts = { ...DEFAULT_RPC_OPTIONS, ...opts };
    this.node = node;
    this.logger = logger;
    this.metrics = metrics;
    // Every method's outcomes are series from the start (0 until it is called).
    if (metrics) preset(metrics.rpcRequests, [...Object.keys(methods), "pouw_subscribe", "pouw_unsubscribe"].flatMap((method) => [{ method, outcome: "ok" }, { method, outcome: "error" }]));
    this.heavy = new HeavyReads({ concurrency: this.opts.maxConcurrentHeavy, cacheBytes: BLOCK_CACHE.bytes, cacheEntries: BLOCK_CACHE.entries });
    this.ctx = { heavy: this.heavy };
    this.http = createServer((req, res) => void this.handleHttp(req, res));
    // A socket with no traffic for idleTimeoutMs (before its first request or between keep-alive requests) is destroyed.
    this.http.timeout = this.opts.idleTimeoutMs;
    this.http.keepAliveTimeout = this.opts.idleTimeoutMs;
    this.http.on("connection", (socket: Socket) => this.onConnection(socket));
    this.wss = new WebSocketServer({ server: this.http, maxPayload: this.opts.maxBodyBytes, perMessageDeflate: false });
    this.wss.on("connection", (ws, req) => this.handleSocket(ws, req));
    // ws re-emits the HTTP server's errors (a failed listen among them); listen() reports that one.
    this.wss.on("error", (e) => this.logger.debug({ err: e }, "WebSocket server error"));
  }

  /** Opens the port; a port in use (or an address that is not local or not permitted) rejects with a ListenError naming it. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const failed = (e: unknown) => reject(new ListenError("rpc", `${this.opts.host}:${this.opts.port}`, e));
      this.http.once("error", failed);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off("error", failed);
        resolve();
      });
    });
    this.livenessTimer = setInterval(() => this.checkSockets(), Math.max(100, Math.floor(this.opts.idleTimeoutMs / 2)));
    this.livenessTimer.unref();
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const a = this.http.address() as AddressInfo;
    return `http://${a.address}:${a.port}/`;
  }

  async close(): Promise<void> {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    for (const u of this.unsubscribers) u();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  /** Connection counts and limits, for GET /status. */
  stats() {
    return {
      connections: this.open,
      websockets: this.sockets.size,
      http: this.open - this.sockets.size,
      ips: this.perIp.size,
      inFlight: [...this.sockets.values()].reduce((n, s) => n + s.inFlight, 0),
      refusedConnections: this.refusedTotal,
      droppedSlowClients: this.slowDropped,
      heavy: this.heavy.stats(),
      limits: {
        maxConnections: this.opts.maxConnections,
        maxConnectionsPerIp: this.opts.maxConnectionsPerIp,
        maxInFlightPerSocket: this.opts.maxInFlightPerSocket,
        maxSendBufferBytes: this.opts.maxSendBufferBytes,
        maxConcurrentHeavy: this.opts.maxConcurrentHeavy,
        idleTimeoutMs: this.opts.idleTimeoutMs,
      },
    };
  }

  /** Every TCP connection (HTTP, later perhaps upgraded to WebSocket) counts against the total and its IP's cap. */
  private onConnection(socket: Socket): void {
    const ip = socket.remoteAddress ?? "unknown";
    const fromIp = this.perIp.get(ip) ?? 0;
    const cap = this.open >= this.opts.maxConnections ? "maxConnections" : fromIp >= this.opts.maxConnectionsPerIp ? "maxConnectionsPerIp" : null;
    if (cap) {
      this.refusedTotal++;
      const w = this.capWarnings[cap];
      w.refused++;
      const now = Date.now();
      if (now - w.at >= CAP_WARN_EVERY_MS) {
        this.logger.warn({ remote: ip, cap, limit: this.opts[cap], open: this.open, openFromIp: fromIp, refused: w.refused }, "RPC connection cap reached: refusing new connections");
        w.at = now;
        w.refused = 0;
      }
      socket.destroy();
      return;
    }
    this.open++;
    this.perIp.set(ip, fromIp + 1);
    socket.once("close", () => {
      this.open--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
    });
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/health") {
        const hl = health(this.node, Date.now());
        return send(res, hl.healthy ? 200 : 503, healthJson(hl, this.node.healthInfo().storageFault));
      }
      if (req.method === "GET" && path === "/status") {
        return send(res, 200, statusJson(this.node, Date.now(), this.stats()));
      }
      if (req.method === "GET" && path === "/metrics") {
        if (!this.metrics) return send(res, 404, { error: "metrics disabled" });
        const body = await this.metrics.registry.metrics();
        res.writeHead(200, { "content-type": this.metrics.registry.contentType });
        res.end(body);
        return;
      }
      // The read-only explorer: GET / and /explorer/* (./explorer.ts).
      if (serveExplorer(req, res, path)) return;
      if (req.method !== "POST") {
        return send(res, 405, errorResponse(null, RpcCode.INVALID_REQUEST, "METHOD_NOT_ALLOWED", "use POST for JSON-RPC, GET for the explorer (/), /health, /status and /metrics"));
      }
      const text = await readBody(req, this.opts.maxBodyBytes);
      if (text === null) {
        res.setHeader("connection", "close");
        return send(res, 413, errorResponse(null, RpcCode.INVALID_REQUEST, "BODY_TOO_LARGE", `request body exceeds ${this.opts.maxBodyBytes} bytes`));
      }
      const out = await this.handleText(text);
      if (out === undefined) {
        res.writeHead(204).end();
        return;
      }
      // HTTP needs no send-buffer check of its own: Node answers one request at a time per socket and stops
      // parsing the next while a response is unsent, and a socket that takes nothing for idleTimeoutMs is destroyed.
      sendChunks(res, 200, encode(out));
    } catch (e) {
      this.logger.error({ err: e }, "RPC HTTP handler failed");
      if (!res.headersSent) send(res, 500, errorResponse(null, RpcCode.INTERNAL_ERROR, "INTERNAL_ERROR", "internal error"));
    }
  }

  /** Handles one JSON-RPC text (single or batch); `undefined` when only notifications were sent. */
  async handleText(text: string, ws?: WebSocket): Promise<Response | Response[] | undefined> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return errorResponse(null, RpcCode.PARSE_ERROR, "PARSE_ERROR", "request is not valid JSON");
    }
    // Parsed: the text (up to the body limit) is not held while the calls are answered.
    text = "";
    if (Array.isArray(msg)) {
      if (msg.length === 0) return errorResponse(null, RpcCode.INVALID_REQUEST, "EMPTY_BATCH", "batch is empty");
      if (msg.length > this.opts.maxBatch) return errorResponse(null, RpcCode.INVALID_REQUEST, "BATCH_TOO_LARGE", `batch exceeds ${this.opts.maxBatch} requests`);
      const out: Response[] = [];
      let bytes = 0;
      for (let i = 0; i < msg.length; ) {
        const m = msg[i];
        if (bytes > this.opts.maxBatchResponseBytes) {
          // Like geth: the rest of the batch is answered with an error rather than grown without bound.
          const id = m && typeof m === "object" && "id" in m && validId((m as { id: unknown }).id) ? (m as { id: Id }).id : null;
          out.push(errorResponse(id, RpcCode.SERVER_ERROR, "RESPONSE_TOO_LARGE", `batch response exceeds ${this.opts.maxBatchResponseBytes} bytes`));
          i++;
          continue;
        }
        // A run of submissions is handled at once, so the node admits them as one micro-batch (their answers are
        // small); every other call is handled in turn, so a batch of heavy reads is bounded by the size limit.
        let j = i;
        while (j < msg.length && isSubmission(msg[j])) j++;
        const group = j > i ? msg.slice(i, j) : [m];
        const answers = Promise.all(group.map((g) => this.handleOne(g, ws)));
        // A submission has taken its bytes by now (its hex is decoded before its first wait): let the request and
        // its hex string go, rather than keep ~7.6 KB per transaction alive (and promoted) until the batch is answered.
        if (j > i) for (let k = i; k < j; k++) msg[k] = undefined;
        i += group.length;
        for (const r of await answers) {
          if (!r) continue;
          out.push(r);
          if (r.result instanceof RawJson) bytes += r.result.bytes.length;
        }
      }
      return out.length ? out : undefined;
    }
    return (await this.handleOne(msg, ws)) ?? undefined;
  }

  private async handleOne(msg: unknown, ws?: WebSocket): Promise<Response | null> {
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      return errorResponse(null, RpcCode.INVALID_REQUEST, "INVALID_REQUEST", "request must be a JSON object");
    }
    const req = msg as Record<string, unknown>;
    const isNotification = !("id" in req);
    const id = validId(req.id) ? req.id : null;
    if (req.jsonrpc !== "2.0") return errorResponse(id, RpcCode.INVALID_REQUEST, "INVALID_REQUEST", 'jsonrpc must be "2.0"');
    if (!("id" in req) ? false : !validId(req.id)) return errorResponse(null, RpcCode.INVALID_REQUEST, "INVALID_REQUEST", "id must be a string, number or null");
    if (typeof req.method !== "string") return errorResponse(id, RpcCode.INVALID_REQUEST, "INVALID_REQUEST", "method must be a string");
    const method = req.method;
    try {
      let result: unknown;
      if (method === "pouw_subscribe" || method === "pouw_unsubscribe") {
        if (!ws) throw new RpcError(RpcCode.SERVER_ERROR, "SUBSCRIPTIONS_NEED_WEBSOCKET", `${method} needs a WebSocket connection`);
        result = method === "pouw_subscribe" ? this.subscribe(ws, req.params) : this.unsubscribe(ws, req.params);
      } else {
        const fn = Object.hasOwn(methods, method) ? methods[method] : undefined;
        if (!fn) {
          this.metrics?.rpcRequests.inc({ method: "unknown", outcome: "error" });
          return errorResponse(id, RpcCode.METHOD_NOT_FOUND, "METHOD_NOT_FOUND", `method ${JSON.stringify(method).slice(0, 80)} does not exist`);
        }
        const pending = fn(this.node, req.params, this.ctx);
        // A submission has decoded its transaction before its first wait: its hex (~7.6 KB a transfer) need not
        // stay alive, and be promoted to the old generation, while the mempool takes it.
        if (SUBMISSIONS.has(method)) req.params = undefined;
        result = await pending;
      }
      this.metrics?.rpcRequests.inc({ method, outcome: "ok" });
      return isNotification ? null : { jsonrpc: "2.0", id, result: result ?? null };
    } catch (e) {
      const error = toJsonRpcError(e);
      // A bug, not bad input: the answer says only "internal error", the log keeps the cause.
      if (error.code === RpcCode.INTERNAL_ERROR || error.data?.code === "INTERNAL") this.logger.error({ err: e, method }, "RPC method failed");
      this.metrics?.rpcRequests.inc({ method, outcome: "error" });
      return isNotification ? null : { jsonrpc: "2.0", id, error };
    }
  }

  private readonly subscriptions = new WeakMap<WebSocket, Map<string, () => void>>();
  private nextSubscription = 1;

  private subscribe(ws: WebSocket, params: unknown): string {
    const [topic] = paramList(params, 1, 1);
    if (topic !== "newHeads" && topic !== "checkpoints") throw invalidParams('unknown subscription topic; supported: "newHeads", "checkpoints"');
    if (topic === "checkpoints" && !this.node.checkpoints) throw invalidParams("this node does not keep checkpoints");
    const subs = this.subscriptions.get(ws) ?? new Map<string, () => void>();
    this.subscriptions.set(ws, subs);
    if (subs.size >= this.opts.maxSubscriptionsPerSocket) {
      throw new RpcError(RpcCode.SERVER_ERROR, "TOO_MANY_SUBSCRIPTIONS", `at most ${this.opts.maxSubscriptionsPerSocket} subscriptions per connection`);
    }
    const id = "0x" + (this.nextSubscription++).toString(16);
    const push = (result: unknown) => this.sendWs(ws, [JSON.stringify({ jsonrpc: "2.0", method: "pouw_subscription", params: { subscription: id, result } })]);
    // "checkpoints": each checkpoint once more than 2/3 of its set's anchor signatures are here (what a relayer waits for).
    const off =
      topic === "checkpoints"
        ? this.node.checkpoints!.onQuorum((c) => push(checkpointJson(c, this.node.chain.world.checkpointOf(Number(c.checkpoint.epoch))?.withdrawalCount ?? 0)))
        : this.node.onCommit((c) => push({ ...headerJson(c.block.header, c.hash), txCount: c.txs.length }));
    subs.set(id, off);
    this.unsubscribers.add(off);
    return id;
  }

  private unsubscribe(ws: WebSocket, params: unknown): boolean {
    const [id] = paramList(params, 1, 1);
    const subs = this.subscriptions.get(ws);
    const off = typeof id === "string" ? subs?.get(id) : undefined;
    if (!off) return false;
    off();
    this.unsubscribers.delete(off);
    subs!.delete(id as string);
    return true;
  }

  /**
   * At most `maxInFlightPerSocket` requests of one socket are handled at
   * once; at the cap the server stops reading the socket (TCP pushes back on
   * the client) and reads on when one finishes. This is CometBFT's
   * behaviour: its wsConnection reads one request, handles it and blocks on
   * a bounded write channel, so a client that floods or does not read its
   * answers simply stops being read (rpc/jsonrpc/server/ws_handler.go). An
   * error per extra request instead would still cost a parse and a write
   * for each, and the flood would go on.
   */
  private handleSocket(ws: WebSocket, req: IncomingMessage): void {
    const st: SocketState = { remote: remoteOf(req), inFlight: 0, paused: false, backlog: [], alive: true, lastActive: Date.now(), dropped: false };
    this.sockets.set(ws, st);
    ws.on("message", (data, isBinary) => {
      st.lastActive = Date.now();
      st.alive = true;
      if (isBinary) {
        this.sendWs(ws, [JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, "BINARY_NOT_SUPPORTED", "send JSON-RPC as text frames"))]);
        return;
      }
      const text = data.toString();
      // Frames already parsed when reading paused still arrive: they wait here (at most one read's worth).
      if (st.inFlight >= this.opts.maxInFlightPerSocket) st.backlog.push(text);
      else this.dispatch(ws, st, text);
    });
    ws.on("pong", () => {
      st.alive = true;
    });
    ws.on("close", () => {
      this.sockets.delete(ws);
      st.backlog.length = 0;
      const subs = this.subscriptions.get(ws);
      if (subs)
        for (const off of subs.values()) {
          off();
          this.unsubscribers.delete(off);
        }
    });
    ws.on("error", (e) => this.logger.debug({ err: e, remote: st.remote }, "WebSocket error"));
  }

  private dispatch(ws: WebSocket, st: SocketState, text: string): void {
    st.inFlight++;
    if (st.inFlight >= this.opts.maxInFlightPerSocket && !st.paused) {
      st.paused = true;
      ws.pause();
    }
    void this.handleText(text, ws)
      .then((out) => {
        if (out !== undefined) this.sendWs(ws, encode(out));
      })
      .catch((e: unknown) => this.logger.error({ err: e }, "RPC WebSocket handler failed"))
      .finally(() => {
        st.inFlight--;
        st.lastActive = Date.now();
        if (st.dropped || ws.readyState !== ws.OPEN) return;
        while (st.backlog.length > 0 && st.inFlight < this.opts.maxInFlightPerSocket) this.dispatch(ws, st, st.backlog.shift()!);
        if (st.paused && st.inFlight < this.opts.maxInFlightPerSocket) {
          st.paused = false;
          ws.resume();
        }
      });
  }

  /**
   * Sends one message, unless the socket already holds more than
   * `maxSendBufferBytes` unsent: then the client is not reading, and it is
   * cut off (one warning naming it) before it can hold the node's memory.
   * Pieces go out as fragments of one message, so a cached block is never
   * copied per response.
   */
  private sendWs(ws: WebSocket, chunks: Chunks): boolean {
    const st = this.sockets.get(ws);
    if (!st || st.dropped || ws.readyState !== ws.OPEN) return false;
    const limit = this.opts.maxSendBufferBytes;
    if (limit > 0 && ws.bufferedAmount > limit) {
      st.dropped = true;
      this.slowDropped++;
      this.logger.warn(
        { remote: st.remote, bufferedBytes: ws.bufferedAmount, limit, inFlight: st.inFlight },
        "Disconnected a WebSocket client that does not read its responses: send buffer over maxSendBufferBytes",
      );
      ws.terminate();
      return false;
    }
    if (chunks.length === 1) ws.send(chunks[0]!);
    else chunks.forEach((c, i) => ws.send(c, { fin: i === chunks.length - 1, binary: false }));
    return true;
  }

  /** Pings every WebSocket; closes those that did not answer the last ping and those idle without a subscription. */
  private checkSockets(): void {
    const now = Date.now();
    for (const [ws, st] of this.sockets) {
      if (st.paused) continue; // not reading it: its pongs wait in the socket
      if (!st.alive) {
        this.logger.debug({ remote: st.remote }, "WebSocket did not answer a ping: closing");
        ws.terminate();
        continue;
      }
      const subs = this.subscriptions.get(ws)?.size ?? 0;
      if (subs === 0 && st.inFlight === 0 && now - st.lastActive >= this.opts.idleTimeoutMs) {
        this.logger.debug({ remote: st.remote }, "WebSocket idle without a subscription: closing");
        ws.close(1000, "idle");
        continue;
      }
      st.alive = false;
      ws.ping();
    }
  }
}

function remoteOf(req: IncomingMessage): string {
  const s = req.socket;
  return s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : "unknown";
}

/** Calls answered concurrently within a batch: transaction submissions (the node micro-batches their admission). */
const SUBMISSIONS = new Set(["pouw_sendRawTransaction"]);
const isSubmission = (m: unknown): boolean => m !== null && typeof m === "object" && SUBMISSIONS.has((m as { method?: unknown }).method as string);

/** One response or a batch as pieces: a RawJson result is spliced in as its shared buffer. */
function encode(out: Response | Response[]): Chunks {
  const parts: Chunks = [];
  const one = (r: Response) => {
    if (r.result instanceof RawJson) parts.push(`{"jsonrpc":"2.0","id":${JSON.stringify(r.id)},"result":`, r.result.bytes, "}");
    else parts.push(JSON.stringify(r));
  };
  if (Array.isArray(out)) {
    parts.push("[");
    out.forEach((r, i) => {
      if (i > 0) parts.push(",");
      one(r);
    });
    parts.push("]");
  } else one(out);
  // Adjacent strings as one piece.
  const merged: Chunks = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if (typeof p === "string" && typeof last === "string") merged[merged.length - 1] = last + p;
    else merged.push(p);
  }
  return merged;
}

function sendChunks(res: ServerResponse, status: number, chunks: Chunks): void {
  const length = chunks.reduce((n, c) => n + (typeof c === "string" ? Buffer.byteLength(c) : c.length), 0);
  res.writeHead(status, { "content-type": "application/json", "content-length": length });
  for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]!);
  res.end(chunks[chunks.length - 1]);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Reads the body as UTF-8 text, or returns null as soon as it exceeds `max`
 * bytes (the rest is discarded). Each chunk is decoded as it arrives (a
 * character split between chunks is carried over), so the body is never
 * concatenated into a buffer of its own first.
 */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let text = "";
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        text = "";
        return;
      }
      text += decoder.write(c);
    });
    req.on("end", () => resolve(over ? null : text + decoder.end()));
    req.on("error", reject);
  });
}
