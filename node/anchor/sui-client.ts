/**
 * The Sui anchor as a relayer target (DESIGN §9): reads the shared Anchor
 * object and submits signed checkpoints to `anchor::submit_checkpoint`
 * through any @mysten/sui 2 client that has the Core API (`SuiGrpcClient`,
 * `SuiGraphQLClient`, `SuiJsonRpcClient`). The object is read as its BCS
 * content, which every transport returns alike. The client picks gas (price
 * from the system state, budget by simulating, coins of the sender), so a
 * checkpoint that would abort fails at simulation without spending gas.
 */
import { bcs } from "@mysten/sui/bcs";
import { SimulationError, type ClientWithCoreApi, type SuiClientTypes } from "@mysten/sui/client";
import type { Signer } from "@mysten/sui/cryptography";
import type { Transaction } from "@mysten/sui/transactions";
import { normalizeStructTag, normalizeSuiAddress, normalizeSuiObjectId } from "@mysten/sui/utils";
import { bytesToHex, type Hex } from "viem";
import type { AnchorTarget, SignedCheckpoint } from "./checkpoint.ts";
import { AnchorError, AnchorErrorCode } from "./errors.ts";
import { submitCheckpointTransaction, suiSubmitArgs, type SharedRef } from "./sui.ts";

/** `anchor::Anchor`'s fields in declaration order (a UID is its 32-byte address; a Table is its UID and size). */
const AnchorBcs = bcs.struct("Anchor", {
  id: bcs.Address,
  chain_id: bcs.byteVector(),
  set_hash: bcs.byteVector(),
  last_epoch: bcs.u64(),
  epochs: bcs.struct("Table", { id: bcs.Address, size: bcs.u64() }),
});

/** The Anchor object as read from a node. */
export interface AnchorObject {
  objectId: string;
  version: string;
  initialSharedVersion: string;
  type: string;
  /** keccak256 of the chain-id string. */
  chainId: Hex;
  /** The hash of the set that must sign the next checkpoint. */
  setHash: Hex;
  /** The last epoch anchored (0 before the first). */
  lastEpoch: bigint;
  /** The table of anchored epochs' roots, and how many it holds. */
  epochsTableId: string;
  anchoredEpochs: bigint;
}

/** What `client.core.getObject({ include: { content: true } })` returns that the parser reads. */
export type AnchorObjectRead = Pick<SuiClientTypes.Object<{ content: true }>, "objectId" | "version" | "owner" | "type" | "content">;

/** Decodes an object read as the package's shared Anchor; throws SUI_BAD_OBJECT when it is anything else. */
export function parseAnchorObject(o: AnchorObjectRead): AnchorObject {
  const bad = (why: string) => new AnchorError(AnchorErrorCode.SUI_BAD_OBJECT, `object ${o.objectId} is not a pouw Anchor: ${why}`, { objectId: o.objectId, type: o.type });
  if (!/::anchor::Anchor$/.test(o.type)) throw bad(`its type is ${o.type}`);
  if (o.owner.$kind !== "Shared") throw bad(`it is not shared (owner ${o.owner.$kind})`);
  if (!(o.content instanceof Uint8Array)) throw bad("the read carries no content (ask for include: { content: true })");
  let f: ReturnType<typeof AnchorBcs.parse>;
  try {
    f = AnchorBcs.parse(o.content);
  } catch (e) {
    throw bad(`its content does not decode (${(e as Error).message})`);
  }
  if (AnchorBcs.serialize(f).toBytes().length !== o.content.length) throw bad(`its content has ${o.content.length} bytes, more than the Anchor's fields`);
  if (normalizeSuiObjectId(f.id) !== normalizeSuiObjectId(o.objectId)) throw bad(`its content belongs to object ${f.id}`);
  if (f.chain_id.length !== 32 || f.set_hash.length !== 32) throw bad("chain_id and set_hash must be 32 bytes");
  return {
    objectId: normalizeSuiObjectId(o.objectId),
    version: o.version,
    // JSON-RPC gives the version as a number, gRPC as a string.
    initialSharedVersion: String(o.owner.Shared.initialSharedVersion),
    type: o.type,
    chainId: bytesToHex(f.chain_id),
    setHash: bytesToHex(f.set_hash),
    lastEpoch: BigInt(f.last_epoch),
    epochsTableId: f.epochs.id,
    anchoredEpochs: BigInt(f.epochs.size),
  };
}

