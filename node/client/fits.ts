/**
 * Checks, before signing, that every number in a transaction fits its SSZ
 * field. SSZ's serializer keeps only the low bytes of an oversized unsigned
 * integer, so 18446744074 POUW (2^64 + 290448384 units) would be signed and
 * sent as 0.290448384 POUW: the client refuses it instead, naming the field
 * and its maximum. Negative and non-integer values are refused the same way.
 */
import { ContainerType, ListBasicType, UintBigintType, UintNumberType, UnionType, type Type } from "@chainsafe/ssz";
import { Amount, formatPouw, Uint64 } from "../types/primitives.ts";
import { Transaction, TxBody, TX_TYPES, type TransactionT } from "../types/transaction.ts";
import { PouwError } from "../util/errors.ts";

export type ClientErrorCode = "VALUE_OUT_OF_RANGE";

/** A transaction the client will not sign; `context` has the field, the value and the field's maximum. */
export class ClientError extends PouwError<ClientErrorCode> {}

const pouw = (units: bigint): string => `${formatPouw(units)} POUW`;

function check(type: Type<unknown>, value: unknown, path: string): void {
  if (type instanceof UintBigintType || type instanceof UintNumberType) {
    const max = (1n << BigInt(8 * type.byteLength)) - 1n;
    const isAmount = type === Amount;
    const ok = typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
    const v = ok ? BigInt(value as bigint | number) : null;
    if (v !== null && v >= 0n && v <= max) return;
    const shown = v === null ? String(value) : `${v}`;
    const limit = isAmount ? `the largest amount, ${max} units (${pouw(max)})` : `the largest uint${type.byteLength * 8}, ${max}`;
    const why = v === null ? `is not a whole number` : v < 0n ? "is negative" : `is more than ${limit}`;
    throw new ClientError("VALUE_OUT_OF_RANGE", `${path} ${shown}${isAmount ? " units" : ""} ${why}`, { field: path, value: shown, max: max.toString() });
  }
  if (type instanceof ContainerType) {
    for (const [name, t] of Object.entries(type.fields as Record<string, Type<unknown>>)) check(t, (value as Record<string, unknown>)[name], `${path}.${name}`);
    return;
  }
  if (type instanceof UnionType) {
    const u = value as { selector: number; value: unknown };
    const t = (type.types as Type<unknown>[])[u.selector];
    if (t) check(t, u.value, `${path}(${TX_TYPES[u.selector] ?? u.selector})`);
    return;
  }
  if (type instanceof ListBasicType) {
    (value as unknown[]).forEach((x, i) => check(type.elementType as Type<unknown>, x, `${path}[${i}]`));
  }
}

/** Throws `ClientError` VALUE_OUT_OF_RANGE for the first number in `tx` that its field cannot hold. */
export function assertFits(tx: TransactionT): void {
  check(Transaction as unknown as Type<unknown>, tx, "tx");
}

/** The same for a body and fee/nonce overrides alone (before asking the node for anything). */
export function assertBodyFits(body: TransactionT["body"], o: { tip?: bigint; maxFee?: bigint; nonce?: bigint } = {}): void {
  check(TxBody as unknown as Type<unknown>, body, "tx.body");
  if (o.tip !== undefined) check(Amount, o.tip, "tx.maxPriorityFeePerGas");
  if (o.maxFee !== undefined) check(Amount, o.maxFee, "tx.maxFeePerGas");
  if (o.nonce !== undefined) check(Uint64, o.nonce, "tx.nonce");
}
