/** Runs `pouw start` as a child process for crash tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { PouwClient } from "../../node/client/client.ts";

export const CLI = fileURLToPath(new URL("../../node/cli/main.ts", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export interface ChildNode {
  proc: ChildProcess;
  client: PouwClient;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startChild(home: string, port: number, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildNode> {
  const proc = spawn(process.execPath, [CLI, "start", "--home", home, "--rpc-port", String(port), "--json-logs", "--log-level", "warn", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const client = new PouwClient(`http://127.0.0.1:${port}/`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`node exited with ${proc.exitCode}:\n${out}`);
    try {
      await client.chainInfo();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`node did not serve RPC in 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { proc, client, output: () => out, exited };
}

/** A base port with `n` consecutive free ports after it (for configs that number ports base + i). */
export async function freePortRange(n: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range (32768-60999): an outgoing connection cannot take the port before the child listens.
    const base = 20_000 + Math.floor(Math.random() * (12_000 - n));
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await isFree(base + i);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports found`);
}
