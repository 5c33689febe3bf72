/**
 * The node's EVM client (node/anchor/evm.ts, evm-abi.ts, scripts/deploy-evm.ts)
 * against PouwAnchor and PouwVault on Hardhat's in-process EDR chain: deploying
 * for an anchor set, EvmAnchor as the relayer's AnchorTarget (submits, decoded
 * refusals), vault withdrawals, and the hand-kept ABIs against the build.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { network } from "hardhat";
import { concat, getAddress, keccak256, pad, toHex, type Hex } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { anchorMembersOf, chainIdHash, checkpointDigest, signDigest, toCompact, withdrawalTree, ZERO32, type Checkpoint, type SignedCheckpoint, type WithdrawalLeaf, validatorSetHash } from "../../node/anchor/checkpoint.ts";
import { POUW_ANCHOR_ABI, POUW_VAULT_ABI } from "../../node/anchor/evm-abi.ts";
import { AnchorError, deployEvm, EVM_ARTIFACTS_DIR, EvmAnchor, evmSubmitArgs, fundVault, loadEvmArtifacts, withdrawFromVault, type EvmDeployment } from "../../node/anchor/evm.ts";
import { parseGenesis, type GenesisJson } from "../../node/types/genesis.ts";
import { deployFromGenesis } from "../../scripts/deploy-evm.ts";
import { anchorSet, bitmapOf, setHash, type KeyedMember } from "../helpers/anchor-sim.ts";
import { makeTestNet } from "../helpers/genesis.ts";

const { viem } = await network.connect();
const publicClient = await viem.getPublicClient();
const [wallet, relayer] = await viem.getWalletClients();

const CHAIN_ID = "pouw-evm-client-1";
const CHAIN = chainIdHash(CHAIN_ID);
/** Unequal powers (total 500): members 0+1+3 hold 350 > 2/3, members 0+1 hold 250. */
const SET = anchorSet([0, 1, 2, 3], [100n, 150n, 150n, 100n]);

function checkpointFor(epoch: bigint, set: readonly KeyedMember[], withdrawalsRoot: Hex = ZERO32): Checkpoint {
  const word = (tag: number) => keccak256(concat([toHex(tag, { size: 1 }), pad(toHex(epoch))]));
  return { chainId: CHAIN, epoch, height: 100n * epoch, blockHash: word(1), stateRoot: word(2), withdrawalsRoot, validatorSetHash: setHash(set), nextValidatorSetHash: setHash(set) };
}

/** A checkpoint as the node serves it: 65-byte signatures aligned with `members`, null where a member did not sign. */
async function signed(c: Checkpoint, set: readonly KeyedMember[], signers: readonly number[]): Promise<SignedCheckpoint> {
  const digest = checkpointDigest(c);
  const members = set.map((m) => ({ address: m.address, power: m.power }));
  const signatures = await Promise.all(set.map((m, i) => (signers.includes(i) ? signDigest(digest, m.key) : null)));
  return { checkpoint: c, members, nextMembers: members, signatures };
}

/** Resolves to the AnchorError `p` rejects with (fails the test when it resolves or throws something else). */
async function anchorError(p: Promise<unknown>): Promise<AnchorError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AnchorError);
  return e as AnchorError;
}

/** Solc's ABI without `internalType`, each fragment with sorted keys: two ABIs are the same when these sets are. */
function canonical(abi: readonly unknown[]): string[] {
  const norm = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(norm) : x && typeof x === "object" ? Object.fromEntries(Object.entries(x).filter(([k]) => k !== "internalType").sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, norm(v)])) : x;
  return abi.map((f) => JSON.stringify(norm(f))).sort();
}

