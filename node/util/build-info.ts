/**
 * What build this node runs: the package version and, in a git checkout, the
 * commit (`git rev-parse HEAD` once, at startup). Never fails: without
 * package.json or git (a copied tree, a container without git) each is "unknown".
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function buildInfo(): { version: string; commit: string } {
  let version = "unknown";
  try {
    version = String((JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { version?: unknown }).version ?? "unknown");
  } catch {
    // no package.json beside the source: unknown
  }
  let commit = "unknown";
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 }).trim();
    if (/^[0-9a-f]{40,64}$/.test(out)) commit = out;
  } catch {
    // git missing, or not a checkout: unknown
  }
  return { version, commit };
}
