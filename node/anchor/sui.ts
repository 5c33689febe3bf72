/**
 * Sui transactions for the settlement package (DESIGN §9), built offline
 * with @mysten/sui: publishing the Move package (its bytecode comes from
 * `sui move build --dump-bytecode-as-base64`) and `anchor::submit_checkpoint`.
 * Objects are passed as full references, so nothing needs a node to build.
 */
import { bcs } from "@mysten/sui/bcs";
import { Transaction } from "@mysten/sui/transactions";
import { hexToBytes, type Hex } from "viem";
import type { Checkpoint } from "./checkpoint.ts";

export interface GasConfig {
  sender: string;
  gasPrice: bigint;
  gasBudget: bigint;
  /** Coins that pay for gas: full object references. */
  payment: { objectId: string; version: string | number; digest: string }[];
}

function withGas(tx: Transaction, g: GasConfig): Transaction {
  tx.setSender(g.sender);
  tx.setGasPrice(g.gasPrice);
  tx.setGasBudget(g.gasBudget);
  tx.setGasPayment(g.payment);
  return tx;
}

/** Publishes the package and sends its UpgradeCap to the sender. */
export function publishTransaction(p: { modules: string[]; dependencies: string[] }, gas: GasConfig): Transaction {
  const tx = new Transaction();
  const cap = tx.publish({ modules: p.modules, dependencies: p.dependencies });
  tx.transferObjects([cap], gas.sender);
  return withGas(tx, gas);
}

const bytesVec = bcs.vector(bcs.vector(bcs.u8()));

/**
 * `anchor::submit_checkpoint` on the shared anchor object: `signers` are
 * indices into the (ascending) validator list, `signatures` their 65-byte
 * signatures in the same order.
 */
export function submitCheckpointTransaction(
  p: {
    packageId: string;
    anchor: { objectId: string; initialSharedVersion: string | number };
    checkpoint: Checkpoint;
    validators: { address: Hex; power: bigint }[];
    signers: number[];
    signatures: Hex[];
  },
  gas: GasConfig,
): Transaction {
  const tx = new Transaction();
  const c = p.checkpoint;
  const b32 = (h: Hex) => tx.pure.vector("u8", [...hexToBytes(h)]);
  tx.moveCall({
    target: `${p.packageId}::anchor::submit_checkpoint`,
    arguments: [
      tx.sharedObjectRef({ objectId: p.anchor.objectId, initialSharedVersion: p.anchor.initialSharedVersion, mutable: true }),
      b32(c.chainId),
      tx.pure.u64(c.epoch),
      tx.pure.u64(c.height),
      b32(c.blockHash),
      b32(c.stateRoot),
      b32(c.withdrawalsRoot),
      b32(c.validatorSetHash),
      b32(c.nextValidatorSetHash),
      tx.pure(bytesVec.serialize(p.validators.map((v) => [...hexToBytes(v.address)]))),
      tx.pure.vector("u64", p.validators.map((v) => v.power)),
      tx.pure.vector("u64", p.signers.map(BigInt)),
      tx.pure(bytesVec.serialize(p.signatures.map((s) => [...hexToBytes(s)]))),
    ],
  });
  return withGas(tx, gas);
}
