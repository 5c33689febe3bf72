/** Transaction bodies over RPC: every type shows its schema's fields, addresses as bech32m, bytes as hex, u64 as strings. */
import { describe, expect, it } from "vitest";
import { encodeAddress } from "../../../node/crypto/address.ts";
import { bodyJson } from "../../../node/rpc/format.ts";
import { ChallengeProof, CreateJob, TX_TYPES, TxBody, TxSelector } from "../../../node/types/transaction.ts";

describe("bodyJson", () => {
  it("lists each body type's fields in schema order after its type", () => {
    for (const [selector, name] of TX_TYPES.entries()) {
      const type = TxBody.types[selector]!;
      const json = bodyJson({ selector, value: type.defaultValue() }, name);
      expect(Object.keys(json)).toEqual(["type", ...Object.keys(type.fields)]);
      expect(json.type).toBe(name);
    }
  });

  it("writes addresses as bech32m, other bytes as hex, u64 as decimal strings, small integers and lists as JSON", () => {
    const v = new Uint8Array(20).fill(7);
    expect(bodyJson({ selector: TxSelector.Transfer, value: { to: v, amount: 2n ** 64n - 1n } }, "Transfer")).toEqual({ type: "Transfer", to: encodeAddress(v), amount: "18446744073709551615" });
    expect(bodyJson({ selector: TxSelector.Delegate, value: { validator: v, amount: 5n } }, "Delegate")).toEqual({ type: "Delegate", validator: encodeAddress(v), amount: "5" });
    const cv = bodyJson({ selector: TxSelector.CreateValidator, value: { consensusKey: new Uint8Array(1312), anchorAddress: v, commissionBps: 500, amount: 1n } }, "CreateValidator");
    expect(cv).toMatchObject({ anchorAddress: "0x" + "07".repeat(20), commissionBps: 500, amount: "1" });
    expect(cv.consensusKey).toBe("0x" + "00".repeat(1312));
    const spec = { ...CreateJob.defaultValue().spec, layers: [784, 10], deadline: 90 };
    const job = bodyJson({ selector: TxSelector.CreateJob, value: { spec, reward: 3n, workerBond: 4n } }, "CreateJob");
    expect(job).toMatchObject({ reward: "3", workerBond: "4", spec: { layers: [784, 10], deadline: 90, datasetId: "0x" + "00".repeat(32) } });
    const ch = bodyJson({ selector: TxSelector.ChallengeProof, value: { ...ChallengeProof.defaultValue(), startBranch: [new Uint8Array(32).fill(1)] } }, "ChallengeProof");
    expect(ch.startBranch).toEqual(["0x" + "01".repeat(32)]);
    expect(ch.endBranch).toEqual([]);
  });
});
