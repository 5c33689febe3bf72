/// Encodings shared with the chain and the Solidity contracts (DESIGN §9):
/// 32-byte big-endian ABI words, the checkpoint digest's preimage, the
/// validator-set hash, the withdrawal leaf hash and OpenZeppelin's sorted-pair
/// Merkle proofs, all with keccak256.
module pouw_settlement::vault_math;

use sui::hash::keccak256;

const ECheckpointTypehash: u64 = 1;
const EAddressLength: u64 = 2;
const ESetLength: u64 = 3;

/// keccak256("PouwCheckpoint(bytes32 chainId,uint64 epoch,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,bytes32 validatorSetHash,bytes32 nextValidatorSetHash)")
const CHECKPOINT_TYPE: vector<u8> =
    b"PouwCheckpoint(bytes32 chainId,uint64 epoch,uint64 height,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot,bytes32 validatorSetHash,bytes32 nextValidatorSetHash)";

/// A u64 as a 32-byte big-endian ABI word.
public fun word_u64(x: u64): vector<u8> {
    word_u256(x as u256)
}

/// A u256 as a 32-byte big-endian ABI word.
public fun word_u256(x: u256): vector<u8> {
    let mut out = vector[];
    let mut i = 0;
    while (i < 32) {
        let shift = ((31 - i) * 8) as u8;
        out.push_back(((x >> shift) & 0xff) as u8);
        i = i + 1;
    };
    out
}

/// A 20-byte address as a 32-byte ABI word (left-padded with zeros). Anything
/// but 20 bytes aborts, so every word it gives is exactly one address.
public fun word_address(addr: &vector<u8>): vector<u8> {
    assert!(addr.length() == 20, EAddressLength);
    let mut out = vector[];
    let mut i = 0;
    while (i < 12) {
        out.push_back(0);
        i = i + 1;
    };
    out.append(*addr);
    out
}

public fun checkpoint_typehash(): vector<u8> {
    keccak256(&CHECKPOINT_TYPE)
}

/// abi.encode(TYPEHASH, chainId, epoch, height, blockHash, stateRoot, withdrawalsRoot, setHash, nextSetHash):
/// the preimage whose keccak256 validators sign.
public fun checkpoint_preimage(
    chain_id: &vector<u8>,
    epoch: u64,
    height: u64,
    block_hash: &vector<u8>,
    state_root: &vector<u8>,
    withdrawals_root: &vector<u8>,
    set_hash: &vector<u8>,
    next_set_hash: &vector<u8>,
): vector<u8> {
    let mut out = checkpoint_typehash();
    assert!(out.length() == 32, ECheckpointTypehash);
    out.append(*chain_id);
    out.append(word_u64(epoch));
    out.append(word_u64(height));
    out.append(*block_hash);
    out.append(*state_root);
    out.append(*withdrawals_root);
    out.append(*set_hash);
    out.append(*next_set_hash);
    out
}

/// keccak256(abi.encodePacked(address[] ascending, uint256[] powers)): one
/// 32-byte word per address (exactly 20 bytes each, or it aborts) and per
/// power, and as many powers as addresses. Fixed-width entries leave the
/// hashed bytes one way to split back into a set (the anchor checks its
/// order and powers).
public fun validator_set_hash(validators: &vector<vector<u8>>, powers: &vector<u64>): vector<u8> {
    assert!(validators.length() == powers.length(), ESetLength);
    let mut data = vector[];
    let mut i = 0;
    while (i < validators.length()) {
        data.append(word_address(&validators[i]));
        i = i + 1;
    };
    i = 0;
    while (i < powers.length()) {
        data.append(word_u64(powers[i]));
        i = i + 1;
    };
    keccak256(&data)
}

/// OpenZeppelin StandardMerkleTree leaf: keccak256(keccak256(abi.encode(chainId, epoch, index, domain, recipient, token, amount))).
public fun withdrawal_leaf_hash(
    chain_id: &vector<u8>,
    epoch: u64,
    index: u64,
    domain: &vector<u8>,
    recipient: &vector<u8>,
    token: &vector<u8>,
    amount: u64,
): vector<u8> {
    let mut data = *chain_id;
    data.append(word_u64(epoch));
    data.append(word_u64(index));
    data.append(*domain);
    data.append(*recipient);
    data.append(*token);
    data.append(word_u64(amount));
    let inner = keccak256(&data);
    keccak256(&inner)
}

/// a < b as 32-byte big-endian numbers.
fun less(a: &vector<u8>, b: &vector<u8>): bool {
    let mut i = 0;
    while (i < a.length()) {
        if (a[i] != b[i]) return a[i] < b[i];
        i = i + 1;
    };
    false
}

/// OpenZeppelin MerkleProof: hash sorted pairs from the leaf up; true when the result is `root`.
public fun verify_proof(proof: &vector<vector<u8>>, root: &vector<u8>, leaf: vector<u8>): bool {
    let mut h = leaf;
    let mut i = 0;
    while (i < proof.length()) {
        let p = proof[i];
        let mut pair = vector[];
        if (less(&p, &h)) {
            pair.append(p);
            pair.append(h);
        } else {
            pair.append(h);
            pair.append(p);
        };
        h = keccak256(&pair);
        i = i + 1;
    };
    h == *root
}

/// secp256k1 s ≤ n/2 (the low-s rule every settlement contract enforces).
public fun is_low_s(signature: &vector<u8>): bool {
    // n/2 = 7fffffff ffffffff ffffffff ffffffff 5d576e73 57a4501d dfe92f46 681b20a0
    let half: vector<u8> = x"7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";
    let mut i = 0;
    while (i < 32) {
        let s = signature[32 + i];
        if (s != half[i]) return s < half[i];
        i = i + 1;
    };
    true
}
