/** POUW amounts: 9 decimals, 1 POUW = 10^9 units. */
export const DECIMALS = 9;
const UNIT = 10n ** BigInt(DECIMALS);

/** Parses "1.5" (POUW) into units; throws on more than 9 decimals or anything not a plain decimal. */
export function parsePouw(text: string): bigint {
  const m = /^([0-9]+)(?:\.([0-9]{1,9}))?$/.exec(text.trim());
  if (!m) throw new TypeError(`"${text}" is not an amount (e.g. 1.5, at most ${DECIMALS} decimals)`);
  return BigInt(m[1]!) * UNIT + BigInt((m[2] ?? "").padEnd(DECIMALS, "0") || "0");
}

export function formatPouw(units: bigint | string): string {
  const u = BigInt(units);
  const neg = u < 0n;
  const abs = neg ? -u : u;
  const frac = (abs % UNIT).toString().padStart(DECIMALS, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${abs / UNIT}${frac ? "." + frac : ""}`;
}
