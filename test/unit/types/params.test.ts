import { describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, paramsFromJson, paramsToJson } from "../../../node/types/params.ts";

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
    expect(bad({ slashFractionDoubleSignBps: 10_001 })).toThrow(/slashFractionDoubleSignBps/);
    expect(bad({ stakingShareBps: -1 })).toThrow(/stakingShareBps/);
    expect(bad({ powerReduction: "0" })).toThrow(/powerReduction/);
  });
});
