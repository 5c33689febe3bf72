/**
 * PouwAnchor and PouwVault (contracts/evm) on Hardhat's in-process EDR chain,
 * driven with viem: the shared vectors of test/vectors/checkpoint.json (digest
 * and signature compatibility, rotation over three epochs), and fresh
 * checkpoints signed with the vector anchor keys for the failure cases and for
 * withdrawals whose domain names the deployed vault.
 */
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { concat, encodeAbiParameters, encodePacked, getAddress, keccak256, pad, parseEventLogs, toFunctionSelector, type Abi, type Hex, type Log } from "viem";
import { describe, expect, it } from "vitest";
import { checkpointDigest, evmDomain, toCompact, withdrawalTree, ZERO32, type Checkpoint, type WithdrawalLeaf } from "../../node/anchor/checkpoint.ts";
import { vectorCheckpoint } from "../helpers/checkpoint-vectors.ts";
import { anchorSet, compactSignatures, overTwoThirds, setArgs, setHash, signCheckpoint, type KeyedMember } from "../helpers/anchor-sim.ts";

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [wallet] = await viem.getWalletClients();

/** The arguments of the first `name` event in `logs`. (Contract types come untyped: tsconfig does not read the build's artifacts.) */
function eventArgs(abi: Abi, logs: Log[], name: string): Record<string, unknown> {
  const ev = parseEventLogs({ abi, logs }).find((e) => e.eventName === name);
  if (!ev) throw new Error(`no ${name} event`);
  return ev.args as Record<string, unknown>;
}

/** PouwVault.fund: coin for withdrawals (nothing on the chain credits it). */
async function fund(vault: { address: Hex; abi: Abi }, value: bigint): Promise<Hex> {
  return wallet!.writeContract({ address: vault.address, abi: vault.abi, functionName: "fund", args: [], value });
}

interface VectorEpoch {
  checkpoint: Record<keyof Checkpoint, string>;
  digest: Hex;
  validators: { address: Hex; power: string }[];
  nextValidators: { address: Hex; power: string }[];
  signatures: { signer: Hex; signature: Hex; compact: Hex }[];
  withdrawals: { leaf: Record<keyof WithdrawalLeaf, string>; leafHash: Hex; proof: Hex[] }[];
}
const vectors = JSON.parse(readFileSync(new URL("../vectors/checkpoint.json", import.meta.url), "utf8")) as { chainId: Hex; checkpointTypehash: Hex; epochs: VectorEpoch[] };

const vectorSet = (e: VectorEpoch) => ({ validators: e.validators.map((v) => v.address), powers: e.validators.map((v) => BigInt(v.power)) });
const CHAIN = vectors.chainId;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Resolves when `p` reverts with custom error `name`. */
async function reverts(p: Promise<unknown>, name: string): Promise<void> {
  await expect(p).rejects.toThrow(new RegExp(`\\b${name}\\(`));
}

async function deployAnchor(set: { validators: Hex[]; powers: bigint[] }, chainId: Hex = CHAIN) {
  return viem.deployContract("PouwAnchor", [chainId, set.validators, set.powers]);
}
type Anchor = Awaited<ReturnType<typeof deployAnchor>>;

function checkpointFor(epoch: bigint, current: readonly KeyedMember[], next: readonly KeyedMember[], withdrawalsRoot: Hex = ZERO32): Checkpoint {
  return {
    chainId: CHAIN,
    epoch,
    height: 100n * epoch,
    blockHash: keccak256(concat(["0x01", pad(`0x${epoch.toString(16)}`)])),
    stateRoot: keccak256(concat(["0x02", pad(`0x${epoch.toString(16)}`)])),
    withdrawalsRoot,
    validatorSetHash: setHash(current),
    nextValidatorSetHash: setHash(next),
  };
}

async function submit(anchor: Anchor, c: Checkpoint, set: readonly KeyedMember[], positions: readonly number[]) {
  const { signatures, bitmap } = await signCheckpoint(c, set, positions);
  const { validators, powers } = setArgs(set);
  const hash = await anchor.write.submitCheckpoint([c, validators, powers, signatures, bitmap]);
  return publicClient.waitForTransactionReceipt({ hash });
}

