/**
 * Account proofs against header state roots, and the incremental state root
 * (StateOverlay.seal) against a state built from scratch.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { PrivValidator } from "../../../node/consensus/privval.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { openDb } from "../../../node/db/database.ts";
import { accountGindex, createAccountProof, verifyAccountProof, type AccountProof } from "../../../node/state/proof.ts";
import { State, type AccountT } from "../../../node/state/schemas.ts";
import { StateOverlay, WorldState, adoptSealed, addrKey, sealedWriteOps } from "../../../node/state/world.ts";
import { VoteType } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { MAX_U64 } from "../../../node/types/primitives.ts";
import { genesisStaking } from "../../../node/chain/staking.ts";
import { DEFAULT_PARAMS } from "../../../node/types/params.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const SEED = 20260406;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha = (a: Uint8Array, b: Uint8Array) => new Uint8Array(createHash("sha256").update(a).update(b).digest());

/** SSZ root of an Account {address: Bytes20, balance: u64, nonce: u64}, written out: 3 chunks padded to 4. */
function accountRoot(a: AccountT): Uint8Array {
  const chunk = (fill: (c: Uint8Array, dv: DataView) => void) => {
    const c = new Uint8Array(32);
    fill(c, new DataView(c.buffer));
    return c;
  };
  const c0 = chunk((c) => c.set(a.address));
  const c1 = chunk((_, dv) => dv.setBigUint64(0, a.balance, true));
  const c2 = chunk((_, dv) => dv.setBigUint64(0, a.nonce, true));
  return sha(sha(c0, c1), sha(c2, new Uint8Array(32)));
}

/** Folds a single-leaf proof up to a root: witnesses go from the leaf's sibling upwards. */
function foldProof(leaf: Uint8Array, gindex: bigint, witnesses: Uint8Array[]): Uint8Array | null {
  if (witnesses.length !== gindex.toString(2).length - 1) return null;
  let node = leaf;
  let g = gindex;
  for (const w of witnesses) {
    node = g % 2n === 0n ? sha(node, w) : sha(w, node);
    g >>= 1n;
  }
  return node;
}

async function chainWithBlock() {
  const net = makeTestNet({ accounts: 5, label: "proof" });
  const db = await openDb(null);
  const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson));
  const privval = await PrivValidator.open(db, net.validator, chain.ctx.chainId);
  const genesisRoot = chain.head.header.stateRoot;
  const genesisProofs = [...chain.world.accounts].map((_, i) => createAccountProof(chain.world, i));
  const genesisAccounts = [...chain.world.accounts].map((a) => ({ ...a }));
  const [a, b, c] = net.accounts as [AccountKey, AccountKey, AccountKey];
  const newcomer = AccountKey.fromLabel("proof/newcomer").address;
  const built = chain.build({
    time: chain.head.header.time + 1000,
    proposer: net.validator.address,
    candidates: [
      signedTransfer(a, { nonce: 0n, to: newcomer, amount: 4242n }).env,
      signedTransfer(b, { nonce: 0n, to: c.address, amount: 17n }).env,
    ],
  });
  await privval.signVote(VoteType.Prevote, 1, 0, built.hash);
  const signature = await privval.signVote(VoteType.Precommit, 1, 0, built.hash);
  await chain.commit(built.block, built.hash, built.result, { height: 1, round: 0, blockHash: built.hash, signatures: [{ validator: net.validator.address, signature }] });
  return { db, chain, genesisRoot, genesisProofs, genesisAccounts, newcomer, net };
}

