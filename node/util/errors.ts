/**
 * Errors with stable string codes. Each part declares its own codes as a
 * `const` object and throws `PouwError` subclasses; the RPC edge maps `code`
 * to JSON-RPC `data.code`. Messages are for humans, codes are for programs.
 */
export class PouwError<C extends string = string> extends Error {
  readonly code: C;
  readonly context: Record<string, unknown>;

  constructor(code: C, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

export function isPouwError(e: unknown): e is PouwError {
  return e instanceof PouwError;
}

/** Turns anything thrown into a message string without losing the code. */
export function describeError(e: unknown): string {
  if (e instanceof PouwError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
