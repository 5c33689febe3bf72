/**
 * Property: over random blocks of staking transactions, absent signers and
 * double-sign evidence, the supply always equals balances + staked + unpaid
 * rewards + PoUW pool, shares add up per validator, the active set is never
 * empty, and a second node importing the same blocks (every commit and
 * signature checked) and a reload from disk reach the same state root.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { voteSigningMessage } from "../../../node/chain/commit.ts";
import { makeEvidence } from "../../../node/chain/evidence.ts";
import { pendingRewards } from "../../../node/chain/staking.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { openDb } from "../../../node/db/database.ts";
import { WorldState, addrKey } from "../../../node/state/world.ts";
import { VoteType, type VoteT } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import type { TxEnvelope } from "../../../node/types/txcodec.ts";
import { ChainDriver } from "../../helpers/chain-driver.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { body, signedTx } from "../../helpers/tx.ts";

const SEED = 0x5ea4e;
const net = makeTestNet({
  validators: 4,
  accounts: 4,
  label: "staking-prop",
  params: { epochLength: 3, signedBlocksWindow: 4, minSignedPerWindowBps: 5000, downtimeJailBlocks: 2, unbondingBlocks: 4 },
});
const PR = 1_000_000_000n;
const joiners = [0, 1, 2].map((i) => AccountKey.fromLabel(`staking-prop/joiner/${i}`));

const opArb = fc.oneof(
  fc.record({ kind: fc.constant("delegate" as const), from: fc.nat({ max: 3 }), to: fc.nat({ max: 6 }), amount: fc.bigInt({ min: 1n, max: 30n * PR }) }),
  fc.record({ kind: fc.constant("undelegate" as const), from: fc.nat({ max: 3 }), to: fc.nat({ max: 6 }), part: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("create" as const), from: fc.nat({ max: 3 }), joiner: fc.nat({ max: 2 }), amount: fc.bigInt({ min: PR / 2n, max: 40n * PR }), commission: fc.nat({ max: 10_000 }) }),
  fc.record({ kind: fc.constant("withdraw" as const), from: fc.nat({ max: 3 }), all: fc.boolean(), to: fc.nat({ max: 6 }) }),
  fc.record({ kind: fc.constant("unjail" as const), from: fc.nat({ max: 3 }) }),
);
const blockArb = fc.record({
  ops: fc.array(opArb, { maxLength: 4 }),
  /** Genesis validator 3 misses this block's commit. */
  absent: fc.boolean(),
  /** Evidence against a genesis validator for an earlier height. */
  equivocator: fc.option(fc.nat({ max: 3 }), { freq: 6 }),
});

