/**
 * Hardhat 3 for the settlement contracts (contracts/evm). The compiler is the
 * pinned npm `solc` (soljson.js): nothing is downloaded. Tests build through
 * test/contracts/global-setup.ts and run under vitest, never `hardhat test`.
 */
import { createRequire } from "node:module";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatViem],
  paths: { sources: "contracts/evm" },
  solidity: {
    version: (require("solc/package.json") as { version: string }).version,
    path: require.resolve("solc/soljson.js"),
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
});
