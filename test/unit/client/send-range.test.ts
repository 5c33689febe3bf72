/**
 * The typed client refuses to sign a number its SSZ field cannot hold. SSZ
 * keeps only the low 8 bytes of a u64, so 18446744074 POUW would go out as
 * 0.290448384 POUW: the check names the field and its maximum instead.
 */
import { describe, expect, it } from "vitest";
import { ClientError, PouwClient } from "../../../node/client/client.ts";
import { assertFits } from "../../../node/client/fits.ts";
import { signAndSubmit } from "../../../node/client/send.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { MAX_U64 } from "../../../node/types/primitives.ts";
import { Transfer, TxSelector, type JobSpecT, type TransactionT } from "../../../node/types/transaction.ts";
import { utf8 } from "../../../node/util/hex.ts";

const key = AccountKey.fromLabel("send-range/test");
const to = new Uint8Array(20).fill(9);
/** A client whose every request fails loudly: a refused value must be refused before any request. */
const client = new PouwClient("http://127.0.0.1:1/");

async function refusal(body: TransactionT["body"], o: Parameters<typeof signAndSubmit>[3] = {}): Promise<ClientError> {
  const e = await signAndSubmit(client, key, body, o).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, String(e)).toBeInstanceOf(ClientError);
  expect((e as ClientError).code).toBe("VALUE_OUT_OF_RANGE");
  return e as ClientError;
}

const transfer = (amount: bigint): TransactionT["body"] => ({ selector: TxSelector.Transfer, value: { to, amount } });

describe("signAndSubmit: every number must fit its field", () => {
  it("SSZ itself would wrap an amount past 2^64 (what the check prevents)", () => {
    const wrapped = Transfer.deserialize(Transfer.serialize({ to, amount: 18_446_744_074_000_000_000n }));
    expect(wrapped.amount).toBe(290_448_384n);
  });

  it("an amount over u64 is refused with the field and the largest amount", async () => {
    const e = await refusal(transfer(18_446_744_074_000_000_000n));
    expect(e.message).toBe("tx.body(Transfer).amount 18446744074000000000 units is more than the largest amount, 18446744073709551615 units (18446744073.709551615 POUW)");
    expect(e.context).toMatchObject({ field: "tx.body(Transfer).amount", max: MAX_U64.toString() });
  });

  it("a negative amount and a negative or oversized fee or nonce are refused", async () => {
    expect((await refusal(transfer(-1n))).message).toMatch(/^tx\.body\(Transfer\)\.amount -1 units is negative$/);
    expect((await refusal(transfer(1n), { tip: MAX_U64 + 1n })).message).toMatch(/^tx\.maxPriorityFeePerGas 18446744073709551616 units is more than the largest amount/);
    expect((await refusal(transfer(1n), { maxFee: -5n })).message).toMatch(/^tx\.maxFeePerGas -5 units is negative$/);
    expect((await refusal(transfer(1n), { nonce: 1n << 64n })).message).toMatch(/^tx\.nonce 18446744073709551616 is more than the largest uint64, 18446744073709551615$/);
  });

  it("every amount field of every body is checked: stake, delegate, job reward and bond, withdraw", async () => {
    const big = MAX_U64 + 1n;
    const spec = { datasetId: new Uint8Array(32), layers: [4, 2], learningRateBits: 0, momentumBits: 0, batchSize: 1, steps: 1, segmentLength: 1, seed: new Uint8Array(32), targetMetric: 0, targetThreshold: 0, deadline: 10 } as JobSpecT;
    const cases: [TransactionT["body"], RegExp][] = [
      [{ selector: TxSelector.CreateValidator, value: { consensusKey: key.publicKey, anchorAddress: new Uint8Array(20).fill(1), commissionBps: 0, amount: big } }, /^tx\.body\(CreateValidator\)\.amount /],
      [{ selector: TxSelector.CreateValidator, value: { consensusKey: key.publicKey, anchorAddress: new Uint8Array(20).fill(1), commissionBps: 70_000, amount: 1n } }, /^tx\.body\(CreateValidator\)\.commissionBps 70000 is more than the largest uint16, 65535$/],
      [{ selector: TxSelector.Delegate, value: { validator: to, amount: big } }, /^tx\.body\(Delegate\)\.amount /],
      [{ selector: TxSelector.Undelegate, value: { validator: to, shares: big } } as TransactionT["body"], /^tx\.body\(Undelegate\)\.shares 18446744073709551616 is more than the largest uint64/],
      [{ selector: TxSelector.CreateJob, value: { spec, reward: big, workerBond: 1n } }, /^tx\.body\(CreateJob\)\.reward /],
      [{ selector: TxSelector.CreateJob, value: { spec, reward: 1n, workerBond: big } }, /^tx\.body\(CreateJob\)\.workerBond /],
      [{ selector: TxSelector.CreateJob, value: { spec: { ...spec, steps: 2 ** 32 }, reward: 1n, workerBond: 1n } }, /^tx\.body\(CreateJob\)\.spec\.steps 4294967296 is more than the largest uint32/],
      [{ selector: TxSelector.CreateJob, value: { spec: { ...spec, layers: [4, -2] }, reward: 1n, workerBond: 1n } }, /^tx\.body\(CreateJob\)\.spec\.layers\[1\] -2 is negative$/],
      [{ selector: TxSelector.Withdraw, value: { domain: new Uint8Array(32), recipient: new Uint8Array(32), amount: big } }, /^tx\.body\(Withdraw\)\.amount /],
    ];
    for (const [body, message] of cases) expect((await refusal(body)).message).toMatch(message);
  });

  it("assertFits passes a transaction at the limits and refuses one unit more", () => {
    const tx: TransactionT = { chainId: utf8("pouw-test-1"), nonce: MAX_U64, maxFeePerGas: MAX_U64, maxPriorityFeePerGas: 0n, gasLimit: 21_000, body: transfer(MAX_U64), publicKey: key.publicKey };
    expect(() => assertFits(tx)).not.toThrow();
    expect(() => assertFits({ ...tx, body: transfer(MAX_U64 + 1n) })).toThrow(ClientError);
    expect(() => assertFits({ ...tx, gasLimit: 1.5 })).toThrow(/tx\.gasLimit 1\.5 is not a whole number/);
  });
});
