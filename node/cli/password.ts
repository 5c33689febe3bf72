/**
 * Where a key's password comes from: `--password-file <path>` (its first
 * line, the line ending stripped) for unattended use, else a prompt on the
 * terminal (no echo), else none: a command that needs one then says which
 * file is encrypted and which flag to give.
 */
import { readFileSync } from "node:fs";
import { normalizePassword } from "../crypto/keystore.ts";
import { bytesEqual } from "../util/hex.ts";
import { CliError } from "./errors.ts";

/** The password for the encrypted file `path`, or null when there is no way to get one (no --password-file, no terminal). */
export type PasswordSource = (path: string) => Promise<string | null>;

/** The first line of `path`, without its line ending. */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError("BAD_FLAG", `cannot read --password-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text.split("\n")[0]!.replace(/\r$/, "");
}

/** Whether a password can be asked for: stdin is a terminal. */
export const canPrompt = (): boolean => process.stdin.isTTY === true && typeof process.stdin.setRawMode === "function";

/** Asks on the terminal (the prompt on stderr) without echoing what is typed. Ctrl-C exits 130. */
export function promptPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let typed = "";
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          done();
          return resolve(typed);
        }
        if (ch === "\u0003") {
          done();
          process.exit(130);
        }
        typed = ch === "\u007f" || ch === "\b" ? typed.slice(0, -1) : typed + ch;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}

/** Reading keys: --password-file when given, else one prompt per process on a terminal (the answer reused), else null. */
export function passwordSource(o: { passwordFile?: string }): PasswordSource {
  let asked: Promise<string> | undefined;
  return async (path) => {
    if (o.passwordFile !== undefined) return readPasswordFile(o.passwordFile);
    if (!canPrompt()) return null;
    asked ??= promptPassword(`password for ${path}: `);
    return asked;
  };
}

/**
 * Writing a key: the password to encrypt it with (--password-file, else asked
 * twice on a terminal), or null with --insecure-plaintext. Without either,
 * `what` (e.g. "pouw keys new") is refused naming the flags.
 */
export async function newPassword(o: { passwordFile?: string; insecurePlaintext?: boolean }, what: string): Promise<string | null> {
  if (o.insecurePlaintext && o.passwordFile !== undefined) throw new CliError("BAD_FLAG", "give --password-file or --insecure-plaintext, not both");
  if (o.insecurePlaintext) return null;
  if (o.passwordFile !== undefined) return readPasswordFile(o.passwordFile);
  if (!canPrompt()) {
    throw new CliError("BAD_FLAG", `${what} writes an encrypted keystore and needs its password: give --password-file <file> (or run it on a terminal to be asked), or --insecure-plaintext for a devnet or test key`);
  }
  const first = await promptPassword("new password: ");
  const second = await promptPassword("repeat it: ");
  if (!bytesEqual(normalizePassword(first), normalizePassword(second))) throw new CliError("BAD_FLAG", "the two passwords differ; nothing was written");
  return first;
}
