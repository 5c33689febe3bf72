// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PouwAnchor} from "./PouwAnchor.sol";

/**
 * @title PouwVault
 * @notice Pays withdrawals from the pouw chain: `withdraw` pays a leaf of an
 * anchored epoch's withdrawal tree (OpenZeppelin StandardMerkleTree over
 * (chainId, epoch, index, domain, recipient, token, amount), DESIGN §9) once,
 * to an EVM address. `fund` adds the native coin those payments come from; it
 * is not a bridge deposit: nothing on the pouw chain credits it, and it can
 * only ever leave through withdrawals. Amounts are pouw units: 1 unit = 1 gwei.
 */
contract PouwVault is ReentrancyGuard {
    struct Leaf {
        bytes32 chainId;
        uint64 epoch;
        uint64 index;
        bytes32 domain;
        bytes32 recipient;
        bytes32 token;
        uint256 amount;
    }

    PouwAnchor public immutable anchor;
    /// @notice The pouw chain id hash, read from the anchor at deployment.
    bytes32 public immutable chainId;
    /// @dev Spent leaves: per epoch, bit (index % 256) of word (index / 256).
    mapping(uint64 epoch => mapping(uint256 word => uint256 bits)) private _spent;

    /// @notice Coin added for withdrawals (not credited to anyone on the pouw chain).
    event Funded(address indexed from, uint256 amount);
    event Withdrawn(uint64 indexed epoch, uint64 indexed index, address indexed recipient, uint256 amount);

    error ZeroFunding();
    error WrongChainId(bytes32 expected, bytes32 got);
    error WrongDomain(bytes32 expected, bytes32 got);
    error UnsupportedToken(bytes32 token);
    error EpochNotAnchored(uint64 epoch, uint64 lastEpoch);
    error NoWithdrawalsInEpoch(uint64 epoch);
    error InvalidProof();
    error AlreadyWithdrawn(uint64 epoch, uint64 index);
    error TransferFailed(address recipient, uint256 value);
    error RecipientNotEvmAddress(bytes32 recipient);

    constructor(PouwAnchor anchor_) {
        anchor = anchor_;
        chainId = anchor_.chainId();
    }

    /// @notice The domain leaves for this vault carry: keccak256(abi.encode(block.chainid, address(this))).
    function domain() public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this)));
    }

    function isWithdrawn(uint64 epoch, uint64 index) external view returns (bool) {
        return _spent[epoch][index >> 8] & (1 << (index & 0xff)) != 0;
    }

    /**
     * @notice Adds `msg.value` to the coin withdrawals are paid from. Funding only:
     * nothing on the pouw chain credits it to the sender (or to anyone), and the
     * vault has no way to return it other than paying anchored withdrawal leaves.
     */
    function fund() external payable {
        if (msg.value == 0) revert ZeroFunding();
        emit Funded(msg.sender, msg.value);
    }

    function withdraw(Leaf calldata leaf, bytes32[] calldata proof) external nonReentrant {
        if (leaf.chainId != chainId) revert WrongChainId(chainId, leaf.chainId);
        bytes32 d = domain();
        if (leaf.domain != d) revert WrongDomain(d, leaf.domain);
        if (leaf.token != bytes32(0)) revert UnsupportedToken(leaf.token);
        uint64 last = anchor.lastEpoch();
        if (leaf.epoch == 0 || leaf.epoch > last) revert EpochNotAnchored(leaf.epoch, last);
        (,, bytes32 root) = anchor.roots(leaf.epoch);
        if (root == bytes32(0)) revert NoWithdrawalsInEpoch(leaf.epoch);

        // StandardMerkleTree leaf: the double hash keeps a 64-byte inner node from passing as a leaf.
        bytes32 leafHash = keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        leaf.chainId, leaf.epoch, leaf.index, leaf.domain, leaf.recipient, leaf.token, leaf.amount
                    )
                )
            )
        );
        if (!MerkleProof.verifyCalldata(proof, root, leafHash)) revert InvalidProof();
        // An EVM recipient is a 20-byte address in the low bytes of the word; a leaf whose upper
        // 12 bytes are set (a 32-byte Sui address) is not for an EVM vault: refuse it, unspent,
        // rather than pay its low 20 bytes.
        if (uint256(leaf.recipient) >> 160 != 0) revert RecipientNotEvmAddress(leaf.recipient);

        uint256 word = leaf.index >> 8;
        uint256 bit = 1 << (leaf.index & 0xff);
        uint256 bits = _spent[leaf.epoch][word];
        if (bits & bit != 0) revert AlreadyWithdrawn(leaf.epoch, leaf.index);
        _spent[leaf.epoch][word] = bits | bit;

        address to = address(uint160(uint256(leaf.recipient)));
        uint256 value = leaf.amount * 1 gwei;
        emit Withdrawn(leaf.epoch, leaf.index, to, value);
        (bool ok,) = to.call{value: value}("");
        if (!ok) revert TransferFailed(to, value);
    }
}
