/**
 * Failpoints for crash tests (CometBFT's libs/fail): named points in the
 * consensus path where a test can make the process die as a real crash
 * would, at an exact step. Off unless the environment asks:
 *
 *   POUW_FAILPOINT=<name>@<height>   SIGKILL this process the first time
 *                                    <name> is reached at a height ≥ <height>
 *
 * Names: "proposed" (proposal signed and sent), "signed-prevote" and
 * "signed-precommit" (signed and in the WAL, not yet sent), "sent-prevote",
 * "sent-precommit", "decided" (before the block is written), "committed"
 * (block written, next height not started).
 */
const spec = parse(process.env.POUW_FAILPOINT);

function parse(v: string | undefined): { name: string; height: number } | null {
  if (!v) return null;
  const m = /^([a-z-]+)@(\d+)$/.exec(v.trim());
  if (!m) throw new Error(`POUW_FAILPOINT must be <name>@<height>, got ${JSON.stringify(v)}`);
  return { name: m[1]!, height: Number(m[2]) };
}

export function failpoint(name: string, height: number): void {
  if (spec === null || spec.name !== name || height < spec.height) return;
  process.stderr.write(`failpoint ${name} at height ${height}: killing this process\n`);
  process.kill(process.pid, "SIGKILL");
}
