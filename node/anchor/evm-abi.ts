/**
 * The ABIs of the settlement contracts (contracts/evm) the node calls through
 * viem, copied from the compiled artifacts without solc's `internalType`
 * so the node needs neither Hardhat nor a build at runtime. Every fragment is
 * here (constructor, events and errors too: viem decodes reverts by name).
 * test/contracts/evm-client.test.ts fails when they drift from the build.
 */

/** PouwAnchor.Checkpoint (the fields of `Checkpoint` in checkpoint.ts). */
const CHECKPOINT_COMPONENTS = [
  { name: "chainId", type: "bytes32" },
  { name: "epoch", type: "uint64" },
  { name: "height", type: "uint64" },
  { name: "blockHash", type: "bytes32" },
  { name: "stateRoot", type: "bytes32" },
  { name: "withdrawalsRoot", type: "bytes32" },
  { name: "validatorSetHash", type: "bytes32" },
  { name: "nextValidatorSetHash", type: "bytes32" },
] as const;

/** PouwVault.Leaf (`WithdrawalLeaf` in checkpoint.ts). */
const LEAF_COMPONENTS = [
  { name: "chainId", type: "bytes32" },
  { name: "epoch", type: "uint64" },
  { name: "index", type: "uint64" },
  { name: "domain", type: "bytes32" },
  { name: "recipient", type: "bytes32" },
  { name: "token", type: "bytes32" },
  { name: "amount", type: "uint256" },
] as const;

