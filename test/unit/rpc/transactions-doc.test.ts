/**
 * docs/transactions.md stays true: its body-type table and nested containers
 * match the SSZ schemas (names, field order, sizes), and its numbers for the
 * nonce window, the size range, maxTxBytes, the replacement bump and the
 * replaced-transaction memory match the code. Every error code it documents exists.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TxErrorCode } from "../../../node/chain/errors.ts";
import { MempoolErrorCode } from "../../../node/mempool/errors.ts";
import { DEFAULT_MEMPOOL_OPTIONS } from "../../../node/mempool/options.ts";
import { DEFAULT_PARAMS } from "../../../node/types/params.ts";
import { JobSpec, ProofCommitment, TX_TYPES, TxBody } from "../../../node/types/transaction.ts";
import { MAX_SIGNED_TX_BYTES, MIN_SIGNED_TX_BYTES } from "../../../node/types/txcodec.ts";

const doc = readFileSync(new URL("../../../docs/transactions.md", import.meta.url), "utf8");
const num = (s: string) => Number(s.replace(/,/g, ""));
const fieldNames = (cell: string) => [...cell.matchAll(/`(\w+)` \(/g)].map((m) => m[1]);

describe("docs/transactions.md", () => {
  it("lists every body type with its selector, its fields in schema order and its size", () => {
    const rows = [...doc.matchAll(/^\| (\d+) \| `(\w+)` \| (.*?) \| (\d+)(?:\.\.(\d+))? \| .* \| \*\*yes\*\* \|$/gm)];
    expect(rows.map((r) => [Number(r[1]), r[2]])).toEqual(TX_TYPES.map((n, i) => [i, n]));
    for (const r of rows) {
      const type = TxBody.types[Number(r[1])]!;
      expect(fieldNames(r[3]!), r[2]).toEqual(Object.keys(type.fields));
      expect([Number(r[4]), Number(r[5] ?? r[4])], r[2]).toEqual([type.minSize, type.maxSize]);
    }
  });

  it("lists the nested containers' fields in schema order", () => {
    for (const [name, type] of [["JobSpec", JobSpec], ["ProofCommitment", ProofCommitment]] as const) {
      const line = doc.match(new RegExp(`^- \`${name}\` = (.*(?:\\n  .*)*)`, "m"));
      expect(line, name).not.toBeNull();
      expect(fieldNames(line![1]!), name).toEqual(Object.keys(type.fields));
    }
    expect(doc).toContain(`The fixed part is ${JobSpec.minSize} bytes. \`layers\` adds 0..${JobSpec.maxSize - JobSpec.minSize} bytes.`);
    expect(doc).toContain(`It is ${ProofCommitment.fixedSize} bytes.`);
  });

  it("states the size range and the limits the code enforces", () => {
    const range = doc.match(/A well-formed transaction is (\d+)\.\.(\d+) bytes/);
    expect(range && [num(range[1]!), num(range[2]!)]).toEqual([MIN_SIGNED_TX_BYTES, MAX_SIGNED_TX_BYTES]);
    expect(doc).toContain(`fewer than ${MIN_SIGNED_TX_BYTES} or more than ${MAX_SIGNED_TX_BYTES} bytes`);
    expect(doc).toContain(`a signed transaction is at least ${MIN_SIGNED_TX_BYTES} bytes`);
    const limit = doc.match(/≤ `maxTxBytes` = ([\d,]+) bytes/);
    expect(limit && num(limit[1]!)).toBe(DEFAULT_PARAMS.maxTxBytes);
  });

  it("states the nonce window, the replacement bump and the replaced memory of the mempool's defaults", () => {
    const n = DEFAULT_MEMPOOL_OPTIONS.maxNonceAhead;
    expect(doc).toContain(`up to account nonce + ${n}\n(inclusive: + ${n} is queued, + ${n + 1} is refused)`);
    expect(doc).toContain(`nonce > account nonce + ${n} (+ ${n} is queued, + ${n + 1} refused)`);
    expect(doc).toContain(`≤ account nonce + ${n} (\`NONCE_TOO_HIGH\`)`);
    expect(doc).not.toMatch(/\+127|nonce ≥ account nonce \+/);
    const bump = DEFAULT_MEMPOOL_OPTIONS.replaceBumpPercent;
    expect(doc).toContain(`\`new ≥ ceil(old × ${100 + bump} / 100)\``);
    expect(doc).toContain(`the last ${DEFAULT_MEMPOOL_OPTIONS.maxRemembered.toLocaleString("en-US")} replaced hashes (mempool option\n\`maxRemembered\`)`);
    expect(doc).toContain(`At most ${DEFAULT_MEMPOOL_OPTIONS.maxPerSender} transactions per sender wait`);
  });

  it("documents only error codes that exist, and every mempool code", () => {
    const section = doc.slice(doc.indexOf("## 11. Errors"), doc.indexOf("**Protocol errors**"));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
    const known = new Set<string>([...Object.values(TxErrorCode), ...Object.values(MempoolErrorCode), "INTERNAL"]);
    for (const c of documented) expect(known.has(c), c).toBe(true);
    for (const c of Object.values(MempoolErrorCode)) expect(documented).toContain(c);
    expect(doc).not.toMatch(/Only selector 0 is accepted|selector is not 0/);
  });
});
