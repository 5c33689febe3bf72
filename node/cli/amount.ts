/**
 * Amounts and whole numbers typed on the command line. POUW has 9 decimals
 * (1 POUW = 10^9 units); every amount field on the wire is a u64 of units
 * (node/types/primitives.ts), so a value that does not fit is refused here,
 * naming the flag and the field's maximum, before anything is signed (SSZ
 * would silently keep only the low 64 bits).
 */
import { formatPouw, MAX_U64, POUW_DECIMALS, UNITS_PER_POUW } from "../types/primitives.ts";
import { CliError } from "./errors.ts";

export const DECIMALS = POUW_DECIMALS;
const UNIT = UNITS_PER_POUW;
/** The largest amount any field holds: u64 units (18446744073.709551615 POUW). */
export const MAX_AMOUNT = MAX_U64;

/**
 * Parses "1.5" (POUW) given to `flag` into units. Refuses anything that is
 * not a plain non-negative decimal, more than 9 decimals, and more than `max`.
 */
export function parsePouw(text: string, flag = "--amount", max: bigint = MAX_AMOUNT): bigint {
  const t = text.trim();
  if (/^-\s*[0-9.]+$/.test(t)) throw new CliError("BAD_AMOUNT", `${flag} ${text} is negative: an amount is 0 or more POUW`);
  const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(t);
  if (!m) throw new CliError("BAD_AMOUNT", `${flag} "${text}" is not an amount in POUW (e.g. 1.5, at most ${DECIMALS} decimals)`);
  const frac = m[2] ?? "";
  if (frac.length > DECIMALS) throw new CliError("BAD_AMOUNT", `${flag} ${text} has ${frac.length} decimals: POUW has ${DECIMALS} (the smallest amount is 0.000000001)`);
  const units = BigInt(m[1]!) * UNIT + BigInt(frac.padEnd(DECIMALS, "0"));
  if (units > max) throw new CliError("AMOUNT_TOO_LARGE", `${flag} ${t} POUW is more than the largest amount, ${formatPouw(max)} POUW`);
  return units;
}

/** A whole number for `flag` (`what`: "nonce", "fee per gas (units)", …), 0 … max (u64 by default). */
export function parseWhole(text: string, flag: string, what: string, max: bigint = MAX_U64): bigint {
  const t = text.trim();
  if (/^-\s*[0-9]+$/.test(t)) throw new CliError("BAD_NUMBER", `${flag} ${text} is negative: a ${what} is 0 or more`);
  if (!/^[0-9]+$/.test(t)) throw new CliError("BAD_NUMBER", `${flag} "${text}" is not a whole number (${what})`);
  const n = BigInt(t);
  if (n > max) throw new CliError("NUMBER_TOO_LARGE", `${flag} ${t} is more than the largest ${what}, ${max}`);
  return n;
}

export { formatPouw };