describe("account proofs", () => {
  it("the account gindex is 2^37 + index (State field 0 of 9 → list data root → depth-32 leaf)", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), (i) => {
        expect(accountGindex(i)).toBe((1n << 37n) + BigInt(i));
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it("every account, old and new, proves against the committed header's stateRoot", async () => {
    const { db, chain, newcomer, net } = await chainWithBlock();
    const root = chain.head.header.stateRoot;
    expect(chain.world.accounts.count).toBe(5 + 2); // the new recipient and the proposer (tips)
    expect([chain.world.accounts.indexOf(newcomer), chain.world.accounts.indexOf(net.validator.address)].sort()).toEqual([5, 6]);
    expect(chain.world.getAccount(net.validator.address)!.balance).toBeGreaterThan(0n);
    [...chain.world.accounts].forEach((acc, i) => {
      const proof = createAccountProof(chain.world, i);
      expect(proof.index).toBe(i);
      expect(proof.witnesses.length).toBe(37);
      expect(verifyAccountProof(root, acc, proof)).toBe(true);
      // independently: the leaf is the account's root and the witnesses fold up to the header's root
      expect(hex(foldProof(accountRoot(acc), proof.gindex, proof.witnesses)!)).toBe(hex(root));
    });
    await db.close();
  });

  it("genesis proofs verify against the genesis root and not against the new one (balances changed)", async () => {
    const { db, chain, genesisRoot, genesisProofs, genesisAccounts } = await chainWithBlock();
    genesisProofs.forEach((p, i) => {
      expect(verifyAccountProof(genesisRoot, genesisAccounts[i]!, p)).toBe(true);
      expect(verifyAccountProof(chain.head.header.stateRoot, genesisAccounts[i]!, p)).toBe(false);
    });
    await db.close();
  });

  it("rejects a tampered balance, nonce or address, a tampered branch node, another account's proof, another root", async () => {
    const { db, chain } = await chainWithBlock();
    const root = chain.head.header.stateRoot;
    const accounts = [...chain.world.accounts];
    const proofs = accounts.map((_, i) => createAccountProof(chain.world, i));
    fc.assert(
      fc.property(
        fc.nat({ max: accounts.length - 1 }),
        fc.nat({ max: accounts.length - 1 }),
        fc.bigInt({ min: 1n, max: MAX_U64 }),
        fc.nat({ max: 34 }),
        fc.nat({ max: 255 }),
        fc.integer({ min: 1, max: 255 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (i, j, delta, wi, byte, x, otherRoot) => {
          const acc = accounts[i]!;
          const p = proofs[i]!;
          expect(verifyAccountProof(root, acc, p)).toBe(true);
          expect(verifyAccountProof(root, { ...acc, balance: (acc.balance + delta) & MAX_U64 }, p)).toBe(false);
          expect(verifyAccountProof(root, { ...acc, nonce: (acc.nonce + delta) & MAX_U64 }, p)).toBe(false);
          const addr = acc.address.slice();
          addr[byte % 20] ^= x;
          expect(verifyAccountProof(root, { ...acc, address: addr }, p)).toBe(false);
          const witnesses = p.witnesses.map((w) => w.slice());
          witnesses[wi]![byte % 32] ^= x;
          expect(verifyAccountProof(root, acc, { ...p, witnesses })).toBe(false);
          if (i !== j) {
            // another account's data with this proof, and this account with the other's proof
            expect(verifyAccountProof(root, accounts[j]!, p)).toBe(false);
            expect(verifyAccountProof(root, acc, proofs[j]!)).toBe(false);
            // claiming another index with these witnesses
            const moved: AccountProof = { index: j, gindex: accountGindex(j), witnesses: p.witnesses };
            expect(verifyAccountProof(root, acc, moved)).toBe(false);
            // a valid proof of account j relabelled as index i: the position it claims must match its gindex
            expect(verifyAccountProof(root, accounts[j]!, { ...proofs[j]!, index: i })).toBe(false);
          }
          // a gindex inconsistent with the index
          expect(verifyAccountProof(root, acc, { ...p, gindex: p.gindex + 1n })).toBe(false);
          if (hex(otherRoot) !== hex(root)) expect(verifyAccountProof(otherRoot, acc, p)).toBe(false);
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
    // missing witnesses
    const p0 = proofs[0]!;
    expect(verifyAccountProof(root, accounts[0]!, { ...p0, witnesses: p0.witnesses.slice(0, -1) })).toBe(false);
    expect(verifyAccountProof(root, accounts[0]!, { ...p0, witnesses: [] })).toBe(false);
    // padded with an extra witness: not a proof of this path
    expect(verifyAccountProof(root, accounts[0]!, { ...p0, witnesses: [...p0.witnesses, new Uint8Array(32)] })).toBe(false);
    // an index past the end: the leaf there is empty, no account proves into it
    const past = createAccountProof(chain.world, accounts.length);
    expect(verifyAccountProof(root, accounts[0]!, past)).toBe(false);
    expect(verifyAccountProof(root, { address: new Uint8Array(20), balance: 0n, nonce: 0n }, past)).toBe(false);
    await db.close();
  });
});

describe("incremental state root", () => {
  const staking = genesisStaking(
    [{ name: "v", address: new Uint8Array(20).fill(0xaa), publicKey: new Uint8Array(1312).fill(0xbb), anchorAddress: new Uint8Array(20), power: 100n, commissionBps: 0 }],
    DEFAULT_PARAMS,
  );
  const validators = staking;
  const staked = staking.staking[0]!.tokens;
  const addr = (n: number) => {
    const a = new Uint8Array(20);
    new DataView(a.buffer).setUint32(0, n + 1);
    return a;
  };
  const balanceArb = fc.bigInt({ min: 0n, max: 1n << 60n });
  /** A block: balance updates of accounts picked by number (existing or new), and whether it is discarded instead of committed. */
  const blockArb = fc.record({
    updates: fc.array(fc.tuple(fc.nat({ max: 40 }), balanceArb), { minLength: 0, maxLength: 12 }),
    discard: fc.boolean(),
  });

  it("property: seal() roots over random blocks equal the root of a WorldState built from scratch with the final balances", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 15 }), fc.array(balanceArb, { minLength: 15, maxLength: 15 }), fc.array(blockArb, { minLength: 1, maxLength: 8 }), (genesisIds, genesisBalances, blocks) => {
          const order: number[] = [...genesisIds];
          const balances = new Map<number, bigint>(genesisIds.map((id, k) => [id, genesisBalances[k]!]));
          const world = WorldState.fromGenesis(
            genesisIds.map((id) => ({ address: addr(id), balance: balances.get(id)! })),
            validators,
          );
          const totalsOf = (m: Map<number, bigint>) => ({ supply: [...m.values()].reduce((s, b) => s + b, 0n) + staked, burned: 0n, pouwPool: 0n, staked, rewardsOutstanding: 0n, escrowed: 0n, withdrawn: 0n });
          const fromScratch = (ids: number[], m: Map<number, bigint>) => WorldState.fromGenesis(ids.map((id) => ({ address: addr(id), balance: m.get(id)! })), validators);
          const byValue = (ids: number[], m: Map<number, bigint>) =>
            State.hashTreeRoot({
              accounts: ids.map((id) => ({ address: addr(id), balance: m.get(id)!, nonce: 0n })),
              validators: staking.validators,
              lastValidators: staking.validators,
              priorities: [0n],
              staking: staking.staking,
              signingInfos: staking.signingInfos,
              delegations: staking.delegations,
              unbonding: [],
              totals: totalsOf(m),
              jobs: [],
              proofs: [],
              withdrawals: [],
              checkpoints: [],
            });
          expect(hex(world.root)).toBe(hex(byValue(order, balances)));

          for (const blk of blocks) {
            const before = hex(world.root);
            const overlay = new StateOverlay(world);
            const next = new Map(balances);
            const nextOrder = [...order];
            for (const [id, bal] of blk.updates) {
              overlay.mutable(addrKey(addr(id)), addr(id)).balance = bal;
              if (!next.has(id)) nextOrder.push(id);
              next.set(id, bal);
            }
            overlay.totals = totalsOf(next);
            const sealed = overlay.seal();
            // sealing never touches the committed state
            expect(hex(world.root)).toBe(before);
            expect(hex(sealed.root)).toBe(hex(byValue(nextOrder, next)));
            if (blk.discard) continue;
            adoptSealed(world, sealed);
            order.splice(0, order.length, ...nextOrder);
            balances.clear();
            for (const [k, v] of next) balances.set(k, v);
            expect(hex(world.root)).toBe(hex(sealed.root));
          }
          expect(hex(world.root)).toBe(hex(fromScratch(order, balances).root));
          expect(hex(world.root)).toBe(hex(byValue(order, balances)));
          expect([...world.accounts].map((a) => hex(a.address))).toEqual(order.map((id) => hex(addr(id))));
          // and every account proves against the final root
          [...world.accounts].forEach((acc, i) => expect(verifyAccountProof(world.root, acc, createAccountProof(world, i))).toBe(true));
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });

  it("the sealed changes persist: genesis ops + sealed ops load back to the same root and accounts", async () => {
    const db = await openDb(null);
    const world = WorldState.fromGenesis([0, 1, 2].map((i) => ({ address: addr(i), balance: 1000n * BigInt(i + 1) })), validators);
    await db.batch(world.fullWriteOps());
    for (let round = 0; round < 3; round++) {
      const overlay = new StateOverlay(world);
      overlay.mutable(addrKey(addr(round)), addr(round)).balance += 5n;
      const created = addr(100 + round);
      overlay.mutable(addrKey(created), created).balance = 7n;
      overlay.totals = { ...overlay.totals, supply: overlay.totals.supply + 12n };
      const sealed = overlay.seal();
      await db.batch(sealedWriteOps(world, sealed));
      adoptSealed(world, sealed);
    }
    const loaded = (await WorldState.load(db, 3))!;
    expect(hex(loaded.root)).toBe(hex(world.root));
    const plain = (accs: AccountT[]) => accs.map((a) => ({ address: hex(a.address), balance: a.balance, nonce: a.nonce }));
    expect(plain([...loaded.accounts])).toEqual(plain([...world.accounts]));
    expect(loaded.totals).toEqual(world.totals);
    expect(loaded.accounts.count).toBe(6);
    await db.close();
  });
});
