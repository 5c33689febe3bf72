/**
 * Says, in the schema's own terms, why bytes do not decode as an SSZ type:
 * the field (a dotted path such as `tx.body.amount`), what it holds and the
 * limit it breaks. Only used to explain a `deserialize` that failed (the
 * decoder stays the authority), so a wallet author reads "tx.body (Transfer)
 * is 27 bytes; a Transfer is exactly 28 bytes" instead of the decoder's
 * internal text. Byte positions count from the start of the whole input.
 */
import { ByteListType, ByteVectorType, ContainerType, ListBasicType, ListCompositeType, UintBigintType, UintNumberType, UnionType, type Type } from "@chainsafe/ssz";

export interface SszProblem {
  /** Dotted path of the field at fault, e.g. `tx.body.amount`. */
  field: string;
  /** One sentence: the field, its size and the limit. */
  reason: string;
}

const plural = (n: number, what = "byte") => `${n} ${what}${n === 1 ? "" : "s"}`;
const article = (name: string) => (/^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`);
/** A field's path below `parent` ("" is the root). */
const join = (parent: string, name: string) => (parent === "" ? name : `${parent}.${name}`);

/** A short name for a type as a wallet author knows it (`uint64`, `ByteVector[20]`, `Transfer`). */
export function sszTypeLabel(t: Type<unknown>): string {
  if (t instanceof UintNumberType || t instanceof UintBigintType) return `uint${t.byteLength * 8}`;
  if (t instanceof ByteVectorType) return `ByteVector[${t.lengthBytes}]`;
  if (t instanceof ByteListType) return `ByteList[${t.limitBytes}]`;
  if (t instanceof ListBasicType || t instanceof ListCompositeType) return `List[${sszTypeLabel(t.elementType as Type<unknown>)}, ${t.limit}]`;
  return t.typeName;
}

/**
 * The first problem found in `bytes` read as `type`, or null if the walk finds
 * none. Paths are field names from the root down; messages call the root
 * itself `rootName`.
 */
export function explainSsz(type: Type<unknown>, bytes: Uint8Array, rootName: string): SszProblem | null {
  return explain(type, bytes, "", 0, rootName);
}

function explain(type: Type<unknown>, bytes: Uint8Array, path: string, base: number, rootName: string): SszProblem | null {
  const field = path === "" ? `the ${rootName}` : path;
  const n = bytes.length;
  if (type.fixedSize !== null) {
    if (n === type.fixedSize) return null;
    if (type instanceof ContainerType && n < type.fixedSize) return explainFixedFields(type, bytes, path, base, rootName);
    const label = type instanceof ContainerType ? `${field} (${type.typeName})` : field;
    const what = article(type instanceof ContainerType ? type.typeName : sszTypeLabel(type));
    const extra = n > type.fixedSize ? ` (${plural(n - type.fixedSize)} too many)` : "";
    return { field: path || rootName, reason: `${label} is ${plural(n)}; ${what} is exactly ${plural(type.fixedSize)}${extra}` };
  }
  if (type instanceof UnionType) {
    if (n === 0) return { field: path || rootName, reason: `${field} is empty; it needs a 1-byte type selector` };
    const selector = bytes[0]!;
    const types = type.types as Type<unknown>[];
    if (selector >= types.length) {
      return { field: path || rootName, reason: `${field} has type selector ${selector}; the known selectors are 0..${types.length - 1} (${types.map((t, i) => `${i} ${t.typeName}`).join(", ")})` };
    }
    return explain(types[selector]!, bytes.subarray(1), path, base + 1, rootName);
  }
  if (type instanceof ByteListType) {
    return n > type.limitBytes ? { field: path || rootName, reason: `${field} is ${plural(n)}; a ${sszTypeLabel(type)} holds at most ${plural(type.limitBytes)}` } : null;
  }
  if (type instanceof ListBasicType || type instanceof ListCompositeType) {
    const el = type.elementType as Type<unknown>;
    if (el.fixedSize === null) return null;
    if (n % el.fixedSize !== 0) return { field: path || rootName, reason: `${field} is ${plural(n)}, not a whole number of ${el.fixedSize}-byte elements (${sszTypeLabel(type)})` };
    const count = n / el.fixedSize;
    return count > type.limit ? { field: path || rootName, reason: `${field} has ${plural(count, "element")}; a ${sszTypeLabel(type)} holds at most ${type.limit}` } : null;
  }
  if (type instanceof ContainerType) return explainContainer(type, bytes, path, base, rootName);
  return null;
}

type AnyContainer = ContainerType<Record<string, Type<unknown>>>;

/** Fields of a container in order, with where each one's slot in the fixed part starts and how long it is. */
function fixedSlots(type: AnyContainer): { name: string; type: Type<unknown>; at: number; size: number }[] {
  const slots = [];
  let at = 0;
  for (const { fieldName, fieldType } of type.fieldsEntries) {
    const size = fieldType.fixedSize ?? 4;
    slots.push({ name: fieldName, type: fieldType, at, size });
    at += size;
  }
  return slots;
}

/** A container shorter than its fixed part: the first field the input cuts short. */
function explainFixedFields(type: AnyContainer, bytes: Uint8Array, parent: string, base: number, rootName: string): SszProblem {
  const field = parent === "" ? `the ${rootName}` : parent;
  for (const s of fixedSlots(type)) {
    if (s.at + s.size <= bytes.length) continue;
    const path = join(parent, s.name);
    const have = Math.max(0, bytes.length - s.at);
    const what = s.type.fixedSize === null ? `the 4-byte position of ${path}` : `${path} (${sszTypeLabel(s.type)})`;
    return { field: path, reason: `the ${rootName} ends at byte ${base + bytes.length} inside ${what}: ${have} of ${plural(s.size)} present` };
  }
  return { field: parent || rootName, reason: `${field} (${type.typeName}) is cut short` };
}

function explainContainer(type: AnyContainer, bytes: Uint8Array, parent: string, base: number, rootName: string): SszProblem | null {
  const field = parent === "" ? `the ${rootName}` : parent;
  const n = bytes.length;
  const fixedEnd = type.fixedEnd;
  if (n < fixedEnd) return explainFixedFields(type, bytes, parent, base, rootName);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const variable: { name: string; type: Type<unknown>; start: number }[] = [];
  for (const s of fixedSlots(type)) {
    if (s.type.fixedSize !== null) continue;
    const path = join(parent, s.name);
    const start = view.getUint32(s.at, true);
    const prev = variable[variable.length - 1];
    if (!prev && start !== fixedEnd) {
      return { field: path, reason: `${path} must start right after the fixed part of ${field}, at byte ${base + fixedEnd}; its position says byte ${base + start}` };
    }
    if (start > n) return { field: path, reason: `${path} starts at byte ${base + start}, past the end of ${field} (byte ${base + n})` };
    if (prev && start < prev.start) return { field: path, reason: `${path} starts at byte ${base + start}, before the field in front of it (${join(parent, prev.name)}, at byte ${base + prev.start})` };
    variable.push({ name: s.name, type: s.type, start });
  }
  for (let i = 0; i < variable.length; i++) {
    const v = variable[i]!;
    const end = i + 1 < variable.length ? variable[i + 1]!.start : n;
    const p = explain(v.type, bytes.subarray(v.start, end), join(parent, v.name), base + v.start, rootName);
    if (p) return p;
  }
  return null;
}
