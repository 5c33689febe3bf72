/**
 * The settlement formats shared with the Solidity and Move contracts
 * (DESIGN §9): the checkpoint digest, the validator-set hash and the
 * withdrawal tree. The state transition computes the set hashes and the
 * withdrawals root of each epoch, the anchor part signs the digest, and the
 * contracts recompute all of it, so it uses keccak256 and ABI encoding
 * (viem), and OpenZeppelin's StandardMerkleTree for withdrawals;
 * test/vectors/checkpoint.json pins it.
 */
import { ByteVectorType, ContainerType } from "@chainsafe/ssz";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { UintNum64 } from "./primitives.ts";
import { bytesToHex, encodeAbiParameters, encodePacked, getAddress, keccak256, toBytes, type Hex } from "viem";

export const CHECKPOINT_TYPE =
  "PouwCheckpoint(bytes32 chainId,uint64 epoch,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,bytes32 validatorSetHash,bytes32 nextValidatorSetHash)";
export const CHECKPOINT_TYPEHASH = keccak256(toBytes(CHECKPOINT_TYPE));

export interface Checkpoint {
  /** keccak256 of the chain-id string (`chainIdHash`). */
  chainId: Hex;
  epoch: bigint;
  height: bigint;
  blockHash: Hex;
  stateRoot: Hex;
  withdrawalsRoot: Hex;
  validatorSetHash: Hex;
  nextValidatorSetHash: Hex;
}

export const ZERO32: Hex = `0x${"00".repeat(32)}`;

export function chainIdHash(chainId: string): Hex {
  return keccak256(toBytes(chainId));
}

/** keccak256(abi.encode(TYPEHASH, fields…)): what validators sign with their anchor keys. */
export function checkpointDigest(c: Checkpoint): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "uint64" },
        { type: "uint64" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
        { type: "bytes32" },
      ],
      [CHECKPOINT_TYPEHASH, c.chainId, c.epoch, c.height, c.blockHash, c.stateRoot, c.withdrawalsRoot, c.validatorSetHash, c.nextValidatorSetHash],
    ),
  );
}

export interface AnchorMember {
  /** The validator's anchor (EVM) address. */
  address: Hex;
  power: bigint;
}

/** Members by ascending address: the order contracts expect for the set and for signers. */
export function sortMembers(members: readonly AnchorMember[]): AnchorMember[] {
  return [...members].map((m) => ({ address: getAddress(m.address), power: m.power })).sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : BigInt(a.address) > BigInt(b.address) ? 1 : 0));
}

/**
 * The anchor set of a validator set (state's `validators`, genesis
 * validators): anchor addresses with consensus power, ascending. Every
 * validator has a nonzero anchor address of its own (genesis and
 * CreateValidator refuse others), so this is one member per validator.
 */
export function anchorMembersOf(validators: readonly { anchorAddress: Uint8Array; power: bigint }[]): AnchorMember[] {
  return sortMembers(validators.map((v) => ({ address: bytesToHex(v.anchorAddress), power: v.power })));
}

/** keccak256(abi.encodePacked(address[] ascending, uint256[] powers)); throws on a repeated address or zero power. */
export function validatorSetHash(members: readonly AnchorMember[]): Hex {
  const sorted = sortMembers(members);
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.power <= 0n) throw new RangeError(`validator ${sorted[i]!.address} has no power`);
    if (i > 0 && sorted[i]!.address === sorted[i - 1]!.address) throw new RangeError(`validator ${sorted[i]!.address} appears twice`);
  }
  return keccak256(encodePacked(["address[]", "uint256[]"], [sorted.map((m) => m.address), sorted.map((m) => m.power)]));
}

/** A withdrawal leaf (DESIGN §9): token zero is the chain's native coin; amounts in units (1 unit = 1 gwei / 1 MIST). */
export interface WithdrawalLeaf {
  chainId: Hex;
  epoch: bigint;
  index: bigint;
  domain: Hex;
  recipient: Hex;
  token: Hex;
  amount: bigint;
}

export const WITHDRAWAL_LEAF_TYPES = ["bytes32", "uint64", "uint64", "bytes32", "bytes32", "bytes32", "uint256"] as const;

type LeafTuple = [Hex, bigint, bigint, Hex, Hex, Hex, bigint];
const tuple = (w: WithdrawalLeaf): LeafTuple => [w.chainId, w.epoch, w.index, w.domain, w.recipient, w.token, w.amount];

/** An epoch's withdrawal tree; `root` is zero when there are none. */
export function withdrawalTree(leaves: readonly WithdrawalLeaf[]): { root: Hex; proof: (i: number) => Hex[]; leafHash: (i: number) => Hex } {
  if (leaves.length === 0) return { root: ZERO32, proof: () => [], leafHash: () => ZERO32 };
  const tree = StandardMerkleTree.of(leaves.map(tuple), [...WITHDRAWAL_LEAF_TYPES]);
  // StandardMerkleTree sorts leaves; find each by its position in `leaves`.
  const at = new Map<number, number>();
  for (const [treeIndex, value] of tree.entries()) at.set(Number((value as LeafTuple)[2]), treeIndex);
  const indexOf = (i: number) => {
    const t = at.get(Number(leaves[i]!.index));
    if (t === undefined) throw new RangeError(`no withdrawal ${i}`);
    return t;
  };
  return { root: tree.root as Hex, proof: (i) => tree.getProof(indexOf(i)) as Hex[], leafHash: (i) => tree.leafHash(tuple(leaves[i]!)) as Hex };
}

/** The leaf hash contracts compute: keccak256(bytes.concat(keccak256(abi.encode(fields…)))). */
export function withdrawalLeafHash(w: WithdrawalLeaf): Hex {
  return keccak256(keccak256(encodeAbiParameters(WITHDRAWAL_LEAF_TYPES.map((type) => ({ type })), tuple(w))));
}

/** The domain of an EVM vault: keccak256(abi.encode(evmChainId, vaultAddress)). */
export function evmDomain(evmChainId: bigint, vault: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "address" }], [evmChainId, vault]));
}

/** A validator's anchor signature over epoch `epoch`'s checkpoint digest, as gossiped (the signer is recovered from it). */
export const AnchorSignatureMessage = new ContainerType({ epoch: UintNum64, signature: new ByteVectorType(65) }, { typeName: "AnchorSignature" });