describe("PouwAnchor against the shared vectors", () => {
  it("recomputes the vector digests and typehash", async () => {
    const anchor = await deployAnchor(vectorSet(vectors.epochs[0]!));
    expect(await anchor.read.CHECKPOINT_TYPEHASH()).toBe(vectors.checkpointTypehash);
    for (const e of vectors.epochs) expect(await anchor.read.checkpointDigest([vectorCheckpoint(e.checkpoint)])).toBe(e.digest);
  });

  it("accepts the three vector epochs signed by everyone, rotating the set each time", async () => {
    const anchor = await deployAnchor(vectorSet(vectors.epochs[0]!));
    expect(await anchor.read.validatorSetHash()).toBe(vectors.epochs[0]!.checkpoint.validatorSetHash);
    for (const e of vectors.epochs) {
      const c = vectorCheckpoint(e.checkpoint);
      const { validators, powers } = vectorSet(e);
      // The vector's compact form is the node's toCompact of its 65-byte signature.
      for (const s of e.signatures) expect(toCompact(s.signature)).toBe(s.compact);
      const hash = await anchor.write.submitCheckpoint([c, validators, powers, concat(e.signatures.map((s) => s.compact)), (1n << BigInt(validators.length)) - 1n]);
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      expect(eventArgs(anchor.abi, receipt.logs, "CheckpointAnchored")).toMatchObject({ epoch: c.epoch, height: c.height, withdrawalsRoot: c.withdrawalsRoot, validatorSetHash: c.validatorSetHash, nextValidatorSetHash: c.nextValidatorSetHash });
      expect(await anchor.read.lastEpoch()).toBe(c.epoch);
      expect(await anchor.read.validatorSetHash()).toBe(c.nextValidatorSetHash);
      expect(await anchor.read.roots([c.epoch])).toEqual([c.blockHash, c.stateRoot, c.withdrawalsRoot]);
    }
    // Epoch 2's set ({0,1,2,4}) differs from epoch 3's ({1,2,4,5}): the old set no longer signs.
    const last = vectors.epochs[2]!;
    expect(last.checkpoint.validatorSetHash).not.toBe(last.checkpoint.nextValidatorSetHash);
  });

  it("accepts epoch 1 with 3 of 4 equal signers (75% > 2/3)", async () => {
    const e = vectors.epochs[0]!;
    const anchor = await deployAnchor(vectorSet(e));
    const { validators, powers } = vectorSet(e);
    await anchor.write.submitCheckpoint([vectorCheckpoint(e.checkpoint), validators, powers, concat(e.signatures.slice(0, 3).map((s) => s.compact)), 0b0111n]);
    expect(await anchor.read.lastEpoch()).toBe(1n);
  });

  it("rejects epoch 2 of the vectors before epoch 1, and epoch 1 twice", async () => {
    const [e1, e2] = vectors.epochs as [VectorEpoch, VectorEpoch];
    const anchor = await deployAnchor(vectorSet(e1));
    const all = (e: VectorEpoch) => concat(e.signatures.map((s) => s.compact));
    await reverts(anchor.write.submitCheckpoint([vectorCheckpoint(e2.checkpoint), vectorSet(e2).validators, vectorSet(e2).powers, all(e2), 0b1111n]), "WrongEpoch");
    await anchor.write.submitCheckpoint([vectorCheckpoint(e1.checkpoint), vectorSet(e1).validators, vectorSet(e1).powers, all(e1), 0b1111n]);
    await reverts(anchor.write.submitCheckpoint([vectorCheckpoint(e1.checkpoint), vectorSet(e1).validators, vectorSet(e1).powers, all(e1), 0b1111n]), "WrongEpoch");
    expect(await anchor.read.lastEpoch()).toBe(1n);
  });
});