/** The abort constants of contracts/move/sources (the test checks them against the source). */
export const MOVE_ABORTS: Record<string, Record<number, string>> = {
  anchor: { 1: "EWrongChain", 2: "EWrongEpoch", 3: "EWrongSet", 4: "ESetMismatch", 5: "ESignerOrder", 6: "EBadSignature", 7: "EHighS", 8: "ENotEnoughPower", 9: "EBadLength", 10: "EUnsortedSet", 11: "ETooManyValidators", 12: "EZeroPower" },
  vault_math: { 1: "ECheckpointTypehash", 2: "EAddressLength", 3: "ESetLength" },
  vault: { 1: "EWrongChain", 2: "EWrongDomain", 3: "ENotNative", 4: "ENotAnchored", 5: "ENoWithdrawals", 6: "EBadProof", 7: "EAlreadyPaid", 8: "EWrongAnchor", 9: "EInsufficientFunds" },
};

/** The Move abort in an execution error: from the parsed MoveAbort, or from the raw `MoveAbort(MoveLocation { … }, code)` text some nodes send. */
function moveAbortOf(err: SuiClientTypes.ExecutionError): { module?: string; fn?: string; code: number } | null {
  if (err.$kind === "MoveAbort") return { module: err.MoveAbort.location?.module, fn: err.MoveAbort.location?.functionName, code: Number(err.MoveAbort.abortCode) };
  const m = /MoveAbort\(MoveLocation \{ module: ModuleId \{[^}]*name: Identifier\("(\w+)"\) \}.*?function_name: Some\("(\w+)"\) \}, (\d+)\)/.exec(err.message);
  return m ? { module: m[1], fn: m[2], code: Number(m[3]) } : null;
}

/** SUI_FAILED for a failed simulation or execution, naming the Move abort (`anchor::submit_checkpoint aborted 2 EWrongEpoch`). */
export function suiFailure(what: string, err: SuiClientTypes.ExecutionError | undefined, digest?: string, cause?: unknown): AnchorError {
  const abort = err ? moveAbortOf(err) : null;
  const errorName = abort?.module ? MOVE_ABORTS[abort.module]?.[abort.code] : undefined;
  const where = abort ? `${abort.module ?? "?"}::${abort.fn ?? "?"} aborted with ${abort.code}${errorName ? ` (${errorName})` : ""}` : (err?.message ?? "unknown error");
  const message = `${what} failed${digest ? ` in ${digest}` : " in simulation"}: ${where}${abort && err ? ` [${err.message}]` : ""}`;
  return new AnchorError(AnchorErrorCode.SUI_FAILED, message, { digest, abortCode: abort?.code, module: abort?.module, function: abort?.fn, errorName }, { cause });
}

/**
 * Signs and executes `tx`, throws SUI_FAILED when its simulation (gas
 * estimation) or its execution fails and SUI_RPC when the node cannot be
 * reached or refuses it, then waits until the node indexes it (so reads and
 * coin selection afterwards see its effects). Returns the executed transaction.
 */
export async function executeOrThrow<Include extends SuiClientTypes.TransactionInclude = {}>(
  client: ClientWithCoreApi,
  signer: Signer,
  tx: Transaction,
  what: string,
  opts: { include?: Include; timeoutMs?: number } = {},
): Promise<SuiClientTypes.Transaction<Include>> {
  let result: SuiClientTypes.TransactionResult<Include>;
  try {
    result = await client.core.signAndExecuteTransaction({ transaction: tx, signer, include: opts.include });
  } catch (e) {
    if (e instanceof SimulationError) throw suiFailure(what, e.executionError, undefined, e);
    throw new AnchorError(AnchorErrorCode.SUI_RPC, `${what}: ${(e as Error).message ?? String(e)}`, {}, { cause: e });
  }
  if (result.$kind === "FailedTransaction") throw suiFailure(what, result.FailedTransaction.status.error ?? undefined, result.FailedTransaction.digest);
  try {
    await client.core.waitForTransaction({ result, timeout: opts.timeoutMs ?? 60_000 });
  } catch (e) {
    throw new AnchorError(AnchorErrorCode.SUI_RPC, `${what}: executed as ${result.Transaction.digest} but not seen by the node within the timeout`, { digest: result.Transaction.digest }, { cause: e });
  }
  return result.Transaction;
}