describe("evm-abi.ts against the compiled contracts", () => {
  const artifactAbi = (name: string) => (JSON.parse(readFileSync(new URL(`${name}.sol/${name}.json`, EVM_ARTIFACTS_DIR), "utf8")) as { abi: unknown[] }).abi;

  it("has every fragment of PouwAnchor and PouwVault, each equal to the build's", () => {
    for (const [name, abi] of [["PouwAnchor", POUW_ANCHOR_ABI], ["PouwVault", POUW_VAULT_ABI]] as const) {
      const built = canonical(artifactAbi(name));
      expect(built.length).toBeGreaterThan(15);
      expect(canonical(abi)).toEqual(built);
    }
  });

  it("the comparison notices a renamed field, a changed type and a missing error", () => {
    const built = canonical(artifactAbi("PouwAnchor"));
    const edit = (f: (abi: Record<string, unknown>[]) => void) => {
      const abi = structuredClone(POUW_ANCHOR_ABI) as unknown as Record<string, unknown>[];
      f(abi);
      return canonical(abi);
    };
    expect(edit(() => {})).toEqual(built);
    const fragment = (abi: Record<string, unknown>[], name: string) => abi.find((x) => x.name === name) as { inputs: { name: string; type: string; components?: { type: string }[] }[] };
    expect(
      edit((abi) => {
        fragment(abi, "WrongEpoch").inputs[0]!.name = "wanted";
      }),
    ).not.toEqual(built);
    expect(
      edit((abi) => {
        fragment(abi, "submitCheckpoint").inputs[0]!.components![1]!.type = "uint256";
      }),
    ).not.toEqual(built);
    expect(
      edit((abi) => {
        abi.splice(abi.indexOf(fragment(abi, "InsufficientPower")), 1);
      }),
    ).not.toEqual(built);
  });

  it("loadEvmArtifacts reads the creation bytecode, and says to build when it is missing", () => {
    const b = loadEvmArtifacts();
    expect(b.anchor).toMatch(/^0x[0-9a-f]{1000,}$/);
    expect(b.vault).toMatch(/^0x[0-9a-f]{1000,}$/);
    expect(b.anchor).not.toBe(b.vault);
    const missing = pathToFileURL(join(tmpdir(), "pouw-no-artifacts") + "/");
    expect(() => loadEvmArtifacts(missing)).toThrow(AnchorError);
    expect(() => loadEvmArtifacts(missing)).toThrow(/npx hardhat build/);
  });
});

describe("evmSubmitArgs", () => {
  it("packs present signatures ascending with their bitmap, whatever order the members come in", async () => {
    const c = checkpointFor(1n, SET);
    const s = await signed(c, SET, [0, 1, 3]);
    const [checkpoint, validators, powers, signatures, bitmap] = evmSubmitArgs(s);
    expect(checkpoint).toBe(c);
    expect(validators).toEqual(SET.map((m) => m.address));
    expect(powers).toEqual(SET.map((m) => m.power));
    expect(bitmap).toBe(bitmapOf([0, 1, 3]));
    expect(signatures).toBe(concat([toCompact(s.signatures[0]!), toCompact(s.signatures[1]!), toCompact(s.signatures[3]!)]));
    // Reversed members (signatures kept with their signers) pack the same.
    const reversed: SignedCheckpoint = { ...s, members: [...s.members].reverse(), signatures: [...s.signatures].reverse() };
    expect(evmSubmitArgs(reversed)).toEqual([c, validators, powers, signatures, bitmap]);
    // Nobody signed: empty bytes, empty bitmap.
    expect(evmSubmitArgs(await signed(c, SET, [])).slice(3)).toEqual(["0x", 0n]);
  });

  it("refuses signatures not aligned with members, and a malformed signature", async () => {
    const s = await signed(checkpointFor(1n, SET), SET, [0, 1, 2]);
    expect(() => evmSubmitArgs({ ...s, signatures: s.signatures.slice(0, 3) })).toThrow(expect.objectContaining({ code: "EVM_BAD_CHECKPOINT" }));
    expect(() => evmSubmitArgs({ ...s, signatures: ["0x1234", ...s.signatures.slice(1)] })).toThrow(expect.objectContaining({ code: "EVM_BAD_CHECKPOINT" }));
  });
});

