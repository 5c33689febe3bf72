/**
 * The metrics listener of `pouw start --metrics-addr`: GET /metrics (the
 * same registry the RPC port serves) and nothing else, so Prometheus can
 * scrape a port that exposes no JSON-RPC. Anything but GET or HEAD /metrics is 404.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ListenError } from "../util/listen-error.ts";
import type { Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";

export class MetricsServer {
  private readonly http: Server;
  private readonly host: string;
  private readonly port: number;

  constructor(addr: { host: string; port: number }, metrics: Metrics, logger: Logger) {
    this.host = addr.host;
    this.port = addr.port;
    this.http = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: this port serves GET /metrics only\n");
        return;
      }
      metrics.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(req.method === "HEAD" ? undefined : body),
        (err: unknown) => {
          logger.warn({ err }, "Collecting metrics failed");
          res.writeHead(500, { "content-type": "text/plain" }).end("collecting metrics failed\n");
        },
      );
    });
    // Scrapes are short: no socket stays open long.
    this.http.keepAliveTimeout = 5_000;
    this.http.requestTimeout = 30_000;
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const failed = (e: unknown) => reject(new ListenError("metrics", `${this.host}:${this.port}`, e));
      this.http.once("error", failed);
      this.http.listen(this.port, this.host, () => {
        this.http.off("error", failed);
        resolve();
      });
    });
    const a = this.http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get url(): string {
    const a = this.http.address() as AddressInfo;
    return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}/metrics`;
  }

  async close(): Promise<void> {
    if (!this.http.listening) return;
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