/** PouwAnchor: checkpoints signed by more than 2/3 of the anchor set (contracts/evm/PouwAnchor.sol). */
export const POUW_ANCHOR_ABI = [
  { inputs: [{ name: "chainId_", type: "bytes32" }, { name: "validators", type: "address[]" }, { name: "powers", type: "uint256[]" }], stateMutability: "nonpayable", type: "constructor" },
  { inputs: [], name: "ECDSAInvalidSignature", type: "error" },
  { inputs: [{ name: "s", type: "bytes32" }], name: "ECDSAInvalidSignatureS", type: "error" },
  { inputs: [], name: "EmptyValidatorSet", type: "error" },
  { inputs: [{ name: "signed", type: "uint256" }, { name: "total", type: "uint256" }], name: "InsufficientPower", type: "error" },
  { inputs: [{ name: "validators", type: "uint256" }, { name: "powers", type: "uint256" }], name: "LengthMismatch", type: "error" },
  { inputs: [{ name: "index", type: "uint256" }, { name: "power", type: "uint256" }], name: "PowerTooLarge", type: "error" },
  { inputs: [{ name: "expectedBytes", type: "uint256" }, { name: "gotBytes", type: "uint256" }], name: "SignatureCountMismatch", type: "error" },
  { inputs: [{ name: "bitmap", type: "uint256" }, { name: "validators", type: "uint256" }], name: "SignerBitmapOutOfRange", type: "error" },
  { inputs: [{ name: "count", type: "uint256" }], name: "TooManyValidators", type: "error" },
  { inputs: [{ name: "index", type: "uint256" }], name: "ValidatorsNotAscending", type: "error" },
  { inputs: [{ name: "expected", type: "bytes32" }, { name: "got", type: "bytes32" }], name: "WrongChainId", type: "error" },
  { inputs: [{ name: "expected", type: "uint64" }, { name: "got", type: "uint64" }], name: "WrongEpoch", type: "error" },
  { inputs: [{ name: "index", type: "uint256" }, { name: "expected", type: "address" }, { name: "recovered", type: "address" }], name: "WrongSigner", type: "error" },
  { inputs: [{ name: "expected", type: "bytes32" }, { name: "got", type: "bytes32" }], name: "WrongValidatorSet", type: "error" },
  { inputs: [{ name: "index", type: "uint256" }], name: "ZeroPower", type: "error" },
  { anonymous: false, inputs: [{ indexed: true, name: "epoch", type: "uint64" }, { indexed: false, name: "height", type: "uint64" }, { indexed: false, name: "blockHash", type: "bytes32" }, { indexed: false, name: "stateRoot", type: "bytes32" }, { indexed: false, name: "withdrawalsRoot", type: "bytes32" }, { indexed: false, name: "validatorSetHash", type: "bytes32" }, { indexed: false, name: "nextValidatorSetHash", type: "bytes32" }], name: "CheckpointAnchored", type: "event" },
  { inputs: [], name: "CHECKPOINT_TYPEHASH", outputs: [{ name: "", type: "bytes32" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "MAX_POWER", outputs: [{ name: "", type: "uint256" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "MAX_VALIDATORS", outputs: [{ name: "", type: "uint256" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "chainId", outputs: [{ name: "", type: "bytes32" }], stateMutability: "view", type: "function" },
  { inputs: [{ components: CHECKPOINT_COMPONENTS, name: "c", type: "tuple" }], name: "checkpointDigest", outputs: [{ name: "", type: "bytes32" }], stateMutability: "pure", type: "function" },
  { inputs: [], name: "lastEpoch", outputs: [{ name: "", type: "uint64" }], stateMutability: "view", type: "function" },
  { inputs: [{ name: "epoch", type: "uint64" }], name: "roots", outputs: [{ name: "blockHash", type: "bytes32" }, { name: "stateRoot", type: "bytes32" }, { name: "withdrawalsRoot", type: "bytes32" }], stateMutability: "view", type: "function" },
  { inputs: [{ components: CHECKPOINT_COMPONENTS, name: "c", type: "tuple" }, { name: "validators", type: "address[]" }, { name: "powers", type: "uint256[]" }, { name: "signatures", type: "bytes" }, { name: "signerBitmap", type: "uint256" }], name: "submitCheckpoint", outputs: [], stateMutability: "nonpayable", type: "function" },
  { inputs: [], name: "validatorSetHash", outputs: [{ name: "", type: "bytes32" }], stateMutability: "view", type: "function" },
] as const;

/** PouwVault: withdrawals of anchored epochs, and `fund` for the coin they are paid from (contracts/evm/PouwVault.sol). */
export const POUW_VAULT_ABI = [
  { inputs: [{ name: "anchor_", type: "address" }], stateMutability: "nonpayable", type: "constructor" },
  { inputs: [{ name: "epoch", type: "uint64" }, { name: "index", type: "uint64" }], name: "AlreadyWithdrawn", type: "error" },
  { inputs: [{ name: "epoch", type: "uint64" }, { name: "lastEpoch", type: "uint64" }], name: "EpochNotAnchored", type: "error" },
  { inputs: [], name: "InvalidProof", type: "error" },
  { inputs: [{ name: "epoch", type: "uint64" }], name: "NoWithdrawalsInEpoch", type: "error" },
  { inputs: [{ name: "recipient", type: "bytes32" }], name: "RecipientNotEvmAddress", type: "error" },
  { inputs: [], name: "ReentrancyGuardReentrantCall", type: "error" },
  { inputs: [{ name: "recipient", type: "address" }, { name: "value", type: "uint256" }], name: "TransferFailed", type: "error" },
  { inputs: [{ name: "token", type: "bytes32" }], name: "UnsupportedToken", type: "error" },
  { inputs: [{ name: "expected", type: "bytes32" }, { name: "got", type: "bytes32" }], name: "WrongChainId", type: "error" },
  { inputs: [{ name: "expected", type: "bytes32" }, { name: "got", type: "bytes32" }], name: "WrongDomain", type: "error" },
  { inputs: [], name: "ZeroFunding", type: "error" },
  { anonymous: false, inputs: [{ indexed: true, name: "from", type: "address" }, { indexed: false, name: "amount", type: "uint256" }], name: "Funded", type: "event" },
  { anonymous: false, inputs: [{ indexed: true, name: "epoch", type: "uint64" }, { indexed: true, name: "index", type: "uint64" }, { indexed: true, name: "recipient", type: "address" }, { indexed: false, name: "amount", type: "uint256" }], name: "Withdrawn", type: "event" },
  { inputs: [], name: "anchor", outputs: [{ name: "", type: "address" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "chainId", outputs: [{ name: "", type: "bytes32" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "domain", outputs: [{ name: "", type: "bytes32" }], stateMutability: "view", type: "function" },
  { inputs: [], name: "fund", outputs: [], stateMutability: "payable", type: "function" },
  { inputs: [{ name: "epoch", type: "uint64" }, { name: "index", type: "uint64" }], name: "isWithdrawn", outputs: [{ name: "", type: "bool" }], stateMutability: "view", type: "function" },
  { inputs: [{ components: LEAF_COMPONENTS, name: "leaf", type: "tuple" }, { name: "proof", type: "bytes32[]" }], name: "withdraw", outputs: [], stateMutability: "nonpayable", type: "function" },
] as const;
