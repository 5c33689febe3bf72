/**
 * The flat account tree against the SSZ library's own List[Account, 2^32]:
 * the same root after any sequence of sealed, adopted and discarded blocks
 * (across the arrays' growth), the same proof witnesses, and an index that
 * finds exactly the accounts it holds.
 */
import { ProofType, createProof, type SingleProof } from "@chainsafe/persistent-merkle-tree";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AccountTree } from "../../../node/state/account-tree.ts";
import { AccountList, type AccountT } from "../../../node/state/schemas.ts";

const SEED = 20261202;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const addr = (n: number) => {
  const a = new Uint8Array(20);
  new DataView(a.buffer).setUint32(16, n + 1);
  a[0] = n % 7; // addresses sharing most bytes, as an attacker could pick them
  return a;
};
const sszRoot = (accounts: AccountT[]) => hex(AccountList.hashTreeRoot(accounts));

describe("AccountTree", () => {
  it("property: roots after random blocks (updates, creations, discarded seals) equal SSZ List[Account, 2^32] roots", () => {
    const block = fc.record({
      updates: fc.array(fc.tuple(fc.nat({ max: 5000 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: 1000n })), { maxLength: 20 }),
      created: fc.nat({ max: 700 }),
      discard: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.nat({ max: 1500 }), fc.array(block, { minLength: 1, maxLength: 6 }), (genesis, blocks) => {
        const model: AccountT[] = Array.from({ length: genesis }, (_, i) => ({ address: addr(i), balance: BigInt(i) * 3n, nonce: 0n }));
        const tree = AccountTree.fromAccounts(model);
        expect(hex(tree.root)).toBe(sszRoot(model));
        for (const b of blocks) {
          const before = hex(tree.root);
          const next = model.map((a) => ({ ...a }));
          const values = new Map<number, AccountT>();
          if (next.length > 0) for (const [k, balance, nonce] of b.updates) {
            const i = k % next.length;
            next[i] = { ...next[i]!, balance, nonce };
            values.set(i, next[i]!);
          }
          for (let c = 0; c < b.created; c++) {
            const a = { address: addr(next.length), balance: BigInt(c), nonce: 1n };
            values.set(next.length, a);
            next.push(a);
          }
          // Any order in: the tree sorts.
          const delta = tree.seal([...values].reverse());
          expect(hex(tree.root)).toBe(before);
          expect(hex(delta.root)).toBe(sszRoot(next));
          if (b.discard) continue;
          tree.adopt(delta);
          model.splice(0, model.length, ...next);
          expect(hex(tree.root)).toBe(sszRoot(model));
          expect(() => tree.adopt(delta)).toThrow(/version/);
        }
        expect(tree.count).toBe(model.length);
        expect([...tree].map((a) => [hex(a.address), a.balance, a.nonce])).toEqual(model.map((a) => [hex(a.address), a.balance, a.nonce]));
        for (let i = 0; i < model.length; i += Math.max(1, model.length >> 4)) {
          expect(tree.indexOf(model[i]!.address)).toBe(i);
          expect(tree.indexOfKey(hex(model[i]!.address))).toBe(i);
        }
        expect(tree.indexOf(addr(model.length + 5))).toBeUndefined();
        // A rebuild from the columns gives the same root.
        expect(hex(AccountTree.fromColumns(tree.columns()).root)).toBe(hex(tree.root));
        // And so do stored leaf roots, with the ones marked fresh hashed again.
        const leaves = tree.leafRoots().slice();
        if (model.length > 0) leaves.fill(7, 0, 32);
        expect(hex(AccountTree.fromColumns(tree.columns(), { roots: leaves, fresh: [0] }).root)).toBe(hex(tree.root));
        if (model.length > 0) expect(hex(AccountTree.fromColumns(tree.columns(), { roots: leaves, fresh: [] }).root)).not.toBe(hex(tree.root));
      }),
      { seed: SEED, numRuns: 40 },
    );
  });

  it("witnesses equal the SSZ library's single proof of each account in the list, and past the end", () => {
    const accounts = Array.from({ length: 37 }, (_, i) => ({ address: addr(i), balance: BigInt(i), nonce: BigInt(i % 3) }));
    const tree = AccountTree.fromAccounts(accounts);
    const view = AccountList.toViewDU(accounts);
    view.commit();
    for (const i of [0, 1, 17, 35, 36, 37, 64]) {
      const gindex = AccountList.getPathInfo([i]).gindex;
      const proof = createProof(view.node, { type: ProofType.single, gindex }) as SingleProof;
      expect(tree.witnesses(i).map(hex)).toEqual(proof.witnesses.map(hex));
    }
  });

  it("refuses what would corrupt it: a stale delta, a gap in new accounts, an account sealed twice, a short address, a repeated genesis address", () => {
    const tree = AccountTree.fromAccounts([0, 1, 2].map((i) => ({ address: addr(i), balance: 1n, nonce: 0n })));
    const a = tree.seal([[0, { address: addr(0), balance: 5n, nonce: 1n }]]);
    const b = tree.seal([[1, { address: addr(1), balance: 6n, nonce: 1n }]]);
    tree.adopt(b);
    expect(() => tree.adopt(a)).toThrow(/version/);
    expect(() => tree.seal([[4, { address: addr(9), balance: 1n, nonce: 0n }]])).toThrow(/expected 3/);
    expect(() => tree.seal([[1, { address: addr(1), balance: 1n, nonce: 0n }], [1, { address: addr(1), balance: 2n, nonce: 0n }]])).toThrow(/twice/);
    expect(() => tree.seal([[3, { address: new Uint8Array(19), balance: 1n, nonce: 0n }]])).toThrow(/19 bytes/);
    expect(() => AccountTree.fromAccounts([0, 1, 0].map((i) => ({ address: addr(i), balance: 1n, nonce: 0n })))).toThrow(/repeats/);
    expect(tree.indexOfKey("zz".repeat(20))).toBeUndefined();
    expect(tree.indexOfKey(hex(addr(1)).slice(2))).toBeUndefined();
    expect(tree.get(3)).toBeUndefined();
    expect(tree.get(1)!.balance).toBe(6n);
  });
});
