/**
 * scripts/deploy-sui.ts offline. `--dry-run` runs as a real process on the
 * fixture bytecode (test/vectors/sui-bytecode-fixture.json: Move magic and
 * filler, not a compiled package) and must print the plan and write nothing;
 * a missing key or a malformed bytecode file stops it with a clear error. The
 * deployment itself runs against a scripted Core API client standing in for a
 * Sui node: the three transactions carry the genesis anchor set, the ids come
 * from their effects and the record is written. By default the publish
 * transaction hands the UpgradeCap to 0x2::package::make_immutable and the
 * record says "immutable"; --upgradeable warns and records the cap.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bcs } from "@mysten/sui/bcs";
import type { ClientWithCoreApi, SuiClientTypes } from "@mysten/sui/client";
import { Ed25519Keypair } from "@mysten/sui/keypairs/ed25519";
import { Secp256k1Keypair } from "@mysten/sui/keypairs/secp256k1";
import { Transaction } from "@mysten/sui/transactions";
import { fromBase64, normalizeSuiAddress, normalizeSuiObjectId } from "@mysten/sui/utils";
import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex, getAddress, type Hex } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { chainIdHash, validatorSetHash } from "../../../node/anchor/checkpoint.ts";
import { AnchorError } from "../../../node/anchor/errors.ts";
import { MAKE_IMMUTABLE, publishTransaction } from "../../../node/anchor/sui.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { toHex } from "../../../node/util/hex.ts";
import { loadAnchorSet, loadSuiKey, main, parseBytecodeJson, planDeployment, type SuiDeploymentRecord } from "../../../scripts/deploy-sui.ts";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = join(REPO, "test/vectors/sui-bytecode-fixture.json");
const dir = mkdtempSync(join(tmpdir(), "pouw-deploy-sui-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keypair = Ed25519Keypair.deriveKeypairFromSeed("42".repeat(32));
const ENV = { POUW_SUI_KEY: keypair.getSecretKey() };

// A genesis with three validators listed out of address order, anchor addresses from the checkpoint vectors.
const vectors = JSON.parse(readFileSync(join(REPO, "test/vectors/checkpoint.json"), "utf8")) as { epochs: { validators: { address: string }[] }[] };
const ANCHORS = vectors.epochs[0]!.validators.slice(0, 3).map((v) => v.address as Hex);
const devnet = JSON.parse(readFileSync(join(REPO, "genesis/devnet.json"), "utf8")) as Record<string, unknown> & { validators: Record<string, unknown>[] };
const order = [2, 0, 1];
const genesisJson = {
  ...devnet,
  chainId: "pouw-sui-test-1",
  jobs: [],
  validators: order.map((k, i) => ({ name: `v${i}`, publicKey: toHex(AccountKey.fromLabel(`deploy-sui/validator/${i}`).publicKey), anchorAddress: ANCHORS[k], power: String(100 + 10 * k) })),
};
const GENESIS = join(dir, "genesis.json");
writeFileSync(GENESIS, JSON.stringify(genesisJson));
const MEMBERS = [0, 1, 2].map((k) => ({ address: getAddress(ANCHORS[k]!), power: BigInt(100 + 10 * k) }));

function run(args: string[], env: Record<string, string> = ENV) {
  const r = spawnSync(process.execPath, [join(REPO, "scripts/deploy-sui.ts"), ...args], { cwd: REPO, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  const e = await (typeof p === "function" ? Promise.resolve().then(p) : p).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

describe("deploy-sui --dry-run", () => {
  it("prints the plan for the fixture bytecode and genesis, contacts no node and writes nothing", async () => {
    const out = join(dir, "dry-deployments");
    // An RPC URL nothing listens on: a dry run must not need it.
    const r = run(["--bytecode", FIXTURE, "--genesis", GENESIS, "--network", "testnet", "--rpc", "http://127.0.0.1:9", "--dry-run", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(existsSync(out)).toBe(false);
    const plan = await planDeployment({ bytecode: parseBytecodeJson(readFileSync(FIXTURE, "utf8")), genesisPath: GENESIS, network: "testnet", rpcUrl: "http://127.0.0.1:9", deployer: keypair.toSuiAddress() });
    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as { modules: string[]; digest: number[] };
    const bytes = fixture.modules.reduce((s, m) => s + fromBase64(m).length, 0);
    expect(r.stdout).toContain(`settlement to Sui testnet (http://127.0.0.1:9) from ${keypair.toSuiAddress()}`);
    expect(r.stdout).toContain(`publish 3 modules (${bytes} bytes)`);
    expect(r.stdout).toContain(`package digest ${bytesToHex(Uint8Array.from(fixture.digest))}`);
    expect(r.stdout).toContain(`transaction kind ${plan.publishKind.bytes} bytes, blake2b-256 ${plan.publishKind.blake2b256}`);
    expect(r.stdout).toContain(`chain_id   = ${chainIdHash("pouw-sui-test-1")}`);
    // The anchor set ascending by address, whatever the genesis order.
    expect(r.stdout).toContain(`validators = [${MEMBERS.map((m) => m.address).join(", ")}]`);
    expect(r.stdout).toContain(`powers     = [100, 110, 120]`);
    expect(r.stdout).toContain(`set hash ${validatorSetHash(MEMBERS)}`);
    expect(r.stdout).toContain("vault::create(&anchor)");
    expect(r.stdout).toContain(`then ${MAKE_IMMUTABLE}(UpgradeCap) in the same transaction: the package can never be upgraded`);
    expect(r.stdout).not.toContain("UPGRADEABLE");
    expect(r.stdout).toContain("dry run: nothing sent, nothing written");
  });

  it("--upgradeable warns loudly on stderr and plans the UpgradeCap to the deployer", () => {
    const r = run(["--bytecode", FIXTURE, "--genesis", GENESIS, "--network", "testnet", "--dry-run", "--upgradeable"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`WARNING: --upgradeable: the package's UpgradeCap goes to the deployer ${keypair.toSuiAddress()}`);
    expect(r.stderr).toContain("drain the vault");
    expect(r.stdout).toContain(`UPGRADEABLE: the UpgradeCap goes to the deployer ${keypair.toSuiAddress()}`);
    expect(r.stdout).not.toContain(MAKE_IMMUTABLE);
  });

  it("the planned publish kind is the fixture's modules and dependencies, then make_immutable on the published UpgradeCap", async () => {
    const bytecode = parseBytecodeJson(readFileSync(FIXTURE, "utf8"));
    const plan = await planDeployment({ bytecode, genesisPath: GENESIS, network: "testnet", rpcUrl: "x", deployer: keypair.toSuiAddress() });
    expect(plan.upgradePolicy).toBe("immutable");
    const kind = await publishTransaction(bytecode, { sender: keypair.toSuiAddress() }).build({ onlyTransactionKind: true });
    expect(plan.publishKind).toEqual({ bytes: kind.length, blake2b256: bytesToHex(blake2b(kind, { dkLen: 32 })) });
    const data = Transaction.fromKind(kind).getData();
    expect(data.commands).toHaveLength(2);
    expect(data.commands[0]!.Publish!.modules).toEqual(bytecode.modules);
    expect(data.commands[0]!.Publish!.dependencies.map((d) => BigInt(d))).toEqual([1n, 2n]);
    // The second command consumes the publish's result (its UpgradeCap) by value; nothing is transferred.
    const call = data.commands[1]!.MoveCall!;
    expect([normalizeSuiAddress(call.package), call.module, call.function]).toEqual([normalizeSuiAddress("0x2"), "package", "make_immutable"]);
    expect(call.arguments).toEqual([{ $kind: "Result", Result: 0 }]);
    expect(data.commands.some((c) => c.TransferObjects)).toBe(false);
    expect(plan.members).toEqual(MEMBERS);

    // Upgradeable only on request: the cap goes to the deployer and no make_immutable call is made.
    const up = await planDeployment({ bytecode, genesisPath: GENESIS, network: "testnet", rpcUrl: "x", deployer: keypair.toSuiAddress(), upgradePolicy: "upgradeable" });
    const upKind = Transaction.fromKind(await publishTransaction(bytecode, { sender: keypair.toSuiAddress() }, "upgradeable").build({ onlyTransactionKind: true })).getData();
    expect(up.publishKind.blake2b256).not.toBe(plan.publishKind.blake2b256);
    expect(upKind.commands[1]!.TransferObjects!.objects).toEqual([{ $kind: "Result", Result: 0 }]);
    expect(upKind.commands.some((c) => c.MoveCall)).toBe(false);
  });
});

describe("deploy-sui refuses bad inputs with a clear error", () => {
  it("without POUW_SUI_KEY, or with something else in it", () => {
    const missing = run(["--bytecode", FIXTURE, "--genesis", GENESIS, "--dry-run"], {});
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toMatch(/^deploy-sui: SUI_BAD_KEY: POUW_SUI_KEY is not set/);
    const wrong = run(["--bytecode", FIXTURE, "--genesis", GENESIS, "--dry-run"], { POUW_SUI_KEY: `0x${"11".repeat(32)}` });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("SUI_BAD_KEY: POUW_SUI_KEY is not a Sui private key (expected suiprivkey1…)");
  });

  it("accepts the key schemes Sui CLI exports", () => {
    expect(loadSuiKey(ENV).toSuiAddress()).toBe(keypair.toSuiAddress());
    const k1 = Secp256k1Keypair.deriveKeypair("test test test test test test test test test test test junk");
    expect(loadSuiKey({ POUW_SUI_KEY: k1.getSecretKey() }).toSuiAddress()).toBe(k1.toSuiAddress());
  });

  it("a malformed bytecode file, as a process and as parseBytecodeJson", () => {
    const file = join(dir, "build.json");
    writeFileSync(file, "BUILDING pouw_settlement\n{}");
    const r = run(["--bytecode", file, "--genesis", GENESIS, "--dry-run"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`SUI_BAD_BYTECODE: ${file} is not the output of \`sui move build --dump-bytecode-as-base64\`: not JSON`);
    expect(run(["--bytecode", join(dir, "nope.json"), "--dry-run"]).stderr).toContain("SUI_BAD_BYTECODE: cannot read");
    expect(run(["--genesis", GENESIS, "--dry-run"]).stderr).toContain("--bytecode <file> is required");

    const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Record<string, unknown>;
    const why = (j: unknown) => {
      try {
        parseBytecodeJson(JSON.stringify(j));
      } catch (e) {
        expect(e).toBeInstanceOf(AnchorError);
        expect((e as AnchorError).code).toBe("SUI_BAD_BYTECODE");
        return (e as Error).message.replace(/^.*dump-bytecode-as-base64`: /, "");
      }
      return "accepted";
    };
    expect(why(fixture)).toBe("accepted");
    expect(why([])).toMatch(/expected an object/);
    expect(why({ ...fixture, modules: [] })).toMatch(/`modules` must be a non-empty array/);
    expect(why({ ...fixture, modules: ["not base64!"] })).toBe("modules[0] is not base64");
    expect(why({ ...fixture, modules: [Buffer.from("#!/bin/sh echo hi").toString("base64")] })).toBe("modules[0] is not Move bytecode (no 0xa11ceb0b magic)");
    expect(why({ ...fixture, dependencies: ["sui"] })).toMatch(/`dependencies` must be an array of package ids/);
    expect(why({ ...fixture, digest: [1, 2, 3] })).toBe("`digest` must be 32 bytes");
  });

  it("a genesis validator without an anchor address", async () => {
    const g = { ...genesisJson, validators: genesisJson.validators.map((v, i) => (i === 1 ? { ...v, anchorAddress: undefined } : v)) };
    const path = join(dir, "no-anchor.json");
    writeFileSync(path, JSON.stringify(g));
    expect((await rejection(() => loadAnchorSet(path))).message).toMatch(/anchorAddress/);
  });
});

describe("deploy-sui against a scripted Sui node", () => {
  const PKG = `0x${"a1".repeat(32)}`;
  const CAP = `0x${"c1".repeat(32)}`;
  const ANCHOR = `0x${"a2".repeat(32)}`;
  const TABLE = `0x${"a3".repeat(32)}`;
  const VAULT = `0x${"a4".repeat(32)}`;

  const changed = (objectId: string, outputOwner: SuiClientTypes.ObjectOwner | null, outputState: SuiClientTypes.ChangedObject["outputState"] = "ObjectWrite"): SuiClientTypes.ChangedObject => ({
    objectId,
    inputState: "DoesNotExist",
    inputVersion: null,
    inputDigest: null,
    inputOwner: null,
    outputState,
    outputVersion: "12",
    outputDigest: null,
    outputOwner,
    idOperation: "Created",
  });
  // JSON-RPC gives initial shared versions as numbers: the record must still hold strings.
  const shared = (v: number) => ({ $kind: "Shared", Shared: { initialSharedVersion: v as unknown as string } }) as SuiClientTypes.ObjectOwner;

  /**
   * A Core API client whose node answers the three deployment transactions and the anchor read.
   * A publish that calls make_immutable destroys its UpgradeCap, so its effects show none
   * (`leaveCap` makes a faulty node show one anyway).
   */
  function scripted(anchorSet: { chainId: Hex; setHash: Hex }, opts: { leaveCap?: boolean } = {}) {
    const sent: Transaction[] = [];
    let n = 0;
    const core = {
      async signAndExecuteTransaction({ transaction }: { transaction: Transaction }) {
        sent.push(transaction);
        const data = transaction.getData();
        const c = data.commands[0]!;
        const call = c.MoveCall ? `${c.MoveCall.module}::${c.MoveCall.function}` : c.$kind;
        const immutable = data.commands.some((x) => x.MoveCall?.function === "make_immutable");
        const capLives = !immutable || opts.leaveCap;
        const [changedObjects, objectTypes] =
          call === "Publish"
            ? [[changed(PKG, { $kind: "Immutable", Immutable: true }, "PackageWrite"), ...(capLives ? [changed(CAP, { $kind: "AddressOwner", AddressOwner: keypair.toSuiAddress() })] : [])], capLives ? { [CAP]: "0x2::package::UpgradeCap" } : {}]
            : call === "anchor::create"
              ? [[changed(ANCHOR, shared(12)), changed(TABLE, { $kind: "ObjectOwner", ObjectOwner: ANCHOR })], { [ANCHOR]: `${PKG}::anchor::Anchor`, [TABLE]: "0x2::table::Table<u64, 0xa1::anchor::EpochRoots>" }]
              : call === "vault::create"
                ? [[changed(VAULT, shared(13)), changed(`0x${"a5".repeat(32)}`, { $kind: "ObjectOwner", ObjectOwner: VAULT })], { [VAULT]: `${PKG}::vault::Vault` }]
                : (() => {
                    throw new Error(`unexpected ${call}`);
                  })();
        const digest = `digest-${++n}`;
        const effects = { transactionDigest: digest, changedObjects, status: { success: true, error: null } } as unknown as SuiClientTypes.TransactionEffects;
        return { $kind: "Transaction", Transaction: { digest, status: { success: true, error: null }, effects, objectTypes } };
      },
      async waitForTransaction() {
        return {};
      },
      async getObject({ objectId }: { objectId: string }) {
        expect(objectId).toBe(ANCHOR);
        const content = bcs
          .struct("Anchor", { id: bcs.Address, chain_id: bcs.byteVector(), set_hash: bcs.byteVector(), last_epoch: bcs.u64(), epochs: bcs.struct("Table", { id: bcs.Address, size: bcs.u64() }) })
          .serialize({ id: ANCHOR, chain_id: fromHex(anchorSet.chainId), set_hash: fromHex(anchorSet.setHash), last_epoch: 0n, epochs: { id: TABLE, size: 0n } })
          .toBytes();
        return { object: { objectId: ANCHOR, version: "12", owner: shared(12), type: `${PKG}::anchor::Anchor`, content } };
      },
    };
    return { client: { network: "testnet", core } as unknown as ClientWithCoreApi, sent };
  }
  const fromHex = (h: Hex) => Buffer.from(h.slice(2), "hex");

  it("publishes immutable, creates the anchor with the genesis set and the vault on it, and writes the record", async () => {
    const { client, sent } = scripted({ chainId: chainIdHash("pouw-sui-test-1"), setHash: validatorSetHash(MEMBERS) });
    const out = join(dir, "deployments");
    const lines: string[] = [];
    const { record, file } = await main(["--bytecode", FIXTURE, "--genesis", GENESIS, "--network", "testnet", "--out", out], ENV, { client, log: (l) => lines.push(l) });
    expect(file).toBe(join(out, "sui-testnet.json"));
    const written = JSON.parse(readFileSync(file!, "utf8")) as SuiDeploymentRecord;
    expect(written).toEqual(JSON.parse(JSON.stringify(record)));
    expect(written).toMatchObject({
      network: "testnet",
      kind: "sui",
      rpcUrl: "https://fullnode.testnet.sui.io:443",
      chainId: "pouw-sui-test-1",
      chainIdHash: chainIdHash("pouw-sui-test-1"),
      packageId: PKG,
      upgradePolicy: "immutable",
      upgradeCap: null,
      anchor: { objectId: ANCHOR, initialSharedVersion: "12" },
      vault: { objectId: VAULT, initialSharedVersion: "13" },
      domain: VAULT,
      validatorSetHash: validatorSetHash(MEMBERS),
      deployer: keypair.toSuiAddress(),
      transactions: { publish: "digest-1", anchor: "digest-2", vault: "digest-3" },
    });
    expect(Number.isNaN(Date.parse(written.deployedAt))).toBe(false);
    expect(lines.some((l) => l.includes(`published package ${PKG}`))).toBe(true);

    // What was sent: publish, anchor::create(chain id hash, ascending addresses, powers), vault::create(&anchor).
    expect(sent.map((t) => t.getData().sender)).toEqual(Array(3).fill(keypair.toSuiAddress()));
    const publish = sent[0]!.getData();
    expect(publish.commands[0]!.Publish!.modules).toEqual(parseBytecodeJson(readFileSync(FIXTURE, "utf8")).modules);
    expect(publish.commands[1]!.MoveCall).toMatchObject({ module: "package", function: "make_immutable", arguments: [{ $kind: "Result", Result: 0 }] });
    expect(normalizeSuiAddress(publish.commands[1]!.MoveCall!.package)).toBe(normalizeSuiAddress("0x2"));
    const create = sent[1]!.getData();
    const mc = create.commands[0]!.MoveCall!;
    expect(`${mc.package}::${mc.module}::${mc.function}`).toBe(`${PKG}::anchor::create`);
    const arg = (i: number) => fromBase64(create.inputs[(mc.arguments[i] as { Input: number }).Input]!.Pure!.bytes);
    expect(bytesToHex(bcs.byteVector().parse(arg(0)))).toBe(chainIdHash("pouw-sui-test-1"));
    expect(bcs.vector(bcs.byteVector()).parse(arg(1)).map((a) => getAddress(bytesToHex(a)))).toEqual(MEMBERS.map((m) => m.address));
    expect(bcs.vector(bcs.u64()).parse(arg(2))).toEqual(["100", "110", "120"]);
    const vault = sent[2]!.getData();
    const vc = vault.commands[0]!.MoveCall!;
    expect(`${vc.package}::${vc.module}::${vc.function}`).toBe(`${PKG}::vault::create`);
    expect(vault.inputs[0]!.Object!.SharedObject).toEqual({ objectId: normalizeSuiObjectId(ANCHOR), initialSharedVersion: "12", mutable: false });
  });

  it("--upgradeable records the UpgradeCap the deployer now holds", async () => {
    const { client, sent } = scripted({ chainId: chainIdHash("pouw-sui-test-1"), setHash: validatorSetHash(MEMBERS) });
    const warned: string[] = [];
    const { record } = await main(["--bytecode", FIXTURE, "--genesis", GENESIS, "--network", "testnet", "--out", join(dir, "up-deployments"), "--upgradeable"], ENV, { client, log: () => {}, warn: (l) => warned.push(l) });
    expect(record).toMatchObject({ upgradePolicy: "upgradeable", upgradeCap: CAP });
    expect(warned.join("\n")).toMatch(/^WARNING: --upgradeable/);
    expect(sent[0]!.getData().commands[1]!.TransferObjects).toBeDefined();
  });

  it("stops with SUI_DEPLOY when an immutable publish leaves an UpgradeCap behind", async () => {
    const { client } = scripted({ chainId: chainIdHash("pouw-sui-test-1"), setHash: validatorSetHash(MEMBERS) }, { leaveCap: true });
    const out = join(dir, "cap-deployments");
    const e = await rejection(main(["--bytecode", FIXTURE, "--genesis", GENESIS, "--out", out], ENV, { client, log: () => {} }));
    expect((e as AnchorError).code).toBe("SUI_DEPLOY");
    expect(e.message).toContain(`left UpgradeCap ${CAP} in existence`);
    expect(existsSync(out)).toBe(false);
  });

  it("stops with SUI_DEPLOY when the anchor it created does not hold the genesis set", async () => {
    const { client } = scripted({ chainId: chainIdHash("pouw-sui-test-1"), setHash: validatorSetHash(MEMBERS.slice(1)) });
    const out = join(dir, "bad-deployments");
    const e = await rejection(main(["--bytecode", FIXTURE, "--genesis", GENESIS, "--out", out], ENV, { client, log: () => {} }));
    expect((e as AnchorError).code).toBe("SUI_DEPLOY");
    expect(e.message).toContain(`expected ${chainIdHash("pouw-sui-test-1")}, ${validatorSetHash(MEMBERS)}, 0`);
    expect(existsSync(out)).toBe(false);
  });
});
