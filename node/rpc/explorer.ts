/**
 * The read-only block explorer served on the RPC port (issue 16): `GET /`
 * is one small HTML page, `GET /explorer/<file>` its script and style sheet
 * (hand-written ES modules in ./explorer/, no build step, no CDN). The page
 * talks to the node with the ordinary JSON-RPC methods, same origin, and
 * takes new heads from the `newHeads` WebSocket subscription.
 *
 * Files are read once, at the first request. The page names each asset with
 * its content hash (`app.js?v=…`): assets are cached for good (`immutable`),
 * the page itself is revalidated by its ETag.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("./explorer/", import.meta.url));
/** Files under /explorer/ and their content types. */
const ASSETS: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};
/** The same-origin policy the page needs: its own script, style and the node's RPC (HTTP and WebSocket); no inline script. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

let files: Map<string, StaticFile> | null = null;

const tag = (b: Buffer) => createHash("sha256").update(b).digest("base64url").slice(0, 16);

function load(): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  const versions: Record<string, string> = {};
  for (const [name, type] of Object.entries(ASSETS)) {
    const body = readFileSync(DIR + name);
    versions[name] = tag(body);
    out.set(`/explorer/${name}`, { body, type, etag: `"${versions[name]}"`, cache: "public, max-age=31536000, immutable" });
  }
  // The page names each asset by its hash, so a changed asset is a new URL.
  const html = Buffer.from(readFileSync(DIR + "index.html", "utf8").replace(/\{\{v:([a-z.]+)\}\}/g, (_, n: string) => versions[n] ?? "0"));
  out.set("/", { body: html, type: "text/html; charset=utf-8", etag: `"${tag(html)}"`, cache: "no-cache" });
  return out;
}

/** Answers `GET`/`HEAD` of the explorer's page and assets; false when `path` is not one of them. */
export function serveExplorer(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const key = path === "/index.html" ? "/" : path;
  if (key !== "/" && !key.startsWith("/explorer/")) return false;
  files ??= load();
  const f = files.get(key);
  if (!f) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found");
    return true;
  }
  const headers: Record<string, string | number> = {
    "content-type": f.type,
    "cache-control": f.cache,
    etag: f.etag,
    "x-content-type-options": "nosniff",
  };
  if (key === "/") {
    headers["content-security-policy"] = CSP;
    headers["referrer-policy"] = "no-referrer";
  }
  if (req.headers["if-none-match"] === f.etag) {
    res.writeHead(304, headers).end();
    return true;
  }
  headers["content-length"] = f.body.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : f.body);
  return true;
}
