// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {PouwVault} from "../PouwVault.sol";

/**
 * Test only: a withdrawal recipient that, when paid, tries to withdraw again
 * from the vault (the same leaf, or another leaf of its own), and records how
 * each attempt ended instead of reverting, so the outer withdrawal goes through.
 */
contract ReentrantRecipient {
    PouwVault public immutable vault;
    PouwVault.Leaf[] private _leaves;
    bytes32[][] private _proofs;
    uint256 public attempts;
    uint256 public blocked;
    bytes public lastError;

    constructor(PouwVault vault_) {
        vault = vault_;
    }

    /// @notice Withdrawals to retry from inside receive().
    function arm(PouwVault.Leaf[] calldata leaves, bytes32[][] calldata proofs) external {
        for (uint256 i; i < leaves.length; ++i) {
            _leaves.push(leaves[i]);
            _proofs.push(proofs[i]);
        }
    }

    function attack(PouwVault.Leaf calldata leaf, bytes32[] calldata proof) external {
        vault.withdraw(leaf, proof);
    }

    receive() external payable {
        if (attempts > 0) return;
        for (uint256 i; i < _leaves.length; ++i) {
            attempts++;
            try vault.withdraw(_leaves[i], _proofs[i]) {}
            catch (bytes memory err) {
                blocked++;
                lastError = err;
            }
        }
    }
}
