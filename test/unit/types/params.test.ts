import { describe, expect, it } from "vitest";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { DEFAULT_PARAMS, MAX_ANCHOR_SET, paramsFromJson, paramsToJson } from "../../../node/types/params.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

describe("params from genesis JSON", () => {
  it("round trips the defaults", () => {
    expect(paramsFromJson(paramsToJson(DEFAULT_PARAMS) as Record<string, unknown>)).toEqual(DEFAULT_PARAMS);
  });

  it("refuses parameters the state transition cannot run with, naming the field", () => {
    const bad = (over: Record<string, unknown>) => () => paramsFromJson({ ...(paramsToJson(DEFAULT_PARAMS) as Record<string, unknown>), ...over });
    expect(bad({ elasticityMultiplier: 0 })).toThrow(/elasticityMultiplier/);
    expect(bad({ maxBlockGas: 1, elasticityMultiplier: 2 })).toThrow(/gas target/);
    expect(bad({ baseFeeChangeDenominator: 0 })).toThrow(/baseFeeChangeDenominator/);
    expect(bad({ maxBlockTxs: 1.5 })).toThrow(/maxBlockTxs/);
    expect(bad({ minBaseFeePerGas: "0" })).toThrow(/minBaseFeePerGas/);
    expect(bad({ initialBaseFeePerGas: "1", minBaseFeePerGas: "5" })).toThrow(/initialBaseFeePerGas/);
    expect(bad({ noSuchParam: 1 })).toThrow(/unknown param/);
    expect(bad({ epochLength: 0 })).toThrow(/epochLength/);
    expect(bad({ signedBlocksWindow: 10_000 })).toThrow(/signedBlocksWindow/);
    expect(bad({ maxValidators: 2000 })).toThrow(/maxValidators/);
    expect(bad({ maxValidators: 1024 })).toThrow(/maxValidators/);
    expect(bad({ slashFractionDoubleSignBps: 10_001 })).toThrow(/slashFractionDoubleSignBps/);
    expect(bad({ stakingShareBps: -1 })).toThrow(/stakingShareBps/);
    expect(bad({ powerReduction: "0" })).toThrow(/powerReduction/);
  });
});

const withParams = (over: Record<string, unknown>) => paramsFromJson({ ...(paramsToJson(DEFAULT_PARAMS) as Record<string, unknown>), ...over });

describe("the validator set fits every settlement anchor", () => {
  it("maxValidators: 256 is accepted, 257 refused with the reason", () => {
    expect(MAX_ANCHOR_SET).toBe(256);
    expect(withParams({ maxValidators: 256 }).maxValidators).toBe(256);
    expect(() => withParams({ maxValidators: 257 })).toThrow(/maxValidators must be at most 256: every settlement anchor accepts at most 256 signers/);
  });

  it("a genesis with 256 validators is accepted, one with 257 refused", () => {
    const at = makeTestNet({ label: "set-256", validators: 256, params: { maxValidators: 256 } });
    expect(parseGenesis(JSON.parse(at.genesisJson)).validators).toHaveLength(256);
    const over = makeTestNet({ label: "set-257", validators: 257, params: { maxValidators: 256 } });
    expect(() => parseGenesis(JSON.parse(over.genesisJson))).toThrow(/257 validators: at most 256, the most signers a settlement anchor accepts/);
  });
});

describe("settlementDomains", () => {
  const evm = "0x" + "ab".repeat(32);
  const sui = "0x" + "0c".repeat(32);

  it("defaults to none; a list of 32-byte domains with known kinds round trips, hex lowercased", () => {
    expect(DEFAULT_PARAMS.settlementDomains).toEqual([]);
    const p = withParams({ settlementDomains: [{ domain: evm.toUpperCase().replace("0X", "0x"), kind: "evm" }, { domain: sui, kind: "sui" }] });
    expect(p.settlementDomains).toEqual([{ domain: evm, kind: "evm" }, { domain: sui, kind: "sui" }]);
    expect(paramsFromJson(JSON.parse(JSON.stringify(paramsToJson(p))) as Record<string, unknown>)).toEqual(p);
  });

  it("refuses a domain that is not 32 bytes of hex, zero, of an unknown kind, or listed twice", () => {
    const bad = (v: unknown) => () => withParams({ settlementDomains: v });
    expect(bad({ domain: evm, kind: "evm" })).toThrow(/settlementDomains must be an array/);
    expect(bad([{ domain: "0x" + "ab".repeat(20), kind: "evm" }])).toThrow(/settlementDomains\[0\]\.domain must be 32 bytes/);
    expect(bad([{ domain: "ab".repeat(32), kind: "evm" }])).toThrow(/settlementDomains\[0\]\.domain must be 32 bytes/);
    expect(bad([{ domain: "0x" + "zz".repeat(32), kind: "evm" }])).toThrow(/settlementDomains\[0\]\.domain/);
    expect(bad([{ domain: 7, kind: "evm" }])).toThrow(/settlementDomains\[0\]\.domain/);
    expect(bad([{ domain: "0x" + "00".repeat(32), kind: "evm" }])).toThrow(/must not be zero/);
    expect(bad([{ domain: evm, kind: "solana" }])).toThrow(/settlementDomains\[0\]\.kind must be one of evm, sui/);
    expect(bad([{ domain: evm, kind: "evm", note: 1 }])).toThrow(/unknown keys: note/);
    expect(bad([{ domain: evm, kind: "evm" }, { domain: evm.toUpperCase().replace("0X", "0x"), kind: "sui" }])).toThrow(/settlementDomains\[1\]\.domain .* is listed twice/);
  });
});