describe("staking state transition (property)", () => {
  it("keeps the supply identity and share sums, and replays to the same root on a second node and from disk", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(blockArb, { minLength: 6, maxLength: 12 }), async (blocks) => {
        const d = await ChainDriver.open(net.genesisJson, net.validators);
        for (const j of joiners) d.addKey(j);
        const validatorAddr = (i: number) => (i < 4 ? net.validators[i]! : joiners[i - 4]!).address;
        const nonce = new Map<string, bigint>();
        const sign = (key: AccountKey, b: Parameters<typeof signedTx>[1]["body"]): TxEnvelope => {
          const k = addrKey(key.address);
          const n = nonce.get(k) ?? d.chain.world.getAccount(key.address)?.nonce ?? 0n;
          nonce.set(k, n + 1n);
          return signedTx(key, { nonce: n, body: b }).env;
        };
        try {
          for (const blk of blocks) {
            nonce.clear();
            const w = d.chain.world;
            const txs: TxEnvelope[] = [];
            for (const op of blk.ops) {
              const from = net.accounts[op.from]!;
              if (op.kind === "delegate") txs.push(sign(from, body.delegate(validatorAddr(op.to), op.amount)));
              else if (op.kind === "undelegate") {
                const vi = w.validatorIndex.get(addrKey(validatorAddr(op.to)));
                const di = vi === undefined ? undefined : w.delegationIndex.get(`${addrKey(from.address)}/${vi}`);
                const shares = di === undefined ? 1n : w.delegations[di]!.shares / BigInt(op.part);
                txs.push(sign(from, body.undelegate(validatorAddr(op.to), shares === 0n ? 1n : shares)));
              } else if (op.kind === "create") txs.push(sign(from, body.createValidator(joiners[op.joiner]!.publicKey, op.amount, op.commission)));
              else if (op.kind === "withdraw") txs.push(sign(from, body.withdrawRewards(op.all ? undefined : validatorAddr(op.to))));
              else txs.push(sign(from, body.unjail()));
            }
            const evidence = [];
            if (blk.equivocator !== null && d.height >= 1) {
              const key = net.validators[blk.equivocator]!;
              const vote = (fill: number): VoteT => {
                const blockHash = new Uint8Array(32).fill(fill);
                const msg = voteSigningMessage(d.chain.ctx.chainId, VoteType.Precommit, d.height, 0, blockHash);
                return { type: VoteType.Precommit, height: d.height, round: 0, blockHash, validator: key.address, signature: key.sign(msg) };
              };
              evidence.push(makeEvidence(vote(1), vote(2)));
            }
            // Validator 3 may be absent, unless the others lack 2/3 without it.
            const set = d.chain.world.validators;
            const total = set.reduce((s, v) => s + v.power, 0n);
            const v3 = set.find((v) => addrKey(v.address) === addrKey(net.validators[3]!.address));
            const offline = blk.absent && v3 && (total - v3.power) * 3n > total * 2n ? [v3.address] : [];
            await d.next(txs, { evidence, offline });
            check(d.chain.world);
          }
          // A second node imports every block, checking commits and signatures itself.
          const db2 = await openDb(null);
          const genesis = parseGenesis(JSON.parse(net.genesisJson));
          const other = await Blockchain.open(db2, genesis, genesisFileHash(net.genesisJson));
          const items = [];
          for (let h = 1; h <= d.height; h++) items.push({ block: (await d.chain.store.getBlock(h))!, commit: (await d.chain.store.getCommit(h))! });
          const res = await other.importBatch(items, { now: d.chain.head.header.time });
          expect(res.error).toBeUndefined();
          expect(Buffer.from(other.world.root).toString("hex")).toBe(Buffer.from(d.chain.world.root).toString("hex"));
          await db2.close();
          const loaded = (await WorldState.load(d.db, d.height))!;
          expect(Buffer.from(loaded.root).toString("hex")).toBe(Buffer.from(d.chain.world.root).toString("hex"));
          // A node restarted from disk executes the next blocks exactly like one that never stopped.
          const reopened = await Blockchain.open(d.db, genesis, genesisFileHash(net.genesisJson));
          for (let k = 0; k < 3; k++) {
            const built = d.chain.build({ time: d.chain.head.header.time + 1000, proposer: d.proposer(), candidates: [] });
            const res2 = reopened.verify(built.block, [], built.block.header.time);
            expect(Buffer.from(res2.sealed.root).toString("hex")).toBe(Buffer.from(built.block.header.stateRoot).toString("hex"));
            await d.next();
            const c = (await d.chain.store.getCommit(d.height))!;
            const imp = await reopened.importBatch([{ block: (await d.chain.store.getBlock(d.height))!, commit: c }], { now: d.chain.head.header.time });
            expect(imp.error).toBeUndefined();
          }
        } finally {
          await d.close();
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  }, 120_000);
});

function check(w: WorldState): void {
  const t = w.totals;
  const balances = [...w.accounts].reduce((s, a) => s + a.balance, 0n);
  expect(balances + t.staked + t.rewardsOutstanding + t.pouwPool + t.escrowed).toBe(t.supply);
  expect(w.staking.reduce((s, v) => s + v.tokens, 0n) + w.unbonding.reduce((s, e) => s + e.amount, 0n)).toBe(t.staked);
  w.staking.forEach((v, i) => expect(w.delegations.filter((x) => x.validator === i).reduce((s, x) => s + x.shares, 0n)).toBe(v.delegatorShares));
  const owed = w.delegations.reduce((s, x) => s + pendingRewards(w.staking[x.validator]!, x), 0n) + w.staking.reduce((s, v) => s + v.commission, 0n);
  expect(owed <= t.rewardsOutstanding).toBe(true);
  expect(w.validators.length).toBeGreaterThan(0);
  expect(w.priorities.length).toBe(w.validators.length);
  for (const v of w.validators) expect(v.power > 0n).toBe(true);
}
