/** Runs the golden jobs and prints their results as JSON: in a child process (argv) or a worker thread (workerData). */
import { isMainThread, parentPort } from "node:worker_threads";
import { GOLDEN_INPUTS, runGolden } from "./pouw-golden.ts";

const results = Object.fromEntries(GOLDEN_INPUTS.map((g) => [g.name, runGolden(g)]));
if (isMainThread) process.stdout.write(JSON.stringify(results));
else parentPort!.postMessage(results);
