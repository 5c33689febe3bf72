/**
 * Settlement formats (DESIGN §9) against test/vectors/checkpoint.json and
 * against independent byte-level recomputation (keccak from @noble/hashes,
 * 32-byte words laid out by hand): the digest, the validator-set hash,
 * anchor signatures (low-s only, EIP-2098 form), withdrawal leaves and
 * OpenZeppelin Merkle proofs.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { readFileSync } from "node:fs";
import { hexToBytes, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import {
  checkpointDigest,
  recoverSigner,
  signDigest,
  toCompact,
  validatorSetHash,
  withdrawalLeafHash,
  withdrawalTree,
  type WithdrawalLeaf,
} from "../../../node/anchor/checkpoint.ts";
import { anchorKey, buildCheckpointVectors } from "../../helpers/checkpoint-vectors.ts";

type Vectors = Awaited<ReturnType<typeof buildCheckpointVectors>>;
const file = JSON.parse(readFileSync(new URL("../../vectors/checkpoint.json", import.meta.url), "utf8")) as Vectors;

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString("hex")}`;
const keccak = (...parts: Uint8Array[]) => keccak_256(Buffer.concat(parts));
const word = (n: bigint) => hexToBytes(`0x${n.toString(16).padStart(64, "0")}`);
const w32 = (h: Hex) => hexToBytes(h);
const addrWord = (a: Hex) => hexToBytes(`0x${"00".repeat(12)}${a.slice(2)}`);

describe("checkpoint vectors", () => {
  it("the TypeScript code regenerates the vector file exactly", async () => {
    expect(JSON.parse(JSON.stringify(await buildCheckpointVectors()))).toEqual(file);
  });

  it("digests equal keccak256 of the typehash and the eight fields as 32-byte words", () => {
    const typehash = keccak(Buffer.from("PouwCheckpoint(bytes32 chainId,uint64 epoch,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,bytes32 validatorSetHash,bytes32 nextValidatorSetHash)"));
    expect(hex(typehash)).toBe(file.checkpointTypehash);
    expect(hex(keccak(Buffer.from("pouw-devnet-1")))).toBe(file.chainId);
    for (const e of file.epochs) {
      const c = e.checkpoint;
      const manual = keccak(typehash, w32(c.chainId), word(BigInt(c.epoch)), word(BigInt(c.height)), w32(c.blockHash), w32(c.stateRoot), w32(c.withdrawalsRoot), w32(c.validatorSetHash), w32(c.nextValidatorSetHash));
      expect(hex(manual)).toBe(e.digest);
      expect(checkpointDigest({ ...c, epoch: BigInt(c.epoch), height: BigInt(c.height) })).toBe(e.digest);
    }
  });

  it("validator-set hashes are keccak256 of the ascending addresses then the powers, each a word", () => {
    for (const e of file.epochs) {
      const vs = e.validators.map((v) => ({ address: v.address as Hex, power: BigInt(v.power) }));
      const manual = keccak(...vs.map((v) => addrWord(v.address)), ...vs.map((v) => word(v.power)));
      expect(hex(manual)).toBe(e.checkpoint.validatorSetHash);
      expect(validatorSetHash([...vs].reverse())).toBe(e.checkpoint.validatorSetHash); // input order does not matter
    }
    // Epoch e's next set is epoch e+1's set (rotation through three epochs).
    for (let i = 0; i + 1 < file.epochs.length; i++) expect(file.epochs[i]!.checkpoint.nextValidatorSetHash).toBe(file.epochs[i + 1]!.checkpoint.validatorSetHash);
    const v = { address: file.epochs[0]!.validators[0]!.address as Hex, power: 1n };
    expect(() => validatorSetHash([v, v])).toThrow(/twice/);
    expect(() => validatorSetHash([{ ...v, power: 0n }])).toThrow(/no power/);
  });

  it("every signature recovers to its signer, in both forms; high-s and malformed ones are refused", async () => {
    for (const e of file.epochs) {
      for (const s of e.signatures) {
        expect(await recoverSigner(e.digest as Hex, s.signature as Hex)).toBe(s.signer);
        expect(toCompact(s.signature as Hex)).toBe(s.compact);
        expect(s.compact.length).toBe(2 + 128);
        // The malleable twin (n − s, v flipped) recovers the same key on ecrecover; we refuse it as contracts do.
        const r = s.signature.slice(2, 66);
        const sv = BigInt(`0x${s.signature.slice(66, 130)}`);
        const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
        const v = parseInt(s.signature.slice(130), 16);
        const high = `0x${r}${(n - sv).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
        expect(await recoverSigner(e.digest as Hex, high)).toBeNull();
      }
    }
    const d = file.epochs[0]!.digest as Hex;
    expect(await recoverSigner(d, "0x1234")).toBeNull();
    const good = await signDigest(d, anchorKey(0));
    expect(await recoverSigner(d, (good.slice(0, 130) + "1d") as Hex)).toBeNull(); // v = 29
  });

  it("withdrawal leaves and proofs: OpenZeppelin's double-hashed leaf and sorted-pair proofs reach the root; tampering does not", () => {
    for (const e of file.epochs) {
      if (e.withdrawals.length === 0) {
        expect(e.checkpoint.withdrawalsRoot).toBe(`0x${"00".repeat(32)}`);
        continue;
      }
      for (const w of e.withdrawals) {
        const leaf: WithdrawalLeaf = { ...(w.leaf as unknown as WithdrawalLeaf), epoch: BigInt(w.leaf.epoch), index: BigInt(w.leaf.index), amount: BigInt(w.leaf.amount) };
        const inner = keccak(w32(leaf.chainId), word(leaf.epoch), word(leaf.index), w32(leaf.domain), w32(leaf.recipient), w32(leaf.token), word(leaf.amount));
        expect(hex(keccak(inner))).toBe(w.leafHash);
        expect(withdrawalLeafHash(leaf)).toBe(w.leafHash);
        const climb = (start: Uint8Array, proof: string[]) =>
          proof.reduce((h, p) => {
            const q = w32(p as Hex);
            return Buffer.compare(Buffer.from(h), Buffer.from(q)) <= 0 ? keccak(h, q) : keccak(q, h);
          }, start);
        expect(hex(climb(hexToBytes(w.leafHash as Hex), w.proof))).toBe(e.checkpoint.withdrawalsRoot);
        const tampered = withdrawalLeafHash({ ...leaf, amount: leaf.amount + 1n });
        expect(hex(climb(hexToBytes(tampered), w.proof))).not.toBe(e.checkpoint.withdrawalsRoot);
      }
    }
    expect(withdrawalTree([]).root).toBe(`0x${"00".repeat(32)}`);
  });
});
