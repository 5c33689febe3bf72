/** Duplicate-vote evidence: what makes it valid, and blocks that carry it. */
import { describe, expect, it } from "vitest";
import { Blockchain, genesisFileHash } from "../../../node/chain/blockchain.ts";
import { voteSigningMessage } from "../../../node/chain/commit.ts";
import { evidenceHash, makeEvidence, verifyEvidence, type EvidenceContext } from "../../../node/chain/evidence.ts";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { openDb } from "../../../node/db/database.ts";
import { EvidenceRootList, VoteType, type DuplicateVoteEvidenceT, type VoteT } from "../../../node/types/block.ts";
import { parseGenesis } from "../../../node/types/genesis.ts";
import { utf8 } from "../../../node/util/hex.ts";
import { makeTestNet } from "../../helpers/genesis.ts";

const net = makeTestNet({ validators: 4, label: "evidence-test" });
const chainId = utf8(net.chainId);
const genesis = parseGenesis(JSON.parse(net.genesisJson));
const keys = new Map(genesis.validators.map((v) => [Buffer.from(v.address).toString("hex"), v.publicKey]));
const publicKeyOf = (a: Uint8Array) => keys.get(Buffer.from(a).toString("hex"));

function vote(key: AccountKey, height: number, fill: number, over: Partial<VoteT> = {}): VoteT {
  const v = { type: VoteType.Prevote, height, round: 0, blockHash: new Uint8Array(32).fill(fill), validator: key.address, signature: new Uint8Array(2420), ...over };
  v.signature = over.signature ?? key.sign(voteSigningMessage(chainId, v.type, v.height, v.round, v.blockHash));
  return v;
}
const ctx = (over: Partial<EvidenceContext> = {}): EvidenceContext => ({ chainId, publicKeyOf, height: 10, maxAgeBlocks: 100, included: () => false, ...over });
const code = (f: () => void) => {
  try {
    f();
    return "OK";
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
};

describe("duplicate-vote evidence", () => {
  const k = net.validators[1]!;
  const good = makeEvidence(vote(k, 5, 1), vote(k, 5, 2));

  it("accepts two validly signed conflicting votes, in one canonical order", () => {
    expect(code(() => verifyEvidence(good, ctx()))).toBe("OK");
    expect(evidenceHash(makeEvidence(good.voteB, good.voteA))).toBe(evidenceHash(good));
  });

  it("refuses everything else, saying why", () => {
    const cases: [string, DuplicateVoteEvidenceT, Partial<EvidenceContext>][] = [
      ["different validators", makeEvidence(vote(k, 5, 1), vote(net.validators[2]!, 5, 2)), {}],
      ["different height", makeEvidence(vote(k, 5, 1), vote(k, 6, 2)), {}],
      ["do not conflict", { voteA: vote(k, 5, 1), voteB: vote(k, 5, 1, { round: 0 }) }, {}],
      ["canonical order", { voteA: good.voteB, voteB: good.voteA }, {}],
      ["not before", good, { height: 5 }],
      ["older than", good, { height: 200 }],
      ["not registered", makeEvidence(vote(net.accounts[0]!, 5, 1), vote(net.accounts[0]!, 5, 2)), {}],
      ["signature", makeEvidence(vote(k, 5, 1), vote(k, 5, 2, { signature: new Uint8Array(2420).fill(7) })), {}],
      ["not prevotes or precommits", makeEvidence(vote(k, 5, 1, { type: VoteType.Proposal }), vote(k, 5, 2, { type: VoteType.Proposal })), {}],
      ["already included", good, { included: (h) => h === evidenceHash(good) }],
    ];
    for (const [why, ev, over] of cases) {
      const out = code(() => verifyEvidence(ev, ctx(over)));
      expect(out, why).toMatch(/^BLOCK_INVALID_EVIDENCE/);
      expect(out, why).toContain(why);
    }
  });

  it("a block carries valid evidence once; another chain verifies it and refuses it again later", async () => {
    const open = async () => Blockchain.open(await openDb(null), genesis, genesisFileHash(net.genesisJson));
    const a = await open();
    const b = await open();
    const proposer = net.validators[0]!.address;
    // Height 1 first (evidence must be for an earlier height).
    const commitBlock = async (chain: Blockchain, built: ReturnType<Blockchain["build"]>) => {
      const h = built.block.header.height;
      const msg = voteSigningMessage(chainId, VoteType.Precommit, h, 0, built.hash);
      const signatures = net.validators.slice(0, 3).map((v) => ({ validator: v.address, signature: v.sign(msg) }));
      await chain.commit(built.block, built.hash, built.result, { height: h, round: 0, blockHash: built.hash, signatures });
    };
    for (const c of [a, b]) await commitBlock(c, c.build({ time: genesis.genesisTime + 1000, proposer, candidates: [] }));
    const ev = makeEvidence(vote(k, 1, 1), vote(k, 1, 2));
    const bad = makeEvidence(vote(k, 1, 3), vote(k, 1, 4, { signature: new Uint8Array(2420).fill(9) }));
    const built = a.build({ time: genesis.genesisTime + 2000, proposer, candidates: [], evidence: [ev, ev, bad] });
    expect(built.block.body.evidence.map(evidenceHash)).toEqual([evidenceHash(ev)]); // the duplicate and the invalid one left out
    expect(() => b.verify(built.block, [], Date.now())).not.toThrow();
    await commitBlock(a, built);
    await commitBlock(b, { ...built, result: b.verify(built.block, [], Date.now()) });
    expect(b.includedEvidence.get(evidenceHash(ev))).toBe(2);
    // A later block offering the same evidence again is invalid.
    const again = a.build({ time: genesis.genesisTime + 3000, proposer, candidates: [], evidence: [ev] });
    expect(again.block.body.evidence).toEqual([]);
    again.block.body.evidence = [ev];
    again.block.header.evidenceRoot = EvidenceRootList.hashTreeRoot([ev]);
    expect(() => b.verify(again.block, [], Date.now())).toThrow(/already included/);
  });
});
