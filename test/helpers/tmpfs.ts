/** A small tmpfs to fill up (storage-fault tests). Mounting needs root; callers skip when it is refused. */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Mounts a tmpfs of `mb` MiB on a new directory; null (with the reason logged) when the mount is refused. */
export function mountTmpfs(mb: number, label: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), `pouw-${label}-`));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mb}m`, "tmpfs", dir], { stdio: "pipe" });
    return dir;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    console.log(`SKIPPED (${label}): cannot mount a tmpfs (needs root): ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`);
    return null;
  }
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync("umount", ["-l", dir], { stdio: "pipe" });
  } catch {
    /* not mounted */
  }
  rmSync(dir, { recursive: true, force: true });
}

export function freeBytesOf(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Fills the filesystem of `dir` with one file (fallocate, else zeros until ENOSPC); returns its path. */
export function fillFilesystem(dir: string): string {
  const path = join(dir, "filler");
  try {
    execFileSync("fallocate", ["-l", String(freeBytesOf(dir)), path], { stdio: "pipe" });
  } catch {
    /* no fallocate, or a little too much asked: top up with zeros below */
  }
  const fd = openSync(path, "a");
  const zeros = new Uint8Array(1 << 16);
  try {
    for (;;) writeSync(fd, zeros);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return path;
}
