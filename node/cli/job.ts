/** `pouw job create|show|list`: post training jobs and follow them over RPC (DESIGN §8, §11). */
import { randomBytes } from "node:crypto";
import { PouwClient, type JobInfo } from "../client/client.ts";
import { checkpointCount, f32ToBits, targetFields, validateJobSpec } from "../pouw/training.ts";
import { TxSelector, type JobSpecT } from "../types/transaction.ts";
import { encodeAddress } from "../crypto/address.ts";
import { fromHex, isHex } from "../util/hex.ts";
import { formatPouw, parsePouw } from "./amount.ts";
import { Keyring, resolveAddress } from "./keyring.ts";
import { send, type SendOptions } from "./tx.ts";

export interface JobCreateOptions extends SendOptions {
  dataset: string;
  layers: string;
  lr: string;
  momentum: string;
  batch: string;
  steps: string;
  segment: string;
  target: string;
  reward: string;
  bond: string;
  deadline: string;
  seed?: string;
}

function positiveInt(s: string, what: string): number {
  if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) throw new Error(`${what} must be a positive whole number, got "${s}"`);
  return Number(s);
}

function float(s: string, what: string): number {
  const x = Number(s);
  if (s.trim() === "" || !Number.isFinite(x)) throw new Error(`${what} must be a number, got "${s}"`);
  return x;
}

/** `accuracy:90` (percent, at least) or `loss:0.3` (at most). */
export function parseTarget(s: string): { targetMetric: number; targetThreshold: number } {
  const m = /^(accuracy|loss):(.+)$/.exec(s);
  if (!m) throw new Error(`--target must be accuracy:<percent> or loss:<value>, got "${s}"`);
  const v = float(m[2]!, "the target");
  if (m[1] === "accuracy") {
    if (v < 0 || v > 100) throw new Error("an accuracy target is a percentage from 0 to 100");
    return targetFields({ metric: "accuracy", thresholdBps: Math.round(v * 100) });
  }
  if (v <= 0) throw new Error("a loss target must be positive");
  return targetFields({ metric: "loss", threshold: v });
}

export async function jobCreateCommand(o: JobCreateOptions): Promise<void> {
  const reward = parsePouw(o.reward, "--reward");
  const workerBond = parsePouw(o.bond, "--bond");
  const client = new PouwClient(o.rpc);
  const info = await client.chainInfo();
  const ds = info.datasets.find((d) => d.name === o.dataset || d.id === o.dataset);
  if (!ds) throw new Error(`dataset "${o.dataset}" is not registered on ${info.chainId}; it has ${info.datasets.map((d) => d.name).join(", ") || "none"}`);
  const layers = o.layers.split(/[,-]/).map((x) => positiveInt(x, "each layer size"));
  const seed = o.seed ? (isHex(o.seed) && fromHex(o.seed).length === 32 ? fromHex(o.seed) : null) : new Uint8Array(randomBytes(32));
  if (!seed) throw new Error("--seed must be 32 bytes of 0x-prefixed hex");
  const spec: JobSpecT = {
    datasetId: fromHex(ds.id),
    layers,
    learningRateBits: f32ToBits(float(o.lr, "--lr")),
    momentumBits: f32ToBits(float(o.momentum, "--momentum")),
    batchSize: positiveInt(o.batch, "--batch"),
    steps: positiveInt(o.steps, "--steps"),
    segmentLength: positiveInt(o.segment, "--segment"),
    seed,
    ...parseTarget(o.target),
    deadline: info.height + positiveInt(o.deadline, "--deadline"),
  };
  validateJobSpec(spec, ds); // the same checks the chain makes, before paying a fee
  const r = await send(
    o,
    { selector: TxSelector.CreateJob, value: { spec, reward, workerBond } },
    `create a job on ${ds.name}: MLP ${layers.join("-")}, ${spec.steps} steps of ${spec.batchSize} (${checkpointCount(spec)} checkpoints), reward ${formatPouw(reward)} POUW, worker bond ${formatPouw(workerBond)} POUW, deadline height ${spec.deadline}`,
  );
  if (r.success && !o.json) console.log(`  job id ${r.hash}`);
}

