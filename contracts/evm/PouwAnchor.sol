// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title PouwAnchor
 * @notice Anchors the pouw chain's finalized checkpoints (DESIGN §9). It holds
 * the hash of the current anchor validator set; a checkpoint is accepted when
 * validators of that set holding more than 2/3 of its power signed its digest.
 * An accepted checkpoint stores the epoch's roots and rotates the set to
 * `nextValidatorSetHash`: there is no other way to change the set.
 *
 * Signatures are 64-byte EIP-2098 (r, yParity‖s), packed back to back, one per
 * set bit of `signerBitmap`; bit i selects validators[i] of the sorted set, so
 * signers come in ascending address order by construction and none twice.
 */
contract PouwAnchor {
    struct Checkpoint {
        bytes32 chainId;
        uint64 epoch;
        uint64 height;
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
        bytes32 validatorSetHash;
        bytes32 nextValidatorSetHash;
    }

    struct EpochRoots {
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
    }

    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "PouwCheckpoint(bytes32 chainId,uint64 epoch,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,bytes32 validatorSetHash,bytes32 nextValidatorSetHash)"
    );
    /// @notice The signer bitmap is one uint256: a set has at most 256 validators (the chain's
    /// maxValidators is capped to match, and so is the Move anchor).
    uint256 public constant MAX_VALIDATORS = 256;
    /// @notice Powers are u64 on the chain and on Sui; bounding them here too means no sum of
    /// at most 256 of them can overflow (every submit of such a set would otherwise panic).
    uint256 public constant MAX_POWER = type(uint64).max;

    /// @notice keccak256 of the pouw chain-id string.
    bytes32 public immutable chainId;
    /// @notice keccak256(abi.encodePacked(address[] ascending, uint256[] powers)) of the current set.
    bytes32 public validatorSetHash;
    /// @notice The last anchored epoch (0 before the first checkpoint).
    uint64 public lastEpoch;
    mapping(uint64 epoch => EpochRoots) internal _roots;

    event CheckpointAnchored(
        uint64 indexed epoch,
        uint64 height,
        bytes32 blockHash,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        bytes32 validatorSetHash,
        bytes32 nextValidatorSetHash
    );

    error WrongChainId(bytes32 expected, bytes32 got);
    error WrongEpoch(uint64 expected, uint64 got);
    error WrongValidatorSet(bytes32 expected, bytes32 got);
    error EmptyValidatorSet();
    error TooManyValidators(uint256 count);
    error LengthMismatch(uint256 validators, uint256 powers);
    error ValidatorsNotAscending(uint256 index);
    error ZeroPower(uint256 index);
    error PowerTooLarge(uint256 index, uint256 power);
    error SignerBitmapOutOfRange(uint256 bitmap, uint256 validators);
    error SignatureCountMismatch(uint256 expectedBytes, uint256 gotBytes);
    error WrongSigner(uint256 index, address expected, address recovered);
    error InsufficientPower(uint256 signed, uint256 total);

    constructor(bytes32 chainId_, address[] memory validators, uint256[] memory powers) {
        if (validators.length == 0) revert EmptyValidatorSet();
        if (validators.length > MAX_VALIDATORS) revert TooManyValidators(validators.length);
        if (validators.length != powers.length) revert LengthMismatch(validators.length, powers.length);
        address prev;
        for (uint256 i; i < validators.length; ++i) {
            if (validators[i] <= prev) revert ValidatorsNotAscending(i);
            if (powers[i] == 0) revert ZeroPower(i);
            if (powers[i] > MAX_POWER) revert PowerTooLarge(i, powers[i]);
            prev = validators[i];
        }
        chainId = chainId_;
        validatorSetHash = keccak256(abi.encodePacked(validators, powers));
    }

    /// @notice The roots anchored for `epoch` (all zero if it is not anchored).
    function roots(uint64 epoch) external view returns (bytes32 blockHash, bytes32 stateRoot, bytes32 withdrawalsRoot) {
        EpochRoots storage r = _roots[epoch];
        return (r.blockHash, r.stateRoot, r.withdrawalsRoot);
    }

    /// @notice The digest validators sign: keccak256(abi.encode(CHECKPOINT_TYPEHASH, fields…)), no prefix.
    function checkpointDigest(Checkpoint calldata c) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                CHECKPOINT_TYPEHASH,
                c.chainId,
                c.epoch,
                c.height,
                c.blockHash,
                c.stateRoot,
                c.withdrawalsRoot,
                c.validatorSetHash,
                c.nextValidatorSetHash
            )
        );
    }

    /**
     * @param c          the checkpoint of epoch lastEpoch + 1
     * @param validators the current set, addresses strictly ascending
     * @param powers     their powers (1 to 2^64-1), hashing with `validators` to validatorSetHash
     * @param signatures 64-byte EIP-2098 signatures over the digest, one per set bit of `signerBitmap`, in bit order
     * @param signerBitmap bit i set when validators[i] signed
     */
    function submitCheckpoint(
        Checkpoint calldata c,
        address[] calldata validators,
        uint256[] calldata powers,
        bytes calldata signatures,
        uint256 signerBitmap
    ) external {
        if (c.chainId != chainId) revert WrongChainId(chainId, c.chainId);
        uint64 epoch = lastEpoch + 1;
        if (c.epoch != epoch) revert WrongEpoch(epoch, c.epoch);
        bytes32 current = validatorSetHash;
        if (c.validatorSetHash != current) revert WrongValidatorSet(current, c.validatorSetHash);

        {
            uint256 n = validators.length;
            if (n != powers.length) revert LengthMismatch(n, powers.length);
            if (n > MAX_VALIDATORS) revert TooManyValidators(n);
            bytes32 given = _setHash(validators, powers);
            if (given != current) revert WrongValidatorSet(current, given);
            if (n < MAX_VALIDATORS && signerBitmap >> n != 0) revert SignerBitmapOutOfRange(signerBitmap, n);
        }
        {
            (uint256 signed, uint256 total) =
                _tally(checkpointDigest(c), validators, powers, signatures, signerBitmap);
            if (signed * 3 <= total * 2) revert InsufficientPower(signed, total);
        }
        _accept(c, epoch, current);
    }

    function _accept(Checkpoint calldata c, uint64 epoch, bytes32 current) private {
        _roots[epoch] = EpochRoots(c.blockHash, c.stateRoot, c.withdrawalsRoot);
        lastEpoch = epoch;
        validatorSetHash = c.nextValidatorSetHash;
        emit CheckpointAnchored(
            epoch, c.height, c.blockHash, c.stateRoot, c.withdrawalsRoot, current, c.nextValidatorSetHash
        );
    }

    /// @dev Checks the set's order and powers, recovers each selected signer and returns
    /// the signed and total power.
    function _tally(
        bytes32 digest,
        address[] calldata validators,
        uint256[] calldata powers,
        bytes calldata signatures,
        uint256 signerBitmap
    ) private view returns (uint256 signed, uint256 total) {
        uint256 offset;
        uint256 prev;
        for (uint256 i; i < validators.length;) {
            // Raw words: they already hashed to the pinned set hash, so they are clean
            // (a dirty address word would have changed the hash). The hash pins the set,
            // but only the constructor sees a set in full: a later set arrives as a bare
            // hash, so order and power (non-zero, at most MAX_POWER) are checked here.
            {
                uint256 v;
                assembly ("memory-safe") {
                    v := calldataload(add(validators.offset, shl(5, i)))
                }
                if (v <= prev) revert ValidatorsNotAscending(i);
                prev = v;
            }
            uint256 p;
            assembly ("memory-safe") {
                p := calldataload(add(powers.offset, shl(5, i)))
            }
            if (p == 0) revert ZeroPower(i);
            if (p > MAX_POWER) revert PowerTooLarge(i, p);
            total += p;
            if ((signerBitmap >> i) & 1 == 1) {
                if (offset + 64 > signatures.length) revert SignatureCountMismatch(offset + 64, signatures.length);
                address recovered = _recover(digest, signatures, offset);
                if (uint256(uint160(recovered)) != prev) revert WrongSigner(i, address(uint160(prev)), recovered);
                signed += p;
                unchecked {
                    offset += 64;
                }
            }
            unchecked {
                ++i;
            }
        }
        if (offset != signatures.length) revert SignatureCountMismatch(offset, signatures.length);
    }

    /// @dev The signer of the 64-byte EIP-2098 signature at `offset`, by a direct call to the
    /// ecrecover precompile (cheaper than OpenZeppelin's wrapper), with the same rules and errors:
    /// a high s reverts with ECDSAInvalidSignatureS, an unrecoverable signature with ECDSAInvalidSignature.
    function _recover(bytes32 digest, bytes calldata signatures, uint256 offset) private view returns (address signer) {
        bytes32 r;
        bytes32 vs;
        assembly ("memory-safe") {
            r := calldataload(add(signatures.offset, offset))
            vs := calldataload(add(signatures.offset, add(offset, 32)))
        }
        bytes32 s = vs & bytes32(0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff);
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) {
            revert ECDSA.ECDSAInvalidSignatureS(s);
        }
        uint256 v = (uint256(vs) >> 255) + 27;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), v)
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            mstore(0x00, 0)
            pop(staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
        if (signer == address(0)) revert ECDSA.ECDSAInvalidSignature();
    }

    /// @dev keccak256(abi.encodePacked(validators, powers)) straight from calldata: the
    /// two arrays' elements, one word each, back to back. Dirty address bits only
    /// change the hash (and validators[i] reverts on them anyway).
    function _setHash(address[] calldata validators, uint256[] calldata powers) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let a := mul(validators.length, 32)
            calldatacopy(ptr, validators.offset, a)
            calldatacopy(add(ptr, a), powers.offset, mul(powers.length, 32))
            h := keccak256(ptr, add(a, mul(powers.length, 32)))
        }
    }
}
