import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /**
   * Pretty, coloured lines for a human; JSON lines otherwise. Unset: `$POUW_LOG_FORMAT` ("pretty" or "json"), else
   * pretty on a terminal (`pouw devnet` on a terminal sets it for the validators whose output it relays).
   */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.POUW_LOG_LEVEL ?? "info";
  const format = process.env.POUW_LOG_FORMAT;
  const pretty = opts.pretty ?? (format === "pretty" ? true : format === "json" ? false : Boolean(process.stdout.isTTY));
  if (pretty) {
    return pino({
      level,
      transport: { target: "pino-pretty", options: { colorize: true, singleLine: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } },
    });
  }
  return pino({ level, base: undefined });
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A logger that keeps each line it writes, parsed (tests assert on what was said). */
export function capturingLogger(level = "debug"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level, base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}
