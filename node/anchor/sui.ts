/**
 * Sui transactions for the settlement package (DESIGN §9) with @mysten/sui:
 * publishing the Move package (its bytecode comes from
 * `sui move build --dump-bytecode-as-base64`), `anchor::create`,
 * `vault::create` and `anchor::submit_checkpoint`. Objects are passed as full
 * references, so with a full `GasConfig` nothing needs a node to build; with
 * only a sender (`SenderGas`) a client picks the gas price, budget and coins
 * when the transaction is built or executed.
 */
import { bcs } from "@mysten/sui/bcs";
import { Transaction } from "@mysten/sui/transactions";
import { hexToBytes, type Hex } from "viem";
import type { AnchorMember, Checkpoint, SignedCheckpoint } from "./checkpoint.ts";
import { hasQuorum } from "./checkpoint.ts";
import { AnchorError, AnchorErrorCode } from "./errors.ts";

/** Everything gas needs, so `tx.build()` works offline. */
export interface GasConfig {
  sender: string;
  gasPrice: bigint;
  gasBudget: bigint;
  /** Coins that pay for gas: full object references. */
  payment: { objectId: string; version: string | number; digest: string }[];
}

/** Only the sender (and optionally a fixed price or budget): the client resolves the rest at build time. */
export interface SenderGas {
  sender: string;
  gasPrice?: bigint;
  gasBudget?: bigint;
  payment?: undefined;
}

export type GasOptions = GasConfig | SenderGas;

function withGas(tx: Transaction, g: GasOptions | undefined): Transaction {
  if (!g) return tx;
  tx.setSender(g.sender);
  if (g.gasPrice !== undefined) tx.setGasPrice(g.gasPrice);
  if (g.gasBudget !== undefined) tx.setGasBudget(g.gasBudget);
  if (g.payment) tx.setGasPayment(g.payment);
  return tx;
}

/** A shared object as a transaction input: its id and the version it was shared at. */
export interface SharedRef {
  objectId: string;
  initialSharedVersion: string | number;
}

/**
 * How the published package may change. `immutable` (the default) hands the
 * UpgradeCap to `0x2::package::make_immutable` in the publish transaction
 * itself, so no key ever holds it and no upgrade can add a function that
 * drains the vault or rewrites the anchor's set; `upgradeable` sends the cap
 * to the deployer, who can then do exactly that.
 */
export type UpgradePolicy = "immutable" | "upgradeable";

/** The Move call that destroys an UpgradeCap, leaving its package immutable for good. */
export const MAKE_IMMUTABLE = "0x2::package::make_immutable";

/** Publishes the package; by default makes it immutable in the same transaction, else sends its UpgradeCap to the sender. */
export function publishTransaction(p: { modules: string[]; dependencies: string[] }, gas: GasOptions, policy: UpgradePolicy = "immutable"): Transaction {
  const tx = new Transaction();
  const cap = tx.publish({ modules: p.modules, dependencies: p.dependencies });
  if (policy === "immutable") tx.moveCall({ target: MAKE_IMMUTABLE, arguments: [cap] });
  else tx.transferObjects([cap], gas.sender);
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
    anchor: SharedRef;
    checkpoint: Checkpoint;
    validators: { address: Hex; power: bigint }[];
    signers: number[];
    signatures: Hex[];
  },
  gas?: GasOptions,
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

/**
 * submit_checkpoint's set, signers and signatures for a signed checkpoint:
 * the members as they are (ascending), the indices of those that signed and
 * their signatures in that order. Throws SUI_BAD_CHECKPOINT when the
 * signatures are not aligned with the members or carry no quorum (the
 * contract would abort with ENotEnoughPower after charging gas).
 */
export function suiSubmitArgs(c: SignedCheckpoint): { validators: AnchorMember[]; signers: number[]; signatures: Hex[] } {
  if (c.signatures.length !== c.members.length) {
    throw new AnchorError(AnchorErrorCode.SUI_BAD_CHECKPOINT, `epoch ${c.checkpoint.epoch}: ${c.signatures.length} signatures for ${c.members.length} members`);
  }
  if (!hasQuorum(c)) throw new AnchorError(AnchorErrorCode.SUI_BAD_CHECKPOINT, `epoch ${c.checkpoint.epoch}: the signatures present carry no 2/3 quorum of the set's power`);
  const signers: number[] = [];
  const signatures: Hex[] = [];
  c.signatures.forEach((s, i) => {
    if (s) {
      signers.push(i);
      signatures.push(s);
    }
  });
  return { validators: c.members, signers, signatures };
}

/** `anchor::create(chain_id, validators, powers)`: shares an Anchor for the chain starting from `members` (ascending). */
export function anchorCreateTransaction(p: { packageId: string; chainIdHash: Hex; members: AnchorMember[] }, gas?: GasOptions): Transaction {
  const tx = new Transaction();
  tx.moveCall({
    target: `${p.packageId}::anchor::create`,
    arguments: [
      tx.pure.vector("u8", [...hexToBytes(p.chainIdHash)]),
      tx.pure(bytesVec.serialize(p.members.map((m) => [...hexToBytes(m.address)]))),
      tx.pure.vector("u64", p.members.map((m) => m.power)),
    ],
  });
  return withGas(tx, gas);
}

/** `vault::create(&anchor)`: shares a Vault bound to the anchor. */
export function vaultCreateTransaction(p: { packageId: string; anchor: SharedRef }, gas?: GasOptions): Transaction {
  const tx = new Transaction();
  tx.moveCall({
    target: `${p.packageId}::vault::create`,
    arguments: [tx.sharedObjectRef({ objectId: p.anchor.objectId, initialSharedVersion: p.anchor.initialSharedVersion, mutable: false })],
  });
  return withGas(tx, gas);
}
