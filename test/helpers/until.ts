/** Polls `f` every `everyMs` until `ok` holds for its value (returned), or throws after `ms` naming `what`. */
export async function until<T>(f: () => Promise<T> | T, ok: (v: T) => boolean, ms: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
