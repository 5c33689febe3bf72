/**
 * The Sui side offline (no Sui node or CLI here): the submit_checkpoint
 * transaction for each vector epoch builds and signs with @mysten/sui, the
 * signature verifies, and decoding the bytes gives back the call and every
 * argument in the Move function's order; the publish transaction carries
 * exactly the modules and dependencies given and, by default, destroys the
 * UpgradeCap with 0x2::package::make_immutable (upgradeable: to the sender).
 */
import { vectorCheckpoint } from "../../helpers/checkpoint-vectors.ts";
import { readFileSync } from "node:fs";
import { bcs } from "@mysten/sui/bcs";
import { Ed25519Keypair } from "@mysten/sui/keypairs/ed25519";
import { Transaction } from "@mysten/sui/transactions";
import { bytesToHex, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { normalizeSuiAddress } from "@mysten/sui/utils";
import { publishTransaction, submitCheckpointTransaction, type GasConfig } from "../../../node/anchor/sui.ts";

const file = JSON.parse(readFileSync(new URL("../../vectors/checkpoint.json", import.meta.url), "utf8")) as {
  epochs: { checkpoint: Record<string, string>; validators: { address: string; power: string }[]; signatures: { signature: string }[] }[];
};
const keypair = Ed25519Keypair.deriveKeypairFromSeed("42".repeat(32));
const gas: GasConfig = { sender: keypair.toSuiAddress(), gasPrice: 1000n, gasBudget: 100_000_000n, payment: [{ objectId: `0x${"ee".repeat(32)}`, version: 7, digest: "11111111111111111111111111111111" }] };
const PACKAGE = `0x${"ab".repeat(32)}`;
const ANCHOR = { objectId: `0x${"cd".repeat(32)}`, initialSharedVersion: 5 };

type Pure = { Pure: { bytes: string } };
const pureBytes = (input: unknown) => Uint8Array.from(Buffer.from((input as Pure).Pure.bytes, "base64"));

describe("Sui transactions, built offline", () => {
  it("submit_checkpoint for each vector epoch builds, signs, verifies and decodes back to its arguments", async () => {
    for (const e of file.epochs) {
      const c = e.checkpoint;
      const checkpoint = vectorCheckpoint(c);
      const validators = e.validators.map((v) => ({ address: v.address as Hex, power: BigInt(v.power) }));
      const signers = [0, 1, 2];
      const signatures = signers.map((k) => e.signatures[k]!.signature as Hex);
      const tx = submitCheckpointTransaction({ packageId: PACKAGE, anchor: ANCHOR, checkpoint, validators, signers, signatures }, gas);
      const bytes = await tx.build();
      const { signature } = await keypair.signTransaction(bytes);
      expect(await keypair.getPublicKey().verifyTransaction(bytes, signature)).toBe(true);

      const data = Transaction.from(bytes).getData();
      expect(data.sender).toBe(gas.sender);
      const call = data.commands[0]!.MoveCall!;
      expect([call.package, call.module, call.function]).toEqual([PACKAGE, "anchor", "submit_checkpoint"]);
      const args = call.arguments.map((a) => data.inputs[(a as { Input: number }).Input]!);
      expect(args).toHaveLength(13);
      expect((args[0] as { Object: { SharedObject: { objectId: string; mutable: boolean } } }).Object.SharedObject).toMatchObject({ objectId: ANCHOR.objectId, mutable: true });
      const u8s = bcs.vector(bcs.u8());
      const b32 = (i: number) => bytesToHex(Uint8Array.from(u8s.parse(pureBytes(args[i]))));
      expect([b32(1), b32(4), b32(5), b32(6), b32(7), b32(8)]).toEqual([c.chainId, c.blockHash, c.stateRoot, c.withdrawalsRoot, c.validatorSetHash, c.nextValidatorSetHash]);
      expect([bcs.u64().parse(pureBytes(args[2])), bcs.u64().parse(pureBytes(args[3]))]).toEqual([c.epoch, c.height]);
      const vecs = bcs.vector(bcs.vector(bcs.u8()));
      expect(vecs.parse(pureBytes(args[9])).map((v) => bytesToHex(Uint8Array.from(v)))).toEqual(e.validators.map((v) => v.address.toLowerCase()));
      expect(bcs.vector(bcs.u64()).parse(pureBytes(args[10]))).toEqual(e.validators.map((v) => v.power));
      expect(bcs.vector(bcs.u64()).parse(pureBytes(args[11]))).toEqual(["0", "1", "2"]);
      expect(vecs.parse(pureBytes(args[12])).map((v) => bytesToHex(Uint8Array.from(v)))).toEqual(signatures);
    }
  });

  it("publish carries the given modules and dependencies and makes the package immutable in the same transaction", async () => {
    // Module bytes come from `sui move build --dump-bytecode-as-base64` where the Sui CLI exists; the builder does not read them.
    const modules = ["AQID", "BAUG"];
    const dependencies = ["0x1", "0x2"];
    const bytes = await publishTransaction({ modules, dependencies }, gas).build();
    const { signature } = await keypair.signTransaction(bytes);
    expect(await keypair.getPublicKey().verifyTransaction(bytes, signature)).toBe(true);
    const data = Transaction.from(bytes).getData();
    const publish = data.commands[0]!.Publish!;
    expect(publish.modules).toEqual(modules);
    expect(publish.dependencies.map((d) => BigInt(d))).toEqual([1n, 2n]);
    expect(data.commands).toHaveLength(2);
    const call = data.commands[1]!.MoveCall!;
    expect([normalizeSuiAddress(call.package), call.module, call.function]).toEqual([normalizeSuiAddress("0x2"), "package", "make_immutable"]);
    expect(call.arguments).toEqual([{ $kind: "Result", Result: 0 }]);
  });

  it("an upgradeable publish sends the UpgradeCap to the sender instead", async () => {
    const data = Transaction.from(await publishTransaction({ modules: ["AQID"], dependencies: ["0x1", "0x2"] }, gas, "upgradeable").build()).getData();
    expect(data.commands).toHaveLength(2);
    const t = data.commands[1]!.TransferObjects!;
    expect(t.objects).toEqual([{ $kind: "Result", Result: 0 }]);
    expect(bcs.Address.parse(Uint8Array.from(Buffer.from((data.inputs[(t.address as { Input: number }).Input] as Pure).Pure.bytes, "base64")))).toBe(gas.sender);
  });
});