describe("EvmAnchor, deployEvm and withdrawFromVault on EDR", () => {
  const recipient = getAddress(keccak256("0xbeef").slice(0, 42));
  let d: EvmDeployment;

  it("deployEvm deploys the anchor for the set and the vault beside it", async () => {
    // Members given out of order: deployEvm sorts them.
    d = await deployEvm({ publicClient, walletClient: wallet!, chainId: CHAIN_ID, members: [...SET].reverse(), bytecode: loadEvmArtifacts() });
    expect(d.evmChainId).toBe(BigInt(await publicClient.getChainId()));
    expect(d.deployer).toBe(getAddress(wallet!.account.address));
    expect(d.validatorSetHash).toBe(setHash(SET));
    expect(d.blockNumber).toBeGreaterThan(0n);
    const read = <T>(address: Hex, abi: typeof POUW_ANCHOR_ABI | typeof POUW_VAULT_ABI, functionName: string) => publicClient.readContract({ address, abi, functionName } as never) as Promise<T>;
    expect(await read(d.anchor, POUW_ANCHOR_ABI, "chainId")).toBe(CHAIN);
    expect(await read(d.anchor, POUW_ANCHOR_ABI, "validatorSetHash")).toBe(setHash(SET));
    expect(getAddress(await read<Hex>(d.vault, POUW_VAULT_ABI, "anchor"))).toBe(d.anchor);
    expect(await read(d.vault, POUW_VAULT_ABI, "domain")).toBe(d.domain);
    // A repeated member never reaches the chain.
    await expect(deployEvm({ publicClient, walletClient: wallet!, chainId: CHAIN_ID, members: [SET[0]!, SET[0]!], bytecode: loadEvmArtifacts() })).rejects.toThrow(/appears twice/);
  });

  it("submits a checkpoint signed by 3 of 4, refuses it twice (WrongEpoch) and one without quorum (InsufficientPower); withdrawals pay once", async () => {
    const anchor = new EvmAnchor({ publicClient, walletClient: wallet!, address: d.anchor });
    expect(anchor.name).toBe(`evm:${d.evmChainId}`);
    expect(await anchor.lastEpoch()).toBe(0n);

    // Coin in the vault, and epoch 1 pays two leaves to `recipient`.
    await fundVault({ publicClient, walletClient: wallet!, vault: d.vault, value: 10n ** 18n });
    expect(await publicClient.getBalance({ address: d.vault })).toBe(10n ** 18n);
    const leaves: WithdrawalLeaf[] = [0n, 1n].map((index) => ({ chainId: CHAIN, epoch: 1n, index, domain: d.domain, recipient: pad(recipient), token: ZERO32, amount: 250_000_000n * (index + 1n) }));
    const tree = withdrawalTree(leaves);
    const c1 = checkpointFor(1n, SET, tree.root);

    // Member 2 has not signed: 350 of 500.
    const s1 = await signed(c1, SET, [0, 1, 3]);
    expect(s1.signatures[2]).toBeNull();
    const tx = await anchor.submit(s1);
    const receipt = await publicClient.getTransactionReceipt({ hash: tx as Hex });
    expect(receipt.status).toBe("success");
    expect(getAddress(receipt.to!)).toBe(d.anchor);
    expect(await anchor.lastEpoch()).toBe(1n);
    expect(await publicClient.readContract({ address: d.anchor, abi: POUW_ANCHOR_ABI, functionName: "roots", args: [1n] })).toEqual([c1.blockHash, c1.stateRoot, tree.root]);

    const again = await anchorError(anchor.submit(s1));
    expect(again.code).toBe("EVM_REVERTED");
    expect(again.errorName).toBe("WrongEpoch");
    expect(again.message).toMatch(/WrongEpoch\(2, 1\)/);

    // Epoch 2 signed by members 0 and 1 only: 250 of 500, not more than 2/3. Relayed by another account.
    const weak = await anchorError(new EvmAnchor({ publicClient, walletClient: relayer!, address: d.anchor }).submit(await signed(checkpointFor(2n, SET), SET, [0, 1])));
    expect(weak.code).toBe("EVM_REVERTED");
    expect(weak.errorName).toBe("InsufficientPower");
    expect(weak.message).toMatch(/InsufficientPower\(250, 500\)/);
    expect(await anchor.lastEpoch()).toBe(1n);

    // Withdrawal of leaf 1: amount × 1 gwei, once.
    const before = await publicClient.getBalance({ address: recipient });
    const hash = await withdrawFromVault({ publicClient, walletClient: relayer!, vault: d.vault, leaf: leaves[1]!, proof: tree.proof(1) });
    expect((await publicClient.getTransactionReceipt({ hash })).status).toBe("success");
    expect(await publicClient.getBalance({ address: recipient })).toBe(before + 500_000_000n * 10n ** 9n);
    expect(await publicClient.getBalance({ address: d.vault })).toBe(10n ** 18n - 5n * 10n ** 17n);
    const twice = await anchorError(withdrawFromVault({ publicClient, walletClient: relayer!, vault: d.vault, leaf: leaves[1]!, proof: tree.proof(1) }));
    expect(twice.code).toBe("EVM_REVERTED");
    expect(twice.errorName).toBe("AlreadyWithdrawn");
    expect(twice.message).toMatch(/AlreadyWithdrawn\(1, 1\)/);
    // A tampered amount fails the proof; the other leaf still pays.
    expect((await anchorError(withdrawFromVault({ publicClient, walletClient: wallet!, vault: d.vault, leaf: { ...leaves[0]!, amount: 10n ** 9n }, proof: tree.proof(0) }))).errorName).toBe("InvalidProof");
    await withdrawFromVault({ publicClient, walletClient: wallet!, vault: d.vault, leaf: leaves[0]!, proof: tree.proof(0) });
    expect(await publicClient.getBalance({ address: recipient })).toBe(before + 750_000_000n * 10n ** 9n);
  });
});

