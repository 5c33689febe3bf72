/** Blocks, votes, commits and receipts (DESIGN §6, §7) as SSZ schemas. */
import { ByteListType, ContainerType, ListCompositeType, type ValueOf } from "@chainsafe/ssz";
import { Address, Amount, Bool, Bytes32, ChainId, Signature, Uint32, Uint8, UintNum64 } from "./primitives.ts";
import { SignedTransaction } from "./transaction.ts";
import { concatBytes } from "../util/hex.ts";

export const MAX_BLOCK_TXS = 1 << 16;
export const MAX_VALIDATORS = 1 << 10;
export const MAX_EVIDENCE = 64;
export const MAX_ATTESTATIONS = 1 << 12;

export const BlockHeader = new ContainerType(
  {
    chainId: ChainId,
    height: UintNum64,
    /** Milliseconds since the Unix epoch, strictly increasing. */
    time: UintNum64,
    lastBlockHash: Bytes32,
    lastCommitHash: Bytes32,
    txRoot: Bytes32,
    attestationRoot: Bytes32,
    evidenceRoot: Bytes32,
    /** State root after executing this block. */
    stateRoot: Bytes32,
    validatorsHash: Bytes32,
    nextValidatorsHash: Bytes32,
    proposer: Address,
    baseFeePerGas: Amount,
    gasUsed: UintNum64,
  },
  { typeName: "BlockHeader" },
);

export const VoteType = { Prevote: 1, Precommit: 2, Proposal: 32 } as const;

/** What a validator signs for a vote; `blockHash` all-zero means nil. */
export const CanonicalVote = new ContainerType(
  { chainId: ChainId, type: Uint8, height: UintNum64, round: Uint32, blockHash: Bytes32 },
  { typeName: "CanonicalVote" },
);

/** What a proposer signs: `polRound` is the proof-of-lock round + 1 (0 = none). */
export const CanonicalProposal = new ContainerType(
  { chainId: ChainId, type: Uint8, height: UintNum64, round: Uint32, polRound: Uint32, blockHash: Bytes32 },
  { typeName: "CanonicalProposal" },
);

export const Vote = new ContainerType(
  { type: Uint8, height: UintNum64, round: Uint32, blockHash: Bytes32, validator: Address, signature: Signature },
  { typeName: "Vote" },
);

export const CommitSig = new ContainerType({ validator: Address, signature: Signature }, { typeName: "CommitSig" });

/** > 2/3 of the set's precommits for `blockHash` at (height, round). */
export const Commit = new ContainerType(
  { height: UintNum64, round: Uint32, blockHash: Bytes32, signatures: new ListCompositeType(CommitSig, MAX_VALIDATORS) },
  { typeName: "Commit" },
);

export const DuplicateVoteEvidence = new ContainerType({ voteA: Vote, voteB: Vote }, { typeName: "DuplicateVoteEvidence" });
export type DuplicateVoteEvidenceT = ValueOf<typeof DuplicateVoteEvidence>;

export const WorkAttestation = new ContainerType(
  { proofId: Bytes32, valid: Bool, validator: Address, signature: Signature },
  { typeName: "WorkAttestation" },
);

export const BlockBody = new ContainerType(
  {
    txs: new ListCompositeType(SignedTransaction, MAX_BLOCK_TXS),
    attestations: new ListCompositeType(WorkAttestation, MAX_ATTESTATIONS),
    evidence: new ListCompositeType(DuplicateVoteEvidence, MAX_EVIDENCE),
    lastCommit: Commit,
  },
  { typeName: "BlockBody" },
);

export const Block = new ContainerType({ header: BlockHeader, body: BlockBody }, { typeName: "Block" });

/**
 * A proposal on the wire: the block and the proposer's signature over its
 * CanonicalProposal (height and proposer come from the header).
 */
export const ProposalMessage = new ContainerType(
  { round: Uint32, polRound: Uint32, block: Block, signature: Signature },
  { typeName: "ProposalMessage" },
);
export type ProposalMessageT = ValueOf<typeof ProposalMessage>;

/** The list of transaction hashes whose root is `header.txRoot`. */
export const TxHashList = new ListCompositeType(Bytes32, MAX_BLOCK_TXS);
export const AttestationRootList = new ListCompositeType(WorkAttestation, MAX_ATTESTATIONS);
export const EvidenceRootList = new ListCompositeType(DuplicateVoteEvidence, MAX_EVIDENCE);

export const ReceiptStatus = { Success: 0, Failed: 1 } as const;

export const Receipt = new ContainerType(
  {
    txHash: Bytes32,
    status: Uint8,
    gasUsed: UintNum64,
    /** Fee paid: base fee part (burned) plus tip (to the proposer). */
    feeBurned: Amount,
    tip: Amount,
    /** Error code of a failed execution, UTF-8, empty on success. */
    error: new ByteListType(64),
  },
  { typeName: "Receipt" },
);
export const BlockReceipts = new ListCompositeType(Receipt, MAX_BLOCK_TXS);

export type BlockHeaderT = ValueOf<typeof BlockHeader>;
export type BlockT = ValueOf<typeof Block>;
export type CommitT = ValueOf<typeof Commit>;
export type VoteT = ValueOf<typeof Vote>;
export type ReceiptT = ValueOf<typeof Receipt>;
export type WorkAttestationT = ValueOf<typeof WorkAttestation>;

