/**
 * What is signed and hashed for a transaction (docs/transactions.md):
 *   signingMessage = utf8("pouw/tx/v1") ‖ hashTreeRoot(Transaction)      (42 bytes)
 *   signature      = ML-DSA-44.Sign(seed, signingMessage)  (pure, empty context)
 *   txHash         = hashTreeRoot(SignedTransaction) = sha256(root(tx) ‖ root(signature))
 */
import type { AccountKey } from "../crypto/keys.ts";
import { sha256 } from "../crypto/hash.ts";
import { concatBytes, utf8 } from "../util/hex.ts";
import { keyInfo, transactionRoot } from "./keycache.ts";
import { explainSsz } from "./sszexplain.ts";
import { Signature } from "./primitives.ts";
import { SignedTransaction, Transaction, TX_TYPES, type SignedTransactionT, type TransactionT, type TxTypeName } from "./transaction.ts";

export const TX_DOMAIN = utf8("pouw/tx/v1");

export function txSigningMessage(txRoot: Uint8Array): Uint8Array {
  return concatBytes(TX_DOMAIN, txRoot);
}

export function signTransaction(tx: TransactionT, key: AccountKey, opts?: { deterministic?: boolean }): SignedTransactionT {
  const root = Transaction.hashTreeRoot(tx);
  return { tx, signature: key.sign(txSigningMessage(root), opts) };
}

/**
 * A decoded transaction with everything derived from it computed once:
 * roots, hash, sender, size. Every part passes this around instead of
 * re-hashing (SSZ roots are the expensive part of handling a transaction).
 */
export interface TxEnvelope {
  readonly signed: SignedTransactionT;
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly hashHex: string;
  readonly signingMessage: Uint8Array;
  readonly sender: Uint8Array;
  readonly senderHex: string;
  readonly type: TxTypeName;
}

function toHexPlain(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function envelopeFromSigned(signed: SignedTransactionT, bytes?: Uint8Array): TxEnvelope {
  const key = keyInfo(signed.tx.publicKey);
  const txRoot = transactionRoot(signed.tx, key.root);
  const sigRoot = Signature.hashTreeRoot(signed.signature);
  const hash = sha256(txRoot, sigRoot);
  const sender = key.address;
  const type = TX_TYPES[signed.tx.body.selector];
  if (type === undefined) throw new TypeError(`unknown body selector ${signed.tx.body.selector}`);
  return {
    signed,
    bytes: bytes ?? SignedTransaction.serialize(signed),
    hash,
    hashHex: "0x" + toHexPlain(hash),
    signingMessage: txSigningMessage(txRoot),
    sender,
    senderHex: toHexPlain(sender),
    type,
  };
}

/** The sizes a well-formed signed transaction can have: a body-less Unjail … a ChallengeProof with full branches. */
export const MIN_SIGNED_TX_BYTES = SignedTransaction.minSize;
export const MAX_SIGNED_TX_BYTES = SignedTransaction.maxSize;

/**
 * Why bytes are not a transaction, in the schema's terms: `field` is the
 * dotted path at fault (`tx.body.amount`; `transaction` for the whole),
 * `reason` names it with its size and the limit, never the decoder's text.
 * A `TypeError`, so callers that only need "malformed" can keep catching that.
 */
export class TxDecodeError extends TypeError {
  readonly code = "MALFORMED_TX";
  readonly field: string;
  readonly reason: string;
  readonly size: number;

  constructor(field: string, reason: string, size: number) {
    super(`malformed transaction: ${reason}`);
    this.name = "TxDecodeError";
    this.field = field;
    this.reason = reason;
    this.size = size;
  }
}

/**
 * A transaction decoded but not yet hashed: what admission checks on arrival,
 * before the signature workers compute its roots and hash and verify it
 * (`envelopeOf` completes it with what they return).
 */
export type DecodedTx = Omit<TxEnvelope, "hash" | "hashHex" | "signingMessage">;

/** The roots and hash a decoded transaction lacks: its Transaction root and its hash. */
export function txDigests(signed: SignedTransactionT): { txRoot: Uint8Array; hash: Uint8Array } {
  const txRoot = transactionRoot(signed.tx, keyInfo(signed.tx.publicKey).root);
  return { txRoot, hash: sha256(txRoot, Signature.hashTreeRoot(signed.signature)) };
}

/** A decoded transaction completed with its Transaction root and hash (as `txDigests` gives them). */
export function envelopeOf(d: DecodedTx, hash: Uint8Array, txRoot: Uint8Array): TxEnvelope {
  return { ...d, hash, hashHex: "0x" + toHexPlain(hash), signingMessage: txSigningMessage(txRoot) };
}

/** Decodes SSZ bytes; throws `TxDecodeError` (a `TypeError`) naming the field at fault on malformed input. */
export function decodeTransaction(bytes: Uint8Array): TxEnvelope {
  const d = decodeUnhashed(bytes);
  const { hash, txRoot } = txDigests(d.signed);
  return envelopeOf(d, hash, txRoot);
}

/** `decodeTransaction` without the roots and hash (the admission path leaves those to the signature workers). */
export function decodeUnhashed(bytes: Uint8Array): DecodedTx {
  const n = bytes.length;
  if (n < MIN_SIGNED_TX_BYTES) throw new TxDecodeError("transaction", `transaction is ${n} bytes; a signed transaction is at least ${MIN_SIGNED_TX_BYTES} bytes`, n);
  if (n > MAX_SIGNED_TX_BYTES) {
    throw new TxDecodeError("transaction", `transaction is ${n} bytes; the largest well-formed signed transaction (a ChallengeProof with full branches) is ${MAX_SIGNED_TX_BYTES} bytes`, n);
  }
  let signed: SignedTransactionT;
  try {
    // reuseBytes: the public key and signature are views into `bytes`, which the envelope keeps anyway (no copy).
    signed = SignedTransaction.deserialize(bytes, { reuseBytes: true });
  } catch {
    const p = explainSsz(SignedTransaction, bytes, "transaction") ?? { field: "transaction", reason: "transaction does not decode as an SSZ SignedTransaction (docs/transactions.md §2)" };
    throw new TxDecodeError(p.field, p.reason, n);
  }
  const type = TX_TYPES[signed.tx.body.selector];
  if (type === undefined) throw new TxDecodeError("tx.body", `unknown body selector ${signed.tx.body.selector}`, n);
  const sender = keyInfo(signed.tx.publicKey).address;
  return { signed, bytes, sender, senderHex: toHexPlain(sender), type };
}

export function senderOf(tx: TransactionT): Uint8Array {
  return keyInfo(tx.publicKey).address;
}
