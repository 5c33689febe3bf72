/**
 * Which authenticated tree for the state (DESIGN §5)? One second of the
 * throughput target (8,000 transfers = 16,000 account updates among 100,000
 * accounts) plus the new root, measured for both candidates in one run:
 *   - @ethereumjs/mpt (Merkle-Patricia trie, in memory)
 *   - an @chainsafe/ssz list of accounts as a ViewDU with the native hashtree hasher (what node/state uses)
 *
 *   npm run bench:state
 */
import { randomBytes } from "node:crypto";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { StateOverlay, WorldState, adoptSealed, addrKey } from "../node/state/world.ts";
import { genesisStaking } from "../node/chain/staking.ts";
import { DEFAULT_PARAMS } from "../node/types/params.ts";
import { Account } from "../node/state/schemas.ts";

const ACCOUNTS = 100_000;
const UPDATES = 16_000;
const ROUNDS = 3;

const addrs = Array.from({ length: ACCOUNTS }, () => new Uint8Array(randomBytes(20)));
const pick = (r: number, i: number) => addrs[(i * 7919 + r * 104729) % ACCOUNTS]!;

async function mpt(): Promise<number[]> {
  const trie = new MerklePatriciaTrie({ useKeyHashing: true });
  for (const a of addrs) await trie.put(a, Account.serialize({ address: a, balance: 1000n, nonce: 0n }));
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < UPDATES; i++) {
      const a = pick(r, i);
      await trie.put(a, Account.serialize({ address: a, balance: BigInt(1000 + r + i), nonce: BigInt(r) }));
    }
    trie.root();
    times.push(performance.now() - t);
  }
  return times;
}

function ssz(): number[] {
  const world = WorldState.fromGenesis(addrs.map((a) => ({ address: a, balance: 1000n })), genesisStaking([], DEFAULT_PARAMS));
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    const o = new StateOverlay(world);
    for (let i = 0; i < UPDATES; i++) {
      const a = pick(r, i);
      const acc = o.mutable(addrKey(a), a);
      acc.balance += 1n;
      acc.nonce = BigInt(r);
    }
    const sealed = o.seal();
    adoptSealed(world, sealed);
    times.push(performance.now() - t);
  }
  return times;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`bench:state — ${UPDATES} account updates among ${ACCOUNTS} + new root, median of ${ROUNDS}`);
const s = median(ssz());
console.log(`ssz ViewDU + hashtree  ${s.toFixed(0)} ms`);
const m = median(await mpt());
console.log(`@ethereumjs/mpt        ${m.toFixed(0)} ms`);
console.log(`ratio                  ${(m / s).toFixed(1)}x in favour of ${m > s ? "ssz" : "mpt"}`);
