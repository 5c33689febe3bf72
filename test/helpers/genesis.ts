/** Test genesis files built from labelled (published) keys. */
import { AnchorKey } from "../../node/crypto/anchor-key.ts";
import { AccountKey } from "../../node/crypto/keys.ts";
import { DEFAULT_PARAMS, paramsToJson, type Params } from "../../node/types/params.ts";
import { toHex } from "../../node/util/hex.ts";

export interface TestNet {
  genesisJson: string;
  validator: AccountKey;
  validators: AccountKey[];
  accounts: AccountKey[];
  chainId: string;
}

export interface TestDataset {
  name: string;
  id: string;
  features: number;
  classes: number;
  train: number;
  validation: number;
}

export function makeTestNet(
  opts: { accounts?: number; balance?: bigint; chainId?: string; params?: Partial<Params>; label?: string; validators?: number; datasets?: TestDataset[] } = {},
): TestNet {
  const label = opts.label ?? "test";
  const chainId = opts.chainId ?? "pouw-test-1";
  const validators = Array.from({ length: opts.validators ?? 1 }, (_, i) => AccountKey.fromLabel(`${label}/validator/${i}`));
  const validator = validators[0]!;
  const accounts = Array.from({ length: opts.accounts ?? 10 }, (_, i) => AccountKey.fromLabel(`${label}/account/${i}`));
  const genesis = {
    chainId,
    genesisTime: 1_700_000_000_000,
    // A test network's blocks may follow each other 10 ms apart (the default, 200 ms, is what block-spacing and
    // engine-pacing test), so that tests may run fast blocks with a node-local block time.
    params: paramsToJson({ ...DEFAULT_PARAMS, minBlockIntervalMs: 10, ...opts.params }),
    validators: validators.map((v, i) => ({ name: `v${i}`, publicKey: toHex(v.publicKey), anchorAddress: AnchorKey.fromSeed(v.seed).address, power: "100" })),
    accounts: accounts.map((k) => ({ address: k.bech32, balance: (opts.balance ?? 1_000_000_000_000_000n).toString() })),
    ...(opts.datasets ? { datasets: opts.datasets } : {}),
  };
  return { genesisJson: JSON.stringify(genesis), validator, validators, accounts, chainId };
}