/** A float32 value as typed (0.1, not 0.10000000149011612). */
const short = (x: number): number => Number(x.toPrecision(7));

function describeJob(j: JobInfo): string {
  const t = j.spec.target;
  const target = t.metric === "accuracy" ? `accuracy ≥ ${t.thresholdBps / 100} %` : `loss ≤ ${short(t.threshold)}`;
  return [
    `job ${j.id}  ${j.status.toUpperCase()}${j.endedAt ? ` at height ${j.endedAt}` : ""}${j.archived ? " (archived: left the live state)" : ""}`,
    `  requester ${j.requester}, created at ${j.createdAt}, deadline ${j.spec.deadline}`,
    `  MLP ${j.spec.layers.join("-")} on ${j.spec.datasetId}, ${j.spec.steps} steps × batch ${j.spec.batchSize}, lr ${short(j.spec.learningRate)}, momentum ${short(j.spec.momentum)}, checkpoint every ${j.spec.segmentLength}`,
    `  target ${target}; reward ${formatPouw(j.reward)} POUW; worker bond ${formatPouw(j.workerBond)} POUW`,
  ].join("\n");
}

export async function jobShowCommand(id: string, o: { rpc: string; json?: boolean }): Promise<void> {
  const client = new PouwClient(o.rpc);
  const job = await client.getJob(id);
  const proof = job.proof ? await client.getWorkProof(job.proof) : null;
  if (o.json) {
    console.log(JSON.stringify({ job, proof }));
    return;
  }
  console.log(describeJob(job));
  if (proof) {
    const m = proof.commitment.claimedMetric;
    const claimed = "accuracyBps" in m ? `accuracy ${m.accuracyBps / 100} %` : `loss ${m.loss}`;
    console.log(`  proof ${proof.id}  ${proof.status.toUpperCase()} by ${proof.worker}, submitted at ${proof.submittedAt}, claims ${claimed}, bond ${formatPouw(proof.commitment.bond)} POUW`);
    console.log(`    attested valid by ${proof.attesters.length} (power ${proof.validPower}), invalid by ${proof.dissenters.length} (power ${proof.invalidPower})`);
    if (proof.status === "pending") console.log(`    attestation deadline ${proof.attestationDeadline}`);
    if (proof.payableAt !== null) console.log(`    paid at height ${proof.payableAt} unless challenged`);
  }
}

export async function jobListCommand(o: { rpc: string; status?: string; requester?: string; limit?: string; json?: boolean }): Promise<void> {
  const list = await new PouwClient(o.rpc).listJobs({
    ...(o.status ? { status: o.status as JobInfo["status"] } : {}),
    ...(o.requester ? { requester: encodeAddress(resolveAddress(new Keyring(), o.requester, "--requester")) } : {}),
    ...(o.limit ? { limit: positiveInt(o.limit, "--limit") } : {}),
  });
  if (o.json) {
    console.log(JSON.stringify(list));
    return;
  }
  console.log(`${list.total} job(s) at height ${list.height}${list.jobs.length < list.total ? `, newest ${list.jobs.length} shown` : ""}`);
  for (const j of list.jobs) console.log(`  ${j.id}  ${j.status.padEnd(9)}  ${j.spec.layers.join("-")}  ${j.spec.steps} steps  reward ${formatPouw(j.reward)} POUW  deadline ${j.spec.deadline}`);
}

export async function jobCancelCommand(id: string, o: SendOptions): Promise<void> {
  if (!isHex(id) || fromHex(id).length !== 32) throw new Error("the job id must be 32 bytes of 0x-prefixed hex");
  await send(o, { selector: TxSelector.CancelJob, value: { jobId: fromHex(id) } }, `cancel job ${id} (the reward returns to the requester)`);
}