/**
 * `Block.serialize(block)` without re-serializing the transactions: their
 * encoded bytes (already at hand in every envelope) are spliced into the
 * encoding of the block with an empty transaction list. SSZ puts a list of
 * variable-size items as 4-byte offsets followed by the items, and `txs` is the
 * first variable field of the body (the last field of the block), so only the
 * body's three later offsets move. Byte-identical to `Block.serialize`
 * (test/unit/types/block-encoding.test.ts).
 */
const BODY_FIXED_BYTES = (() => {
  // The splice below relies on every body field being variable-size (an offset in the fixed part).
  for (const [name, t] of Object.entries(BlockBody.fields)) if (t.fixedSize !== null) throw new Error(`BlockBody.${name} is fixed-size: update encodeBlock`);
  return 4 * Object.keys(BlockBody.fields).length;
})();

export function encodeBlock(block: BlockT, txBytes: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...encodeBlockParts(block, txBytes));
}

/** Where a ProposalMessage's block starts: round, polRound, the block's offset and the signature come first. */
const PROPOSAL_FIXED_BYTES = 4 + 4 + 4 + Signature.lengthBytes;

/**
 * A ProposalMessage encoded from the block's parts (`encodeBlockParts`):
 * byte-identical to `ProposalMessage.serialize`, without re-serializing
 * every transaction.
 */
export function encodeProposalMessage(round: number, polRound: number, block: BlockT, txBytes: readonly Uint8Array[], signature: Uint8Array): Uint8Array {
  if (signature.length !== Signature.lengthBytes) throw new RangeError(`proposal signature is ${signature.length} bytes, not ${Signature.lengthBytes}`);
  const fixed = new Uint8Array(PROPOSAL_FIXED_BYTES);
  const dv = new DataView(fixed.buffer);
  dv.setUint32(0, round, true);
  dv.setUint32(4, polRound, true);
  dv.setUint32(8, PROPOSAL_FIXED_BYTES, true);
  fixed.set(signature, 12);
  return concatBytes(fixed, ...encodeBlockParts(block, txBytes));
}

/** The encoded block inside an encoded ProposalMessage (which decoded), as a view. */
export function proposalBlockBytes(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true));
}

/**
 * The encoded transactions inside an encoded block, as views (no copy): the
 * inverse of `encodeBlockParts`, so decoding a received block need not
 * re-serialize every transaction to get its bytes.
 */
export function blockTxBytes(blockBytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(blockBytes.buffer, blockBytes.byteOffset, blockBytes.byteLength);
  const bodyStart = dv.getUint32(BLOCK_BODY_OFFSET_AT, true);
  const txsStart = bodyStart + dv.getUint32(bodyStart, true);
  const txsEnd = bodyStart + dv.getUint32(bodyStart + 4, true);
  if (txsStart === txsEnd) return [];
  const first = dv.getUint32(txsStart, true);
  const n = first / 4;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const a = txsStart + dv.getUint32(txsStart + 4 * i, true);
    const b = i + 1 < n ? txsStart + dv.getUint32(txsStart + 4 * (i + 1), true) : txsEnd;
    out.push(blockBytes.subarray(a, b));
  }
  return out;
}

/** The encoded lastCommit inside an encoded block, as a view (it is the body's last field). */
export function blockLastCommitBytes(blockBytes: Uint8Array): Uint8Array {
  const dv = new DataView(blockBytes.buffer, blockBytes.byteOffset, blockBytes.byteLength);
  const bodyStart = dv.getUint32(BLOCK_BODY_OFFSET_AT, true);
  return blockBytes.subarray(bodyStart + dv.getUint32(bodyStart + LAST_COMMIT_OFFSET_AT, true));
}

/** Where, in the body's fixed part, the lastCommit offset sits (the last field). */
const LAST_COMMIT_OFFSET_AT = (() => {
  const names = Object.keys(BlockBody.fields);
  if (names[names.length - 1] !== "lastCommit") throw new Error("BlockBody.lastCommit is not the last field: update blockLastCommitBytes");
  return 4 * (names.length - 1);
})();

/** Where the block's body offset sits: after the header's offset (both Block fields are variable-size). */
const BLOCK_BODY_OFFSET_AT = (() => {
  for (const [name, t] of Object.entries(Block.fields)) if (t.fixedSize !== null) throw new Error(`Block.${name} is fixed-size: update blockTxBytes`);
  return 4;
})();

/** `encodeBlock` as a list of parts to be written one after the other (no copy of the transactions). */
export function encodeBlockParts(block: BlockT, txBytes: readonly Uint8Array[]): Uint8Array[] {
  if (txBytes.length !== block.body.txs.length) throw new RangeError(`encodeBlock: ${txBytes.length} encodings for ${block.body.txs.length} transactions`);
  const emptyBody = { ...block.body, txs: [] };
  const empty = Block.serialize({ header: block.header, body: emptyBody });
  const bodyStart = empty.length - BlockBody.serialize(emptyBody).length;
  const txsAt = bodyStart + BODY_FIXED_BYTES;
  const offsets = new Uint8Array(4 * txBytes.length);
  const odv = new DataView(offsets.buffer);
  let off = offsets.length;
  for (let i = 0; i < txBytes.length; i++) {
    odv.setUint32(4 * i, off, true);
    off += txBytes[i]!.length;
  }
  const sectionLen = off;
  const head = empty.slice(0, txsAt);
  const hdv = new DataView(head.buffer);
  for (let f = 1; f < BODY_FIXED_BYTES / 4; f++) {
    const at = bodyStart + 4 * f;
    hdv.setUint32(at, hdv.getUint32(at, true) + sectionLen, true);
  }
  return [head, offsets, ...txBytes, empty.subarray(txsAt)];
}