describe("PouwAnchor checks", () => {
  const SET = anchorSet([0, 1, 2, 3], [100n, 100n, 100n, 100n]);

  it("requires more than 2/3 of the power: exactly 2/3 fails", async () => {
    // Three equal powers: any two signers hold exactly 2/3.
    const three = anchorSet([0, 1, 2], [100n, 100n, 100n]);
    const anchor = await deployAnchor(setArgs(three));
    const c = checkpointFor(1n, three, three);
    await reverts(submit(anchor, c, three, [0, 1]), "InsufficientPower");
    await reverts(submit(anchor, c, three, [1, 2]), "InsufficientPower");
    // Unequal powers: the 200 of 300 alone is exactly 2/3 too.
    const heavy = anchorSet([0, 1, 2], [200n, 50n, 50n]);
    const big = heavy.findIndex((m) => m.power === 200n);
    const anchor2 = await deployAnchor(setArgs(heavy));
    const c2 = checkpointFor(1n, heavy, heavy);
    await reverts(submit(anchor2, c2, heavy, [big]), "InsufficientPower");
    await submit(anchor2, c2, heavy, [big, (big + 1) % 3]);
    expect(await anchor2.read.lastEpoch()).toBe(1n);
    await submit(anchor, c, three, [0, 1, 2]);
    expect(await anchor.read.lastEpoch()).toBe(1n);
    await reverts(submit(await deployAnchor(setArgs(SET)), checkpointFor(1n, SET, SET), SET, [0]), "InsufficientPower");
    await reverts(submit(await deployAnchor(setArgs(SET)), checkpointFor(1n, SET, SET), SET, []), "InsufficientPower");
  });

  it("rejects signatures that do not match the bitmap: wrong order, a duplicate, too few, too many, out of range", async () => {
    const anchor = await deployAnchor(setArgs(SET));
    const c = checkpointFor(1n, SET, SET);
    const { validators, powers } = setArgs(SET);
    const [s0, s1, s2, s3] = (await compactSignatures(c, SET, [0, 1, 2, 3])) as [Hex, Hex, Hex, Hex];
    const send = (sigs: Hex[], bitmap: bigint) => anchor.write.submitCheckpoint([c, validators, powers, sigs.length ? concat(sigs) : "0x", bitmap]);
    await reverts(send([s1, s0, s2], 0b0111n), "WrongSigner"); // unsorted
    await reverts(send([s0, s0, s2], 0b0111n), "WrongSigner"); // the same signer twice
    await reverts(send([s0, s2, s2], 0b0111n), "WrongSigner");
    await reverts(send([s0, s1, s3], 0b0111n), "WrongSigner"); // bitmap names 2, signature is 3's
    await reverts(send([s0, s1], 0b0111n), "SignatureCountMismatch");
    await reverts(send([s0, s1, s2, s3], 0b0111n), "SignatureCountMismatch");
    await reverts(send([s0, s1, s2], 0b10111n), "SignerBitmapOutOfRange");
    await reverts(anchor.write.submitCheckpoint([c, validators, powers, concat([s0, s1, s2, "0x00"]), 0b0111n]), "SignatureCountMismatch");
    // A key outside the set, and signatures over another checkpoint.
    const outsider = anchorSet([9], [100n]);
    const [x] = (await compactSignatures(c, outsider, [0])) as [Hex];
    await reverts(send([s0, s1, x], 0b0111n), "WrongSigner");
    const other = await compactSignatures({ ...c, stateRoot: ZERO32 }, SET, [0, 1, 2]);
    await reverts(send(other, 0b0111n), "WrongSigner");
    await send([s0, s1, s3], 0b1011n);
    expect(await anchor.read.lastEpoch()).toBe(1n);
  });

  it("rejects a high-s signature (OpenZeppelin ECDSA)", async () => {
    const anchor = await deployAnchor(setArgs(SET));
    const c = checkpointFor(1n, SET, SET);
    const { validators, powers } = setArgs(SET);
    const [s0, s1, s2] = (await compactSignatures(c, SET, [0, 1, 2])) as [Hex, Hex, Hex];
    // The malleated twin (r, n − s, flipped parity) of a low-s signature recovers the same
    // signer, but n − s needs bit 255 (EIP-2098's parity bit) except for a sliver of s
    // values; so build a compact signature whose 255-bit s half exceeds n/2.
    const r = s2.slice(0, 66) as Hex;
    const vs = BigInt(`0x${s2.slice(66)}`);
    const s = vs & ((1n << 255n) - 1n);
    const twin = SECP256K1_N - s;
    const highS = twin < 1n << 255n ? twin : SECP256K1_N / 2n + 1n + (s % 1000n);
    const parity = (vs >> 255n) ^ 1n;
    const high = concat([r, pad(`0x${((parity << 255n) | highS).toString(16)}`)]);
    await reverts(anchor.write.submitCheckpoint([c, validators, powers, concat([s0, s1, high]), 0b0111n]), "ECDSAInvalidSignatureS");
    expect(await anchor.read.lastEpoch()).toBe(0n);
  });

  it("rejects a wrong validator set: claimed hash, given members, or powers", async () => {
    const anchor = await deployAnchor(setArgs(SET));
    const other = anchorSet([4, 5, 6, 7], [100n, 100n, 100n, 100n]);
    // A checkpoint of another set, signed by all of it.
    await reverts(submit(anchor, checkpointFor(1n, other, other), other, [0, 1, 2, 3]), "WrongValidatorSet");
    // The right hash in the checkpoint, but a different list passed in.
    const c = checkpointFor(1n, SET, SET);
    const { signatures, bitmap } = await signCheckpoint(c, SET, [0, 1, 2]);
    const { validators, powers } = setArgs(SET);
    await reverts(anchor.write.submitCheckpoint([c, validators, powers.map((p, i) => (i === 3 ? p * 10n : p)), signatures, bitmap]), "WrongValidatorSet");
    await reverts(anchor.write.submitCheckpoint([c, validators.slice(0, 3), powers.slice(0, 3), signatures, bitmap]), "WrongValidatorSet");
    await reverts(anchor.write.submitCheckpoint([c, [...validators].reverse(), [...powers].reverse(), signatures, bitmap]), "WrongValidatorSet");
    await reverts(anchor.write.submitCheckpoint([c, validators, powers.slice(0, 3), signatures, bitmap]), "LengthMismatch");
    await reverts(anchor.write.submitCheckpoint([{ ...c, chainId: ZERO32 }, validators, powers, signatures, bitmap]), "WrongChainId");
    expect(await anchor.read.validatorSetHash()).toBe(setHash(SET));
  });

  it("refuses a genesis set that is unsorted, repeated or has zero power", async () => {
    const { validators, powers } = setArgs(SET);
    await expect(deployAnchor({ validators: [...validators].reverse(), powers })).rejects.toThrow(/ValidatorsNotAscending/);
    await expect(deployAnchor({ validators: [validators[0]!, validators[0]!], powers: [1n, 1n] })).rejects.toThrow(/ValidatorsNotAscending/);
    await expect(deployAnchor({ validators, powers: [1n, 0n, 1n, 1n] })).rejects.toThrow(/ZeroPower/);
    await expect(deployAnchor({ validators: [], powers: [] })).rejects.toThrow(/EmptyValidatorSet/);
  });

  it("changes the validator set only through an accepted checkpoint", async () => {
    // The only state-changing function is submitCheckpoint.
    const anchor = await deployAnchor(setArgs(SET));
    const writers = anchor.abi.filter((x) => x.type === "function" && x.stateMutability !== "view" && x.stateMutability !== "pure").map((x) => (x as { name: string }).name);
    expect(writers).toEqual(["submitCheckpoint"]);
    const next = anchorSet([1, 2, 4, 5], [150n, 100n, 50n, 200n]);
    const c = checkpointFor(1n, SET, next);
    // Failed attempts (too little power, a wrong set, a wrong epoch) leave it alone.
    await reverts(submit(anchor, c, SET, [0, 1]), "InsufficientPower");
    await reverts(submit(anchor, checkpointFor(2n, SET, next), SET, [0, 1, 2, 3]), "WrongEpoch");
    await reverts(submit(anchor, checkpointFor(1n, next, next), next, [0, 1, 2, 3]), "WrongValidatorSet");
    expect(await anchor.read.validatorSetHash()).toBe(setHash(SET));
    // Anyone may relay an accepted checkpoint (a second account here); then the new set rules.
    const [, relayer] = await viem.getWalletClients();
    const { signatures, bitmap } = await signCheckpoint(c, SET, overTwoThirds(SET));
    const { validators, powers } = setArgs(SET);
    const asRelayer = await viem.getContractAt("PouwAnchor", anchor.address, { client: { wallet: relayer! } });
    await asRelayer.write.submitCheckpoint([c, validators, powers, signatures, bitmap]);
    expect(await anchor.read.validatorSetHash()).toBe(setHash(next));
    // The old set can no longer sign epoch 2; the new one can.
    await reverts(submit(anchor, checkpointFor(2n, SET, SET), SET, [0, 1, 2, 3]), "WrongValidatorSet");
    await submit(anchor, checkpointFor(2n, next, SET), next, overTwoThirds(next));
    expect(await anchor.read.validatorSetHash()).toBe(setHash(SET));
  });
});

