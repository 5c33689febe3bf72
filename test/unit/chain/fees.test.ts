/**
 * Gas and EIP-1559 base fees: intrinsicGas against the schedule in params,
 * nextBaseFee / baseFeeAfter against the EIP-1559 rules, and the base fee in
 * the headers of a real chain.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { baseFeeAfter } from "../../../node/chain/block.ts";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { BlockErrorCode } from "../../../node/chain/errors.ts";
import { effectiveTip, intrinsicGas, nextBaseFee } from "../../../node/chain/fees.ts";
import { PrivValidator } from "../../../node/consensus/privval.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { openDb } from "../../../node/db/database.ts";
import { BlockHeader, VoteType, type BlockT } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { DEFAULT_PARAMS, type Params } from "../../../node/types/params.ts";
import { TX_TYPES } from "../../../node/types/transaction.ts";
import { makeTestNet } from "../../helpers/genesis.ts";
import { signedTransfer } from "../../helpers/tx.ts";

const SEED = 20260405;
const withParams = (p: Partial<Params>): Params => ({ ...DEFAULT_PARAMS, ...p });

/** EIP-1559 as specified, written out here independently of node/chain/fees.ts. */
function eip1559(parent: bigint, used: bigint, p: Params): bigint {
  const target = BigInt(p.maxBlockGas) / BigInt(p.elasticityMultiplier);
  const d = BigInt(p.baseFeeChangeDenominator);
  let next = parent;
  if (used > target) {
    const delta = (parent * (used - target)) / target / d;
    next = parent + (delta < 1n ? 1n : delta);
  } else if (used < target) {
    next = parent - (parent * (target - used)) / target / d;
  }
  return next < p.minBaseFeePerGas ? p.minBaseFeePerGas : next;
}

