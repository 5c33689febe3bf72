/** The JSON shapes of the RPC (DESIGN §11): amounts and nonces as decimal strings, bytes as 0x hex, addresses as bech32m. */

export interface HeaderJson {
  hash: string;
  chainId: string;
  height: number;
  time: number;
  lastBlockHash: string;
  lastCommitHash: string;
  txRoot: string;
  attestationRoot: string;
  evidenceRoot: string;
  stateRoot: string;
  validatorsHash: string;
  nextValidatorsHash: string;
  proposer: string;
  baseFeePerGas: string;
  gasUsed: number;
}

export interface CommitJson {
  height: number;
  round: number;
  blockHash: string;
  signatures: { validator: string; signature: string }[];
}

export interface TxJson {
  hash: string;
  from: string;
  chainId: string;
  nonce: string;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  gasLimit: number;
  /** The body type and its fields in schema order (docs/transactions.md §10): addresses bech32m, bytes 0x hex, u64 decimal strings. */
  body: { type: string; to?: string; amount?: string; [field: string]: unknown };
  size: number;
}

export interface ReceiptJson {
  status: "success" | "failed";
  gasUsed: number;
  feeBurned: string;
  tip: string;
  error: string | null;
}

export interface ProofJson {
  index: number;
  gindex: string;
  witnesses: string[];
}

/**
 * `pouw_getTransaction` for a transaction that another of the same sender and
 * nonce took the place of (a fee bump, or one a block included instead), while
 * the node remembers it: follow `replacedBy` (it may itself be replaced).
 */
export interface ReplacedTxJson {
  hash: string;
  status: "replaced";
  replacedBy: string;
  from: string;
  nonce: string;
}
