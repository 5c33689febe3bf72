/**
 * A driven chain (real Blockchain, memory-level) whose one block carries
 * `challenges` ChallengeProofs, each naming a different segment of one
 * honest proof, so each needs a different start checkpoint blob to execute
 * (they all fail, CHALLENGE_FAILED: only their fees are paid). For tests of
 * what a node must hold to import or verify such a block.
 */
import { expect } from "vitest";
import { proofIdOf } from "../../node/chain/jobs.ts";
import type { AccountKey } from "../../node/crypto/keys.ts";
import { syntheticDataset } from "../../node/pouw/datasets.ts";
import { merkleBranch } from "../../node/pouw/merkle.ts";
import { prove } from "../../node/pouw/proof.ts";
import { f32ToBits } from "../../node/pouw/training.ts";
import { ReceiptStatus } from "../../node/types/block.ts";
import { TxSelector, type JobSpecT } from "../../node/types/transaction.ts";
import { toHex } from "../../node/util/hex.ts";
import { ChainDriver } from "./chain-driver.ts";
import { makeTestNet, type TestNet } from "./genesis.ts";
import { body, signedTx } from "./tx.ts";

const data = syntheticDataset({ seed: "challenge-chain", features: 4, classes: 2, train: 32, validation: 8 });
const SEGMENT = 2;

export interface ChallengeChain {
  net: TestNet;
  driver: ChainDriver;
  /** The proof's checkpoint blobs (blob i is the start of segment i). */
  blobs: Uint8Array[];
  /** Height of the block carrying the challenges. */
  challengeHeight: number;
}

/** `makeTestNet` options for a chain the challenge helper can drive (its dataset, a proof that stays pending). */
export function challengeNet(label: string): TestNet {
  return makeTestNet({
    label,
    validators: 1,
    accounts: 3,
    params: { attestationDeadline: 1000, challengeWindow: 100 },
    datasets: [{ name: data.name, id: toHex(data.id), features: 4, classes: 2, train: 32, validation: 8 }],
  });
}

/** Blocks: 1 CreateJob, 2 SubmitProof, 3 the challenges of segments 0 … n-1, then `extra` empty blocks. */
export async function buildChallengeChain(net: TestNet, challenges: number, extra = 0): Promise<ChallengeChain> {
  const [requester, worker, challenger] = net.accounts as [AccountKey, AccountKey, AccountKey];
  const driver = await ChainDriver.open(net.genesisJson, net.validators);
  const spec: JobSpecT = {
    datasetId: data.id,
    layers: [4, 4, 2],
    learningRateBits: f32ToBits(0.1),
    momentumBits: f32ToBits(0.9),
    batchSize: 4,
    steps: SEGMENT * (challenges + 1),
    segmentLength: SEGMENT,
    seed: new Uint8Array(32).fill(5),
    targetMetric: 0,
    targetThreshold: 0,
    deadline: 10_000,
  };
  const create = signedTx(requester, { nonce: 0n, body: body.createJob(spec, 1_000_000_000n, 1_000_000_000n), gasLimit: 300_000 });
  await driver.next([create.env]);
  const honest = prove(spec, create.env.hash, data);
  const submit = signedTx(worker, { nonce: 0n, body: body.submitProof(create.env.hash, { ...honest.commitment, bond: 1_000_000_000n }), gasLimit: 300_000 });
  await driver.next([submit.env]);
  const proofId = proofIdOf(create.env.hash, submit.env.hash);
  const { hashes, blobs } = honest;
  const txs = Array.from({ length: challenges }, (_, s) =>
    signedTx(challenger, {
      nonce: BigInt(s),
      gasLimit: 1_000_000,
      body: {
        selector: TxSelector.ChallengeProof,
        value: { proofId, segment: s, steps: SEGMENT, startHash: hashes[s]!, startBranch: merkleBranch(hashes, s), endHash: hashes[s + 1]!, endBranch: merkleBranch(hashes, s + 1) },
      } as Parameters<typeof signedTx>[1]["body"],
    }).env,
  );
  const store = new Map(blobs.map((b, i) => [toHex(hashes[i]!), b]));
  driver.chain.ctx.blob = (id) => store.get(toHex(id));
  const r = await driver.next(txs);
  expect(r.txs.length).toBe(challenges);
  expect(r.receipts.every((x) => x.status === ReceiptStatus.Failed && Buffer.from(x.error).toString() === "CHALLENGE_FAILED")).toBe(true);
  const challengeHeight = driver.height;
  for (let i = 0; i < extra; i++) await driver.next([]);
  return { net, driver, blobs, challengeHeight };
}
