/**
 * Where a node's home and the user's keyring live unless a flag says
 * otherwise: `--home` over `$POUW_HOME` over `~/.pouw`, the same for every
 * command (`pouw start --devnet` alone defaults to `./.pouw-devnet`).
 */
import { homedir } from "node:os";
import { join } from "node:path";

export function defaultHome(): string {
  const env = process.env.POUW_HOME?.trim();
  return env ? env : join(homedir(), ".pouw");
}

/** The home a command uses: the flag, else $POUW_HOME, else ~/.pouw. */
export function resolveHome(flag: string | undefined): string {
  return flag ?? defaultHome();
}