export interface SuiAnchorOptions {
  client: ClientWithCoreApi;
  /** Pays for and signs the submissions (any account: the contract checks the validators' signatures, not the sender). */
  signer: Signer;
  /** The package to call (after an upgrade, the latest one). */
  packageId: string;
  /** The shared Anchor; its initial shared version is read once from the object when not given. */
  anchor: { objectId: string; initialSharedVersion?: string | number };
  /** For logs; default `sui:<network>`. */
  name?: string;
  /** A fixed gas budget in MIST instead of the client's estimate by simulation. */
  gasBudget?: bigint;
  /** How long to wait for an executed submission to be indexed; default 60 s. */
  timeoutMs?: number;
}

export class SuiAnchor implements AnchorTarget {
  readonly name: string;
  readonly #o: SuiAnchorOptions;
  #ref: SharedRef | undefined;

  constructor(o: SuiAnchorOptions) {
    this.#o = o;
    this.name = o.name ?? `sui:${o.client.network}`;
    if (o.anchor.initialSharedVersion !== undefined) this.#ref = { objectId: o.anchor.objectId, initialSharedVersion: o.anchor.initialSharedVersion };
  }

  /** The Anchor object as the node has it now. */
  async read(): Promise<AnchorObject> {
    let object: AnchorObjectRead;
    try {
      ({ object } = await this.#o.client.core.getObject({ objectId: this.#o.anchor.objectId, include: { content: true } }));
    } catch (e) {
      throw new AnchorError(AnchorErrorCode.SUI_RPC, `${this.name}: cannot read the anchor ${this.#o.anchor.objectId}: ${(e as Error).message}`, {}, { cause: e });
    }
    const a = parseAnchorObject(object);
    this.#ref ??= { objectId: a.objectId, initialSharedVersion: a.initialSharedVersion };
    return a;
  }

  async lastEpoch(): Promise<bigint> {
    return (await this.read()).lastEpoch;
  }

  /** The submit_checkpoint transaction for `c` (sender set, gas left to the client), without executing it. */
  async buildSubmit(c: SignedCheckpoint): Promise<Transaction> {
    const args = suiSubmitArgs(c);
    const anchor = this.#ref ?? (await this.read(), this.#ref!);
    return submitCheckpointTransaction(
      { packageId: this.#o.packageId, anchor, checkpoint: c.checkpoint, ...args },
      { sender: this.#o.signer.toSuiAddress(), gasBudget: this.#o.gasBudget },
    );
  }

  async submit(c: SignedCheckpoint): Promise<string> {
    const tx = await this.buildSubmit(c);
    const done = await executeOrThrow(this.#o.client, this.#o.signer, tx, `${this.name} anchor::submit_checkpoint epoch ${c.checkpoint.epoch}`, { timeoutMs: this.#o.timeoutMs });
    return done.digest;
  }
}

/** The id of the package a publish created (its effects' PackageWrite). */
export function publishedPackageId(effects: SuiClientTypes.TransactionEffects): string {
  const p = effects.changedObjects.find((o) => o.outputState === "PackageWrite" && o.idOperation === "Created");
  if (!p) throw new AnchorError(AnchorErrorCode.SUI_DEPLOY, `transaction ${effects.transactionDigest} published no package`);
  return normalizeSuiObjectId(p.objectId);
}

/** The shared object of type `type` a transaction created: its id and initial shared version. */
export function createdShared(effects: SuiClientTypes.TransactionEffects, objectTypes: Record<string, string>, type: string): { objectId: string; initialSharedVersion: string } {
  const want = normalizeStructTag(type);
  const types = new Map(Object.entries(objectTypes).map(([id, t]) => [normalizeSuiAddress(id), normalizeStructTag(t)]));
  const found = effects.changedObjects.filter((o) => o.idOperation === "Created" && o.outputOwner?.$kind === "Shared" && types.get(normalizeSuiAddress(o.objectId)) === want);
  if (found.length !== 1) throw new AnchorError(AnchorErrorCode.SUI_DEPLOY, `transaction ${effects.transactionDigest} created ${found.length} shared ${type} objects, expected one`);
  const o = found[0]!;
  return { objectId: normalizeSuiObjectId(o.objectId), initialSharedVersion: o.outputOwner!.$kind === "Shared" ? String(o.outputOwner!.Shared.initialSharedVersion) : "" };
}