describe("PouwVault", () => {
  const SET = anchorSet([0, 1, 2, 3], [100n, 100n, 100n, 100n]);
  const asWord = (a: Hex): Hex => pad(a, { size: 32 }).toLowerCase() as Hex;
  const recipients = [0, 1, 2, 3].map((i) => keccak256(`0x${(1000 + i).toString(16).padStart(4, "0")}`).slice(0, 42) as Hex);

  /** Anchor + vault with 10 ETH; epoch 1 pays `leaves` (built for this vault), epoch 2 has no withdrawals. */
  async function setup(extra: (vault: Hex) => WithdrawalLeaf[] = () => []) {
    const anchor = await deployAnchor(setArgs(SET));
    const vault = await viem.deployContract("PouwVault", [anchor.address]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await fund(vault, 10n ** 19n) });
    expect(eventArgs(vault.abi, receipt.logs, "Funded")).toMatchObject({ from: getAddress(wallet!.account.address), amount: 10n ** 19n });
    const domain = evmDomain(BigInt(await publicClient.getChainId()), vault.address);
    expect(await vault.read.domain()).toBe(domain);
    const leaves: WithdrawalLeaf[] = [
      ...recipients.map((r, i) => ({ chainId: CHAIN, epoch: 1n, index: BigInt(i), domain, recipient: asWord(r), token: ZERO32, amount: 1_000_000_000n * BigInt(i + 1) })),
      ...extra(vault.address).map((l, k) => ({ ...l, index: BigInt(recipients.length + k) })),
    ];
    const tree = withdrawalTree(leaves);
    await submit(anchor, checkpointFor(1n, SET, SET, tree.root), SET, overTwoThirds(SET));
    await submit(anchor, checkpointFor(2n, SET, SET, ZERO32), SET, overTwoThirds(SET));
    return { anchor, vault, domain, leaves, tree };
  }

  it("pays a withdrawal once, to the recipient, amount × 1 gwei", async () => {
    const { vault, leaves, tree } = await setup();
    const before = await publicClient.getBalance({ address: recipients[1]! });
    const hash = await vault.write.withdraw([leaves[1]!, tree.proof(1)]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(await publicClient.getBalance({ address: recipients[1]! })).toBe(before + 2_000_000_000n * 10n ** 9n);
    expect(eventArgs(vault.abi, receipt.logs, "Withdrawn")).toMatchObject({ epoch: 1n, index: 1n, amount: 2n * 10n ** 18n });
    expect(await vault.read.isWithdrawn([1n, 1n])).toBe(true);
    expect(await vault.read.isWithdrawn([1n, 0n])).toBe(false);
    await reverts(vault.write.withdraw([leaves[1]!, tree.proof(1)]), "AlreadyWithdrawn");
    expect(await publicClient.getBalance({ address: vault.address })).toBe(10n ** 19n - 2n * 10n ** 18n);
  });

  it("rejects a leaf for another vault's domain, even with a valid proof", async () => {
    const { vault, leaves, tree } = await setup((v) => [
      { chainId: CHAIN, epoch: 1n, index: 0n, domain: evmDomain(1n, v), recipient: asWord(recipients[0]!), token: ZERO32, amount: 5n },
      { chainId: CHAIN, epoch: 1n, index: 0n, domain: keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "address" }], [31337n, recipients[3]!])), recipient: asWord(recipients[0]!), token: ZERO32, amount: 5n },
    ]);
    await reverts(vault.write.withdraw([leaves[4]!, tree.proof(4)]), "WrongDomain");
    await reverts(vault.write.withdraw([leaves[5]!, tree.proof(5)]), "WrongDomain");
  });

  it("rejects an unanchored epoch and an epoch whose withdrawals root is zero", async () => {
    const { vault, leaves, tree } = await setup();
    await reverts(vault.write.withdraw([{ ...leaves[0]!, epoch: 3n }, tree.proof(0)]), "EpochNotAnchored");
    await reverts(vault.write.withdraw([{ ...leaves[0]!, epoch: 0n }, tree.proof(0)]), "EpochNotAnchored");
    await reverts(vault.write.withdraw([{ ...leaves[0]!, epoch: 2n }, tree.proof(0)]), "NoWithdrawalsInEpoch");
  });

  it("rejects a tampered leaf: amount, recipient, index, token, chain", async () => {
    const { vault, leaves, tree } = await setup();
    const l = leaves[0]!;
    await reverts(vault.write.withdraw([{ ...l, amount: l.amount + 1n }, tree.proof(0)]), "InvalidProof");
    await reverts(vault.write.withdraw([{ ...l, recipient: asWord(recipients[2]!) }, tree.proof(0)]), "InvalidProof");
    await reverts(vault.write.withdraw([{ ...l, index: 7n }, tree.proof(0)]), "InvalidProof");
    await reverts(vault.write.withdraw([l, tree.proof(1)]), "InvalidProof");
    await reverts(vault.write.withdraw([{ ...l, token: pad("0x01") }, tree.proof(0)]), "UnsupportedToken");
    await reverts(vault.write.withdraw([{ ...l, chainId: ZERO32 }, tree.proof(0)]), "WrongChainId");
    await vault.write.withdraw([l, tree.proof(0)]);
  });

  it("rejects an inner node of the tree passed off as a leaf", async () => {
    const { vault, leaves, tree } = await setup();
    const proof = tree.proof(0);
    const [a, b] = [tree.leafHash(0), proof[0]!].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)) as [Hex, Hex];
    const inner = keccak256(concat([a, b]));
    // The inner node is a genuine node: hashing up the rest of the proof reaches the root.
    let node = inner;
    for (const p of proof.slice(1)) node = keccak256(BigInt(node) < BigInt(p) ? concat([node, p]) : concat([p, node]));
    expect(node).toBe(tree.root);
    // Its 64-byte preimage carried in a leaf's free fields, with the proof above it: the
    // vault double-hashes the whole 224-byte leaf, so it cannot come out as the node.
    await reverts(vault.write.withdraw([{ ...leaves[0]!, recipient: a, amount: BigInt(b) }, proof.slice(1)]), "InvalidProof");
    await reverts(vault.write.withdraw([{ ...leaves[0]!, recipient: a, amount: BigInt(b) }, proof]), "InvalidProof");
  });

  it("refuses a leaf whose recipient has any of its upper 12 bytes set (a Sui address), and leaves it unspent", async () => {
    // The low 20 bytes are recipients[0]: before the check the vault paid them.
    const sui = `0x${"5e".repeat(12)}${recipients[0]!.slice(2).toLowerCase()}` as Hex;
    const oneBit = `0x01${"00".repeat(11)}${recipients[0]!.slice(2).toLowerCase()}` as Hex;
    const { vault, leaves, tree } = await setup((v) => [sui, oneBit].map((recipient) => ({ chainId: CHAIN, epoch: 1n, index: 0n, domain: evmDomain(31337n, v), recipient, token: ZERO32, amount: 7n * 10n ** 9n })));
    expect(leaves[4]!.recipient).toBe(sui);
    const before = await publicClient.getBalance({ address: recipients[0]! });
    await reverts(vault.write.withdraw([leaves[4]!, tree.proof(4)]), "RecipientNotEvmAddress");
    await expect(vault.write.withdraw([leaves[4]!, tree.proof(4)])).rejects.toThrow(new RegExp(`RecipientNotEvmAddress\\("${sui}"\\)`, "i"));
    await reverts(vault.write.withdraw([leaves[5]!, tree.proof(5)]), "RecipientNotEvmAddress");
    expect(await vault.read.isWithdrawn([1n, 4n])).toBe(false);
    expect(await vault.read.isWithdrawn([1n, 5n])).toBe(false);
    expect(await publicClient.getBalance({ address: recipients[0]! })).toBe(before);
    // The same recipient as a clean EVM word is paid.
    await vault.write.withdraw([leaves[0]!, tree.proof(0)]);
    expect(await publicClient.getBalance({ address: recipients[0]! })).toBe(before + 10n ** 18n);
  });

  it("fund adds coin for withdrawals (event Funded); zero is refused; there is no deposit", async () => {
    const anchor = await deployAnchor(setArgs(SET));
    const vault = await viem.deployContract("PouwVault", [anchor.address]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await fund(vault, 5n) });
    expect(eventArgs(vault.abi, receipt.logs, "Funded")).toMatchObject({ amount: 5n });
    expect(await publicClient.getBalance({ address: vault.address })).toBe(5n);
    await reverts(fund(vault, 0n), "ZeroFunding");
    const names = vault.abi.map((x) => ("name" in x ? x.name : x.type));
    expect(names).toContain("fund");
    expect(names.filter((n) => /deposit/i.test(n ?? ""))).toEqual([]);
  });

  it("a reentrant recipient cannot drain the vault", async () => {
    const anchor = await deployAnchor(setArgs(SET));
    const vault = await viem.deployContract("PouwVault", [anchor.address]);
    await fund(vault, 10n ** 19n);
    const attacker = await viem.deployContract("ReentrantRecipient", [vault.address]);
    const domain = (await vault.read.domain()) as Hex;
    const leaves: WithdrawalLeaf[] = [0n, 1n, 2n].map((i) => ({ chainId: CHAIN, epoch: 1n, index: i, domain, recipient: asWord(attacker.address), token: ZERO32, amount: 10n ** 9n }));
    const tree = withdrawalTree(leaves);
    await submit(anchor, checkpointFor(1n, SET, SET, tree.root), SET, overTwoThirds(SET));
    // On being paid for leaf 0 it retries leaf 0 and then its own valid leaf 1.
    await attacker.write.arm([[leaves[0]!, leaves[1]!], [tree.proof(0), tree.proof(1)]]);
    await attacker.write.attack([leaves[0]!, tree.proof(0)]);
    expect(await attacker.read.attempts()).toBe(2n);
    expect(await attacker.read.blocked()).toBe(2n);
    expect(((await attacker.read.lastError()) as Hex).slice(0, 10)).toBe(toFunctionSelector("ReentrancyGuardReentrantCall()"));
    expect(await publicClient.getBalance({ address: attacker.address })).toBe(10n ** 18n);
    expect(await publicClient.getBalance({ address: vault.address })).toBe(10n ** 19n - 10n ** 18n);
    expect(await vault.read.isWithdrawn([1n, 1n])).toBe(false);
    // Outside the payment, leaf 1 is an ordinary claim; leaf 0 stays spent.
    await attacker.write.attack([leaves[1]!, tree.proof(1)]);
    await reverts(attacker.write.attack([leaves[0]!, tree.proof(0)]), "AlreadyWithdrawn");
    expect(await publicClient.getBalance({ address: attacker.address })).toBe(2n * 10n ** 18n);
  });
});

