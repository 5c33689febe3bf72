/**
 * Gas of the settlement contracts on Hardhat's in-process EDR network (viem):
 * PouwAnchor.submitCheckpoint with 4, 16, 64 and 128 equal-power validators of
 * which just over 2/3 sign (64-byte EIP-2098 signatures + signer bitmap), and
 * PouwVault.withdraw. Checkpoint gas is the transaction's gasUsed for epoch 2
 * (steady state: epoch 1 also pays for lastEpoch's first write); the fixed
 * base is the intercept of a least-squares line of gas against signers, and
 * "per signer" is (gas − base) / signers, so it carries each signer's share of
 * the validator list (calldata + hashing) too.
 *
 *   npm run bench:anchor
 */
import hre, { network } from "hardhat";
import { pad, type Abi, type Hex } from "viem";
import { chainIdHash, evmDomain, withdrawalTree, ZERO32, type Checkpoint, type WithdrawalLeaf } from "../node/anchor/checkpoint.ts";
import { anchorSet, overTwoThirds, setArgs, setHash, signCheckpoint, type KeyedMember } from "../test/helpers/anchor-sim.ts";

await hre.tasks.getTask("build").run({ quiet: true });
const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [wallet] = await viem.getWalletClients();
const CHAIN = chainIdHash("pouw-bench-1");
const word = (n: bigint): Hex => pad(`0x${n.toString(16)}`);

function checkpoint(epoch: bigint, set: readonly KeyedMember[], withdrawalsRoot: Hex = ZERO32): Checkpoint {
  return { chainId: CHAIN, epoch, height: 100n * epoch, blockHash: word(epoch + 1000n), stateRoot: word(epoch + 2000n), withdrawalsRoot, validatorSetHash: setHash(set), nextValidatorSetHash: setHash(set) };
}

async function submit(anchor: { address: Hex; abi: Abi }, c: Checkpoint, set: readonly KeyedMember[], signers: number[]): Promise<bigint> {
  const { signatures, bitmap } = await signCheckpoint(c, set, signers);
  const { validators, powers } = setArgs(set);
  const hash = await wallet!.writeContract({ address: anchor.address, abi: anchor.abi, functionName: "submitCheckpoint", args: [c, validators, powers, signatures, bitmap] });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("checkpoint reverted");
  return receipt.gasUsed;
}

const rows: { n: number; signers: number; gas: bigint; first: bigint; calldata: number }[] = [];
for (const n of [4, 16, 64, 128]) {
  const set = anchorSet(Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, () => 100n));
  const anchor = await viem.deployContract("PouwAnchor", [CHAIN, setArgs(set).validators, setArgs(set).powers]);
  const signers = overTwoThirds(set);
  const first = await submit(anchor, checkpoint(1n, set), set, signers);
  const gas = await submit(anchor, checkpoint(2n, set), set, signers);
  const { signatures } = await signCheckpoint(checkpoint(2n, set), set, signers);
  rows.push({ n, signers: signers.length, gas, first, calldata: (signatures.length - 2) / 2 + 64 * n });
}

// Least squares: gas = base + slope · signers.
const xs = rows.map((r) => r.signers);
const ys = rows.map((r) => Number(r.gas));
const mx = xs.reduce((a, b) => a + b) / xs.length;
const my = ys.reduce((a, b) => a + b) / ys.length;
const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
const base = my - slope * mx;

// Withdrawals: a tree of 64 leaves for the deployed vault, epoch 1.
const set = anchorSet([0, 1, 2, 3], [100n, 100n, 100n, 100n]);
const anchor = await viem.deployContract("PouwAnchor", [CHAIN, setArgs(set).validators, setArgs(set).powers]);
const vault = await viem.deployContract("PouwVault", [anchor.address]);
await wallet!.writeContract({ address: vault.address, abi: vault.abi, functionName: "fund", args: [], value: 10n ** 20n });
const domain = evmDomain(BigInt(await publicClient.getChainId()), vault.address);
const leaves: WithdrawalLeaf[] = Array.from({ length: 64 }, (_, i) => ({ chainId: CHAIN, epoch: 1n, index: BigInt(i), domain, recipient: word(0x1000n + BigInt(i)), token: ZERO32, amount: 10n ** 9n }));
const tree = withdrawalTree(leaves);
await submit(anchor, checkpoint(1n, set, tree.root), set, overTwoThirds(set));
const withdrawGas: bigint[] = [];
for (const i of [0, 1]) {
  const hash = await vault.write.withdraw([leaves[i]!, tree.proof(i)]);
  withdrawGas.push((await publicClient.waitForTransactionReceipt({ hash })).gasUsed);
}

const fmt = (n: number | bigint) => Number(n).toLocaleString("en-US");
console.log(`bench:anchor — Hardhat ${hre.versions?.hardhat ?? ""} in-process EDR network, solc ${(await import("solc/package.json", { with: { type: "json" } })).default.version} (optimizer 200 runs, cancun), Node ${process.version}`);
console.log("");
console.log("| validators | signers | submitCheckpoint gas | gas per signer beyond the base | epoch 1 gas |");
console.log("|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.n} | ${r.signers} | ${fmt(r.gas)} | ${fmt(Math.round((Number(r.gas) - base) / r.signers))} | ${fmt(r.first)} |`);
console.log("");
console.log(`fixed base (least-squares intercept) ≈ ${fmt(Math.round(base))} gas, slope ≈ ${fmt(Math.round(slope))} gas per signer`);
console.log(`withdraw (64-leaf tree, 6-hash proof, native coin): first of the epoch ${fmt(withdrawGas[0]!)} gas, next leaf ${fmt(withdrawGas[1]!)} gas`);
