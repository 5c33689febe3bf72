import { defineConfig } from "vitest/config";

/**
 * Tests that run several `pouw` processes each (and time consensus across
 * them) run one file at a time after everything else: on a 2-core machine two
 * of them side by side starve each other's timers.
 */
const PROCESS_TESTS = [
  "test/integration/cli-start-errors.test.ts",
  "test/integration/cli-worker.test.ts",
  "test/integration/crash.test.ts",
  "test/integration/faults.test.ts",
  "test/integration/liveness-devnet.test.ts",
  "test/integration/devnet-processes.test.ts",
  "test/integration/devnet-work.test.ts",
  "test/integration/disk-full.test.ts",
  "test/integration/privval-kill.test.ts",
  // In process, but it times block gaps and RPC latency under abuse: it runs alone too.
  "test/integration/rpc-abuse.test.ts",
  // In process, ten nodes on real sockets with a 30 s bound on finding each other: alone too.
  "test/integration/discovery.test.ts",
  "test/integration/discovery-processes.test.ts",
  "test/integration/settlement-e2e.test.ts",
  "test/integration/staking-processes.test.ts",
  "test/integration/state-scale-process.test.ts",
  "test/integration/state-sync-processes.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: "parallel", include: ["test/**/*.test.ts"], exclude: PROCESS_TESTS, globalSetup: ["test/contracts/global-setup.ts"], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "processes", include: PROCESS_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