describe("intrinsicGas", () => {
  const key = AccountKey.fromLabel("fees/key");
  const to = AccountKey.fromLabel("fees/to").address;

  it("of a transfer is base.Transfer + perByte × encoded length (length from the SSZ layout)", () => {
    for (const chainId of ["pouw-test-1", "x", "a-chain-id-of-exactly-32-bytes!!"]) {
      const { env, bytes } = signedTransfer(key, { chainId, nonce: 0n, to, amount: 1n });
      // offset(tx) 4 + signature 2420 + tx fixed part 1352 + chainId + selector 1 + Transfer (20 + 8)
      const length = 4 + 2420 + 1352 + Buffer.byteLength(chainId) + 1 + 28;
      expect(bytes.length).toBe(length);
      expect(intrinsicGas(env, DEFAULT_PARAMS)).toBe(DEFAULT_PARAMS.gas.base.Transfer! + DEFAULT_PARAMS.gas.perByte * length);
      expect(intrinsicGas(env, DEFAULT_PARAMS)).toBe(21_000 + 2 * length);
    }
  });

  it("reads the schedule from params, not constants", () => {
    const { env } = signedTransfer(key, { nonce: 0n, to, amount: 1n });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 1000 }), (base, perByte) => {
        const p = withParams({ gas: { ...DEFAULT_PARAMS.gas, base: { ...DEFAULT_PARAMS.gas.base, Transfer: base }, perByte } });
        expect(intrinsicGas(env, p)).toBe(base + perByte * env.bytes.length);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it("uses each type's own base cost, and throws for a type without one", () => {
    const bytes = new Uint8Array(100);
    for (const type of TX_TYPES) expect(intrinsicGas({ type, bytes }, DEFAULT_PARAMS)).toBe(DEFAULT_PARAMS.gas.base[type]! + 200);
    const p = withParams({ gas: { ...DEFAULT_PARAMS.gas, base: { Transfer: 1 } } });
    expect(() => intrinsicGas({ type: "Delegate", bytes }, p)).toThrow(/no gas schedule/);
  });
});

describe("nextBaseFee", () => {
  const P = DEFAULT_PARAMS; // maxBlockGas 400M, elasticity 2, denominator 8, min 1
  const target = P.maxBlockGas / P.elasticityMultiplier;

  it("a full block raises the base fee by 1/8 (rounded down, at least 1)", () => {
    expect(nextBaseFee(1000n, P.maxBlockGas, P)).toBe(1125n);
    expect(nextBaseFee(1_000_000_007n, P.maxBlockGas, P)).toBe(1_000_000_007n + 125_000_000n);
    expect(nextBaseFee(7n, P.maxBlockGas, P)).toBe(8n); // 7/8 rounds to 0, the minimum step is 1
    expect(nextBaseFee(1n, P.maxBlockGas, P)).toBe(2n);
  });

  it("an empty block lowers it by 1/8 (rounded down)", () => {
    expect(nextBaseFee(1000n, 0, P)).toBe(875n);
    expect(nextBaseFee(1001n, 0, P)).toBe(1001n - 125n);
    expect(nextBaseFee(9n, 0, P)).toBe(8n);
    expect(nextBaseFee(7n, 0, P)).toBe(7n); // 7/8 rounds to 0: no change
  });

  it("a half-full block (gas used = target) keeps it", () => {
    for (const fee of [1n, 2n, 1000n, 10n ** 18n]) expect(nextBaseFee(fee, target, P)).toBe(fee);
  });

  it("moves proportionally between empty, target and full", () => {
    expect(nextBaseFee(800n, target + target / 2, P)).toBe(850n); // +1/16
    expect(nextBaseFee(800n, target / 2, P)).toBe(750n); // -1/16
    expect(nextBaseFee(800n, target + 1, P)).toBe(801n); // tiny excess: minimum step 1
    expect(nextBaseFee(800n, target - 1, P)).toBe(800n); // tiny shortfall rounds to no change
  });

  it("never goes below the minimum", () => {
    const p = withParams({ minBaseFeePerGas: 100n });
    expect(nextBaseFee(100n, 0, p)).toBe(100n);
    expect(nextBaseFee(110n, 0, p)).toBe(100n); // 110 - 13 = 97, clamped
    expect(nextBaseFee(120n, 0, p)).toBe(105n);
    expect(nextBaseFee(50n, 0, p)).toBe(100n); // a parent below the floor is lifted to it
  });

  it("property: per block the fee moves by at most 1/8 (+1 for rounding), in the direction of the load, and stays >= the minimum", () => {
    const paramsArb = fc.oneof(
      fc.constant(P),
      fc.record({
        maxBlockGas: fc.integer({ min: 1, max: 50_000 }).map((n) => 2 * n),
        minBaseFeePerGas: fc.bigInt({ min: 1n, max: 1000n }),
        baseFeeChangeDenominator: fc.constantFrom(8),
      }).map((r) => withParams(r)),
    );
    fc.assert(
      fc.property(
        paramsArb,
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (p, startAbove, loads) => {
          let fee = p.minBaseFeePerGas + startAbove;
          const tgt = p.maxBlockGas / p.elasticityMultiplier;
          for (const load of loads) {
            const used = Math.round(load * p.maxBlockGas);
            const next = nextBaseFee(fee, used, p);
            expect(next).toBe(eip1559(fee, BigInt(used), p));
            expect(next >= p.minBaseFeePerGas).toBe(true);
            const maxStep = fee / 8n + 1n;
            if (used > tgt) {
              expect(next > fee).toBe(true);
              expect(next - fee <= maxStep).toBe(true);
            } else if (used < tgt) {
              expect(next <= fee).toBe(true);
              expect(fee - next <= maxStep).toBe(true);
            } else {
              expect(next).toBe(fee);
            }
            fee = next;
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("effectiveTip", () => {
  it("is min(maxPriorityFee, maxFee - baseFee), and -1 when maxFee is below the base fee", () => {
    expect(effectiveTip(10n, 1n, 7n)).toBe(1n);
    expect(effectiveTip(10n, 5n, 7n)).toBe(3n);
    expect(effectiveTip(7n, 5n, 7n)).toBe(0n);
    expect(effectiveTip(6n, 0n, 7n)).toBe(-1n);
  });
});

describe("baseFeeAfter", () => {
  const header = (height: number, baseFeePerGas: bigint, gasUsed: number) => ({ header: { ...BlockHeader.defaultValue(), height, baseFeePerGas, gasUsed }, hash: new Uint8Array(32) });

  it("is the initial base fee after genesis, whatever the genesis header says", () => {
    const p = withParams({ initialBaseFeePerGas: 1234n });
    expect(baseFeeAfter(header(0, 1n, 0), p)).toBe(1234n);
    expect(baseFeeAfter(header(0, 99n, p.maxBlockGas), p)).toBe(1234n);
  });

  it("follows EIP-1559 from the parent header after that", () => {
    const p = withParams({ minBaseFeePerGas: 10n });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.bigInt({ min: 10n, max: 10n ** 15n }), fc.integer({ min: 0, max: p.maxBlockGas }), (h, fee, used) => {
        expect(baseFeeAfter(header(h, fee, used), p)).toBe(eip1559(fee, BigInt(used), p));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe("base fee through the chain", () => {
  async function openChain(params: Partial<Params>, label: string) {
    const net = makeTestNet({ accounts: 4, label, params });
    const db = await openDb(null);
    const chain = await Blockchain.open(db, parseGenesis(JSON.parse(net.genesisJson)), genesisFileHash(net.genesisJson));
    const privval = await PrivValidator.open(db, net.validator, chain.ctx.chainId);
    const commitNext = async (candidates: Parameters<Blockchain["build"]>[0]["candidates"]) => {
      const built = chain.build({ time: chain.head.header.time + 1000, proposer: net.validator.address, candidates });
      // The block must also pass full verification (including the previous block's commit).
      chain.verify(built.block, built.result.txs, built.block.header.time);
      const h = built.block.header.height;
      await privval.signVote(VoteType.Prevote, h, 0, built.hash);
      const signature = await privval.signVote(VoteType.Precommit, h, 0, built.hash);
      await chain.commit(built.block, built.hash, built.result, { height: h, round: 0, blockHash: built.hash, signatures: [{ validator: net.validator.address, signature }] });
      return built;
    };
    return { net, db, chain, commitNext };
  }

  it("empty blocks walk the header base fee down by 1/8 per block to the floor, and it stays there", async () => {
    const { db, chain, commitNext } = await openChain({ initialBaseFeePerGas: 1000n, minBaseFeePerGas: 100n }, "fees-empty");
    const seen: bigint[] = [];
    let expected = 1000n;
    for (let i = 0; i < 25; i++) {
      const built = await commitNext([]);
      expect(built.block.header.gasUsed).toBe(0);
      expect(built.block.header.baseFeePerGas).toBe(expected);
      seen.push(built.block.header.baseFeePerGas);
      const dropped = expected - expected / 8n;
      expected = dropped < 100n ? 100n : dropped;
    }
    expect(seen.slice(0, 4)).toEqual([1000n, 875n, 766n, 671n]);
    expect(seen.at(-1)).toBe(100n);
    const firstAtFloor = seen.indexOf(100n);
    expect(firstAtFloor).toBeGreaterThan(10);
    expect(seen.slice(firstAtFloor).every((f) => f === 100n)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! <= seen[i - 1]!).toBe(true);
    expect(chain.head.header.height).toBe(25);
    await db.close();
  });

  it("blocks above the target raise it, blocks at the floor stay; a wrong header base fee is rejected", async () => {
    // A block of two transfers uses ~57k gas; with maxBlockGas 60k the target is 30k.
    const { net, db, chain, commitNext } = await openChain({ initialBaseFeePerGas: 1000n, minBaseFeePerGas: 1n, maxBlockGas: 60_000 }, "fees-full");
    const p = chain.params;
    const [a, b] = net.accounts as [AccountKey, AccountKey];
    const busy = await commitNext([
      signedTransfer(a, { chainId: net.chainId, nonce: 0n, to: b.address, amount: 1n, maxFeePerGas: 2000n, gasLimit: 29_000 }).env,
      signedTransfer(b, { chainId: net.chainId, nonce: 0n, to: a.address, amount: 1n, maxFeePerGas: 2000n, gasLimit: 29_000 }).env,
    ]);
    expect(busy.result.txs.length).toBe(2);
    const used = busy.block.header.gasUsed;
    expect(used).toBeGreaterThan(30_000);
    expect(busy.block.header.baseFeePerGas).toBe(1000n);
    const next = await commitNext([]);
    const raised = 1000n + (1000n * BigInt(used - 30_000)) / 30_000n / 8n;
    expect(raised).toBeGreaterThan(1000n);
    expect(next.block.header.baseFeePerGas).toBe(raised);
    expect(next.block.header.baseFeePerGas).toBe(eip1559(1000n, BigInt(used), p));
    // After the empty block it falls again.
    const after = chain.build({ time: chain.head.header.time + 1000, proposer: net.validator.address, candidates: [] });
    expect(after.block.header.baseFeePerGas).toBe(raised - raised / 8n);
    // verify insists on the EIP-1559 base fee.
    for (const wrong of [raised, raised - raised / 8n + 1n, raised - raised / 8n - 1n]) {
      const block: BlockT = { ...after.block, header: { ...after.block.header, baseFeePerGas: wrong } };
      expect(() => chain.verify(block, [], block.header.time)).toThrow(expect.objectContaining({ code: BlockErrorCode.BAD_BASE_FEE }));
    }
    await db.close();
  });
});
