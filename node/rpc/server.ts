/**
 * JSON-RPC 2.0 over HTTP POST and WebSocket on one port, plus `GET /health`
 * and `GET /metrics`. Bodies are size capped before parsing; every failure is
 * a JSON-RPC error with a specific code and the server keeps serving.
 */
import { checkpointJson } from "./settlement.ts";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { RpcCode, RpcError, invalidParams, toJsonRpcError, type JsonRpcErrorObject } from "./errors.ts";
import { headerJson } from "./format.ts";
import { methods, type RpcNode } from "./methods.ts";
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
}

export const DEFAULT_RPC_OPTIONS: RpcServerOptions = {
  host: "127.0.0.1",
  port: 8750,
  // Room for one checkpoint blob in base64 (pouw_putBlob); every method still checks its own sizes.
  maxBodyBytes: 9 * 1024 * 1024,
  maxBatch: 100,
  maxSubscriptionsPerSocket: 16,
};

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

export class RpcServer {
  readonly opts: RpcServerOptions;
  private readonly node: RpcNode;
  private readonly logger: Logger;
  private readonly metrics: Metrics | null;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly unsubscribers = new Set<() => void>();

  constructor(opts: Partial<RpcServerOptions>, node: RpcNode, logger: Logger, metrics: Metrics | null) {
    this.opts = { ...DEFAULT_RPC_OPTIONS, ...opts };
    this.node = node;
    this.logger = logger;
    this.metrics = metrics;
    this.http = createServer((req, res) => void this.handleHttp(req, res));
    this.http.keepAliveTimeout = 30_000;
    this.wss = new WebSocketServer({ server: this.http, maxPayload: this.opts.maxBodyBytes });
    this.wss.on("connection", (ws) => this.handleSocket(ws));
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const a = this.http.address() as AddressInfo;
    return `http://${a.address}:${a.port}/`;
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribers) u();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === "GET" && req.url === "/health") {
        const h = this.node.chain.head.header;
        return send(res, 200, { status: "ok", height: h.height, headTime: h.time, lagMs: Date.now() - h.time });
      }
      if (req.method === "GET" && req.url === "/metrics") {
        if (!this.metrics) return send(res, 404, { error: "metrics disabled" });
        const body = await this.metrics.registry.metrics();
        res.writeHead(200, { "content-type": this.metrics.registry.contentType });
        res.end(body);
        return;
      }
      if (req.method !== "POST") {
        return send(res, 405, errorResponse(null, RpcCode.INVALID_REQUEST, "METHOD_NOT_ALLOWED", "use POST for JSON-RPC, GET for /health and /metrics"));
      }
      const body = await readBody(req, this.opts.maxBodyBytes);
      if (body === null) {
        res.setHeader("connection", "close");
        return send(res, 413, errorResponse(null, RpcCode.INVALID_REQUEST, "BODY_TOO_LARGE", `request body exceeds ${this.opts.maxBodyBytes} bytes`));
      }
      const out = await this.handleText(body.toString("utf8"));
      if (out === undefined) {
        res.writeHead(204).end();
        return;
      }
      send(res, 200, out);
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
    if (Array.isArray(msg)) {
      if (msg.length === 0) return errorResponse(null, RpcCode.INVALID_REQUEST, "EMPTY_BATCH", "batch is empty");
      if (msg.length > this.opts.maxBatch) return errorResponse(null, RpcCode.INVALID_REQUEST, "BATCH_TOO_LARGE", `batch exceeds ${this.opts.maxBatch} requests`);
      const out: Response[] = [];
      for (const m of msg) {
        const r = await this.handleOne(m, ws);
        if (r) out.push(r);
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
        result = await fn(this.node, req.params);
      }
      this.metrics?.rpcRequests.inc({ method, outcome: "ok" });
      return isNotification ? null : { jsonrpc: "2.0", id, result: result ?? null };
    } catch (e) {
      const error = toJsonRpcError(e);
      if (error.code === RpcCode.INTERNAL_ERROR) this.logger.error({ err: e, method }, "RPC method failed");
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
    const push = (result: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: "2.0", method: "pouw_subscription", params: { subscription: id, result } }));
    };
    // "checkpoints": each checkpoint once more than 2/3 of its set's anchor signatures are here (what a relayer waits for).
    const off =
      topic === "checkpoints"
        ? this.node.checkpoints!.onQuorum((c) => push(checkpointJson(c, this.node.chain.world.checkpoints[Number(c.checkpoint.epoch) - 1]?.withdrawalCount ?? 0)))
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

  private handleSocket(ws: WebSocket): void {
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        ws.send(JSON.stringify(errorResponse(null, RpcCode.INVALID_REQUEST, "BINARY_NOT_SUPPORTED", "send JSON-RPC as text frames")));
        return;
      }
      void this.handleText(data.toString(), ws).then((out) => {
        if (out !== undefined && ws.readyState === ws.OPEN) ws.send(JSON.stringify(out));
      });
    });
    ws.on("close", () => {
      const subs = this.subscriptions.get(ws);
      if (subs) for (const off of subs.values()) {
        off();
        this.unsubscribers.delete(off);
      }
    });
    ws.on("error", (e) => this.logger.debug({ err: e }, "WebSocket error"));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Reads the body, or returns null as soon as it exceeds `max` bytes (the rest is discarded). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(over ? null : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