it("vector digests agree with the node's checkpointDigest", () => {
  for (const e of vectors.epochs) expect(checkpointDigest(vectorCheckpoint(e.checkpoint))).toBe(e.digest);
});

describe("PouwAnchor hardening (security review)", () => {
  /** n members of power `power` from anchor keys 100… (the vector keys 0–9 are used above). */
  const many = (n: number, power = 100n) => anchorSet(Array.from({ length: n }, (_, i) => 100 + i), Array.from({ length: n }, () => power));

  it("a set's words split another way keep the packed hash but not the lengths: LengthMismatch", async () => {
    // The Sui attack's set on EVM: a power-1 member below a power-100 one and another power-1.
    const set = anchorSet([0, 1, 2], [1n, 1n, 1n]).map((m, i) => ({ ...m, power: [1n, 100n, 1n][i]! }));
    const anchor = await deployAnchor(setArgs(set));
    const { validators, powers } = setArgs(set);
    // Three addresses and a power word as four "addresses", the last two powers as the powers:
    // the same 192 packed bytes, so the same hash, and member 0 would now carry 100 of 101.
    const regrouped = { validators: [...validators, pad("0x01", { size: 20 })], powers: powers.slice(1) };
    expect(keccak256(encodePacked(["address[]", "uint256[]"], [regrouped.validators, regrouped.powers]))).toBe(setHash(set));
    const c = checkpointFor(1n, set, anchorSet([0], [1n]));
    const { signatures, bitmap } = await signCheckpoint(c, set, [0]);
    await reverts(anchor.write.submitCheckpoint([c, regrouped.validators, regrouped.powers, signatures, bitmap]), "LengthMismatch");
    // Equal lengths leave no other split: each entry is one 32-byte word.
    await reverts(anchor.write.submitCheckpoint([c, validators, [100n, 1n, 1n], signatures, bitmap]), "WrongValidatorSet");
    expect(await anchor.read.validatorSetHash()).toBe(setHash(set));
  });

  it("256 members: created, and a checkpoint signed by just over 2/3 is accepted (gas noted); 257 are refused at creation and at submit", async () => {
    const set = many(256);
    const anchor = await deployAnchor(setArgs(set));
    expect(await anchor.read.MAX_VALIDATORS()).toBe(256n);
    const signers = overTwoThirds(set);
    expect(signers).toHaveLength(171); // 171 × 100 × 3 > 25,600 × 2
    const first = await submit(anchor, checkpointFor(1n, set, set), set, signers);
    const steady = await submit(anchor, checkpointFor(2n, set, set), set, signers);
    expect([first.status, steady.status]).toEqual(["success", "success"]);
    expect(await anchor.read.lastEpoch()).toBe(2n);
    // The last member (bit 255) can sign too.
    const top = await submit(anchor, checkpointFor(3n, set, set), set, [...signers.slice(1), 255]);
    expect(top.status).toBe("success");
    console.log(`PouwAnchor.submitCheckpoint, 256 members, 171 signers: ${first.gasUsed} gas (epoch 1), ${steady.gasUsed} gas (epoch 2)`);
    expect(steady.gasUsed).toBeLessThan(3_000_000n);

    const big = many(257);
    await expect(deployAnchor(setArgs(big))).rejects.toThrow(/TooManyValidators\(257\)/);
    // A 257-member set can still be named as the next set; presenting it then fails.
    const small = anchorSet([0, 1, 2, 3], [100n, 100n, 100n, 100n]);
    const rotating = await deployAnchor(setArgs(small));
    await submit(rotating, checkpointFor(1n, small, big), small, overTwoThirds(small));
    await reverts(submit(rotating, checkpointFor(2n, big, big), big, overTwoThirds(big)), "TooManyValidators");
  });

  it("powers are bounded to u64: 2^64-1 is accepted (and sums of them), 2^64 and an overflowing 2^255 are refused", async () => {
    const MAX = 2n ** 64n - 1n;
    const maxSet = anchorSet([0, 1, 2], [MAX, MAX, MAX]);
    const anchor = await deployAnchor(setArgs(maxSet));
    expect(await anchor.read.MAX_POWER()).toBe(MAX);
    await submit(anchor, checkpointFor(1n, maxSet, maxSet), maxSet, [0, 1, 2]);
    expect(await anchor.read.lastEpoch()).toBe(1n);

    const { validators } = setArgs(maxSet);
    await expect(deployAnchor({ validators, powers: [1n, 2n ** 64n, 1n] })).rejects.toThrow(new RegExp(`PowerTooLarge\\(1, ${2n ** 64n}\\)`));
    // 2^255 + 2^255 overflows the total: such an anchor could never accept a checkpoint.
    await expect(deployAnchor({ validators: validators.slice(0, 2), powers: [2n ** 255n, 2n ** 255n] })).rejects.toThrow(/PowerTooLarge\(0, /);
  });

  it("a rotated-in set with a power above u64 is refused at submit (PowerTooLarge), even signed by it", async () => {
    const genesis = anchorSet([0, 1, 2, 3], [100n, 100n, 100n, 100n]);
    const heavy = anchorSet([4, 5], [1n, 1n]).map((m, i) => ({ ...m, power: i === 0 ? 2n ** 64n : 1n }));
    const anchor = await deployAnchor(setArgs(genesis));
    await submit(anchor, checkpointFor(1n, genesis, heavy), genesis, overTwoThirds(genesis));
    expect(await anchor.read.validatorSetHash()).toBe(setHash(heavy));
    await expect(submit(anchor, checkpointFor(2n, heavy, heavy), heavy, [0])).rejects.toThrow(new RegExp(`PowerTooLarge\\(0, ${2n ** 64n}\\)`));
    expect(await anchor.read.lastEpoch()).toBe(1n);
  });
});