describe("scripts/deploy-evm.ts", () => {
  const out = mkdtempSync(join(tmpdir(), "pouw-deploy-evm-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("deploys for a genesis's anchor set and writes the deployment record", async () => {
    const net = makeTestNet({ validators: 4, chainId: "pouw-deploy-test-1" });
    const genesisPath = join(out, "genesis.json");
    writeFileSync(genesisPath, net.genesisJson);
    const members = anchorMembersOf(parseGenesis(JSON.parse(net.genesisJson) as GenesisJson).validators);
    expect(members).toHaveLength(4);

    const { file, record } = await deployFromGenesis({ publicClient, walletClient: wallet!, genesisPath, network: "edr", rpcUrl: "edr://in-process", outDir: join(out, "deployments") });
    expect(file).toBe(join(out, "deployments", "edr.json"));
    const onDisk = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(onDisk).toEqual(record);
    expect(record).toMatchObject({ network: "edr", kind: "evm", rpcUrl: "edr://in-process", evmChainId: await publicClient.getChainId(), chainId: "pouw-deploy-test-1", chainIdHash: chainIdHash("pouw-deploy-test-1"), validatorSetHash: validatorSetHash(members) });
    expect(Date.parse(record.deployedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await publicClient.readContract({ address: record.anchor, abi: POUW_ANCHOR_ABI, functionName: "validatorSetHash" })).toBe(record.validatorSetHash);
    expect(await publicClient.readContract({ address: record.vault, abi: POUW_VAULT_ABI, functionName: "domain" })).toBe(record.domain);
    // blockNumber is the anchor's deployment block.
    expect(await publicClient.getCode({ address: record.anchor, blockNumber: BigInt(record.blockNumber) })).toMatch(/^0x[0-9a-f]+$/);
    expect(await publicClient.getCode({ address: record.anchor, blockNumber: BigInt(record.blockNumber - 1) })).toBeUndefined();
  });
});
