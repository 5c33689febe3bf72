/** `pouw worker` and the built-in worker of `pouw start`: train open jobs and submit their proofs. */
import { PouwClient } from "../client/client.ts";
import type { AccountKey } from "../crypto/keys.ts";
import { WorkThread } from "../pouw/work-pool.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import type { Metrics } from "../util/metrics.ts";
import { JobWorker } from "../work/worker.ts";
import { parsePouw } from "./amount.ts";
import { Keyring } from "./keyring.ts";
import { passwordSource } from "./password.ts";

/** A progress bar on a terminal, log lines otherwise: step, loss and speed while a job trains. */
function progressReporter(logger: Logger, tty: boolean) {
  let lastAt = 0;
  let lastStep = 0;
  return (j: { id: string; spec: { steps: number } }, step: number, loss: number) => {
    const now = performance.now();
    if (step === 0) {
      lastAt = now; // training starts (the first interval includes loading the dataset)
      lastStep = 0;
      return;
    }
    const steps = j.spec.steps;
    const rate = (step - lastStep) / Math.max(1e-3, (now - lastAt) / 1000);
    lastAt = now;
    lastStep = step;
    if (tty) {
      const width = 30;
      const filled = Math.round((step / steps) * width);
      process.stderr.write(`\r  training ${j.id.slice(0, 10)}… [${"#".repeat(filled)}${".".repeat(width - filled)}] ${step}/${steps}  loss ${loss.toFixed(4)}  ${rate.toFixed(0)} steps/s `);
      if (step === steps) process.stderr.write("\n");
    } else {
      logger.info({ job: j.id.slice(0, 18), step, steps, loss: Math.round(loss * 10_000) / 10_000, stepsPerSecond: Math.round(rate) }, "Training");
    }
  };
}

/** Starts a worker loop against `rpc`; returns it (stop() ends it and its thread). */
export function startWorker(o: { rpc: string; key: AccountKey; logger: Logger; minReward?: bigint; metrics?: Metrics | null }): { stop: () => Promise<void> } {
  const thread = new WorkThread();
  const worker = new JobWorker({ client: new PouwClient(o.rpc), key: o.key, thread, logger: o.logger, minReward: o.minReward ?? 0n, onProgress: progressReporter(o.logger, false), metrics: o.metrics ?? null });
  o.logger.info({ worker: o.key.bech32 }, "Built-in worker looking for jobs");
  worker.start();
  return {
    stop: async () => {
      await worker.stop();
      await thread.close();
    },
  };
}

export async function workerCommand(o: { from: string; rpc: string; keyring?: string; passwordFile?: string; minReward: string; once?: boolean }): Promise<void> {
  const key = await new Keyring(o.keyring, { password: passwordSource(o) }).get(o.from);
  const logger = createLogger({});
  const thread = new WorkThread();
  const worker = new JobWorker({
    client: new PouwClient(o.rpc),
    key,
    thread,
    logger,
    minReward: parsePouw(o.minReward, "--min-reward"),
    onProgress: progressReporter(logger, process.stderr.isTTY === true),
  });
  logger.info({ worker: key.bech32, rpc: o.rpc }, "Worker looking for jobs");
  if (o.once) {
    try {
      for (;;) {
        const r = await worker.runOnce();
        if (r.kind === "idle") {
          console.log("no open job this worker can train");
          break;
        }
        if (r.kind === "submitted") {
          console.log(`submitted proof ${r.proofId} for job ${r.jobId}: accuracy ${r.accuracyBps / 100} %, loss ${r.loss.toFixed(4)}`);
          break;
        }
        console.log(`skipped job ${r.jobId}: ${r.reason}`);
      }
    } finally {
      await thread.close();
    }
    return;
  }
  worker.start();
  const stop = async () => {
    await worker.stop();
    await thread.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}
