/**
 * Writes genesis/devnet.json: one validator and ten funded accounts, all with
 * keys derived from PUBLISHED labels (`pouw/devnet/validator/0`,
 * `pouw/devnet/account/<i>`). Anyone can spend these: devnet only.
 *
 *   node scripts/make-devnet-genesis.ts
 */
import { writeFileSync } from "node:fs";
import { AnchorKey } from "../node/crypto/anchor-key.ts";
import { AccountKey, devAccountLabel, devValidatorLabel } from "../node/crypto/keys.ts";
import { NobleMlDsa } from "../node/crypto/mldsa.ts";
import { toHex } from "../node/util/hex.ts";
import { DEFAULT_PARAMS, paramsToJson } from "../node/types/params.ts";

export const DEV_ACCOUNTS = 10;
const UNIT = 1_000_000_000n;
const backend = new NobleMlDsa();
const validator = new AccountKey(AccountKey.fromLabel(devValidatorLabel(0), backend).seed, backend);

const genesis = {
  chainId: "pouw-devnet-1",
  genesisTime: Date.UTC(2026, 10, 1),
  warning: "DEVNET ONLY: every key here derives from a published label (see README). Never hold value on these keys.",
  params: paramsToJson(DEFAULT_PARAMS),
  validators: [{ name: "devnet-validator-0", label: devValidatorLabel(0), publicKey: toHex(validator.publicKey), anchorAddress: AnchorKey.fromSeed(validator.seed).address, power: "1000000" }],
  accounts: Array.from({ length: DEV_ACCOUNTS }, (_, i) => {
    const k = AccountKey.fromLabel(devAccountLabel(i), backend);
    return { label: devAccountLabel(i), address: k.bech32, balance: (1_000_000n * UNIT).toString() };
  }),
};

writeFileSync(new URL("../genesis/devnet.json", import.meta.url), JSON.stringify(genesis, null, 2) + "\n");
console.log(`wrote genesis/devnet.json: validator ${validator.bech32}, ${DEV_ACCOUNTS} accounts`);
