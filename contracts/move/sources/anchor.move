/// The checkpoint anchor on Sui (DESIGN §9): holds the current validator-set
/// hash and, per anchored epoch, the checkpoint's roots. A checkpoint is
/// accepted when signers holding more than 2/3 of the set's power signed its
/// digest with their anchor (secp256k1, Ethereum-address) keys; the set then
/// rotates to the checkpoint's next set. Nothing else changes the set.
module pouw_settlement::anchor;

use pouw_settlement::vault_math;
use sui::{ecdsa_k1, event, hash::keccak256, table::{Self, Table}};

const EWrongChain: u64 = 1;
const EWrongEpoch: u64 = 2;
const EWrongSet: u64 = 3;
const ESetMismatch: u64 = 4;
const ESignerOrder: u64 = 5;
const EBadSignature: u64 = 6;
const EHighS: u64 = 7;
const ENotEnoughPower: u64 = 8;
const EBadLength: u64 = 9;
const EUnsortedSet: u64 = 10;
const ETooManyValidators: u64 = 11;
const EZeroPower: u64 = 12;

/// A set has at most this many validators, as on the EVM anchor (whose signer
/// bitmap is one 256-bit word) and in the chain's params (maxValidators).
const MAX_VALIDATORS: u64 = 256;

/// The roots an anchored epoch committed to.
public struct EpochRoots has copy, drop, store {
    height: u64,
    block_hash: vector<u8>,
    state_root: vector<u8>,
    withdrawals_root: vector<u8>,
}

public struct Anchor has key {
    id: UID,
    /// keccak256 of the chain-id string.
    chain_id: vector<u8>,
    set_hash: vector<u8>,
    last_epoch: u64,
    epochs: Table<u64, EpochRoots>,
}

public struct CheckpointAnchored has copy, drop {
    epoch: u64,
    height: u64,
    block_hash: vector<u8>,
    withdrawals_root: vector<u8>,
    next_set_hash: vector<u8>,
}

/// Shares an anchor for `chain_id` starting from the genesis set (1 to 256
/// 20-byte addresses, strictly ascending, powers positive).
public fun create(
    chain_id: vector<u8>,
    validators: vector<vector<u8>>,
    powers: vector<u64>,
    ctx: &mut TxContext,
) {
    let anchor = new(chain_id, validators, powers, ctx);
    transfer::share_object(anchor);
}

public fun new(
    chain_id: vector<u8>,
    validators: vector<vector<u8>>,
    powers: vector<u64>,
    ctx: &mut TxContext,
): Anchor {
    assert!(chain_id.length() == 32, EBadLength);
    check_set(&validators, &powers);
    Anchor {
        id: object::new(ctx),
        chain_id,
        set_hash: vault_math::validator_set_hash(&validators, &powers),
        last_epoch: 0,
        epochs: table::new(ctx),
    }
}

/// The set's shape, checked at creation and at every submit (a rotated-in set
/// arrives as a bare hash, so only its presentation can be checked): as many
/// powers as validators, 1 to MAX_VALIDATORS of them, every address exactly
/// 20 bytes and strictly ascending, every power positive (powers are u64, as
/// on the chain). With 20-byte addresses every entry of the set hash is one
/// word, so no regrouping of the hashed bytes passes for the set.
fun check_set(validators: &vector<vector<u8>>, powers: &vector<u64>) {
    let n = validators.length();
    assert!(n == powers.length() && n > 0, ESetMismatch);
    assert!(n <= MAX_VALIDATORS, ETooManyValidators);
    let mut i = 0;
    while (i < n) {
        assert!(validators[i].length() == 20, EBadLength);
        assert!(powers[i] > 0, EZeroPower);
        if (i > 0) assert!(address_less(&validators[i - 1], &validators[i]), EUnsortedSet);
        i = i + 1;
    };
}

fun address_less(a: &vector<u8>, b: &vector<u8>): bool {
    let mut i = 0;
    while (i < a.length()) {
        if (a[i] != b[i]) return a[i] < b[i];
        i = i + 1;
    };
    false
}

/// The Ethereum address of the key that produced a 65-byte r‖s‖v signature (v 27/28) over keccak256(preimage).
public fun recover_eth_address(preimage: &vector<u8>, signature: &vector<u8>): vector<u8> {
    assert!(signature.length() == 65, EBadLength);
    assert!(vault_math::is_low_s(signature), EHighS);
    let v = signature[64];
    assert!(v == 27 || v == 28, EBadSignature);
    let mut sig = vector[];
    let mut i = 0;
    while (i < 64) {
        sig.push_back(signature[i]);
        i = i + 1;
    };
    sig.push_back(v - 27);
    // Hash flag 0: the native function keccak256-hashes `preimage`, giving the checkpoint digest.
    let compressed = ecdsa_k1::secp256k1_ecrecover(&sig, preimage, 0);
    let uncompressed = ecdsa_k1::decompress_pubkey(&compressed);
    let mut xy = vector[];
    i = 1;
    while (i < 65) {
        xy.push_back(uncompressed[i]);
        i = i + 1;
    };
    let h = keccak256(&xy);
    let mut addr = vector[];
    i = 12;
    while (i < 32) {
        addr.push_back(h[i]);
        i = i + 1;
    };
    addr
}

/// Anchors epoch `last_epoch + 1`. `validators` and `powers` are the current set
/// (its shape is checked as at creation, then its hash); `signers` are indices
/// into `validators`, strictly ascending; `signatures[k]` is signer k's 65-byte
/// signature of the checkpoint digest.
public fun submit_checkpoint(
    anchor: &mut Anchor,
    chain_id: vector<u8>,
    epoch: u64,
    height: u64,
    block_hash: vector<u8>,
    state_root: vector<u8>,
    withdrawals_root: vector<u8>,
    set_hash: vector<u8>,
    next_set_hash: vector<u8>,
    validators: vector<vector<u8>>,
    powers: vector<u64>,
    signers: vector<u64>,
    signatures: vector<vector<u8>>,
) {
    assert!(chain_id == anchor.chain_id, EWrongChain);
    assert!(epoch == anchor.last_epoch + 1, EWrongEpoch);
    assert!(set_hash == anchor.set_hash, EWrongSet);
    check_set(&validators, &powers);
    assert!(vault_math::validator_set_hash(&validators, &powers) == set_hash, ESetMismatch);
    assert!(signers.length() == signatures.length(), EBadLength);
    assert!(
        block_hash.length() == 32 && state_root.length() == 32 && withdrawals_root.length() == 32 && next_set_hash.length() == 32,
        EBadLength,
    );
    let preimage = vault_math::checkpoint_preimage(
        &chain_id,
        epoch,
        height,
        &block_hash,
        &state_root,
        &withdrawals_root,
        &set_hash,
        &next_set_hash,
    );
    let mut total: u128 = 0;
    let mut i = 0;
    while (i < powers.length()) {
        total = total + (powers[i] as u128);
        i = i + 1;
    };
    let mut signed: u128 = 0;
    let mut k = 0;
    while (k < signers.length()) {
        let idx = signers[k];
        if (k > 0) assert!(idx > signers[k - 1], ESignerOrder);
        assert!(idx < validators.length(), ESignerOrder);
        let who = recover_eth_address(&preimage, &signatures[k]);
        assert!(who == validators[idx], EBadSignature);
        signed = signed + (powers[idx] as u128);
        k = k + 1;
    };
    assert!(signed * 3 > total * 2, ENotEnoughPower);
    anchor.epochs.add(epoch, EpochRoots { height, block_hash, state_root, withdrawals_root });
    anchor.last_epoch = epoch;
    anchor.set_hash = next_set_hash;
    event::emit(CheckpointAnchored { epoch, height, block_hash, withdrawals_root, next_set_hash });
}

public fun set_hash(anchor: &Anchor): vector<u8> {
    anchor.set_hash
}

public fun last_epoch(anchor: &Anchor): u64 {
    anchor.last_epoch
}

public fun chain_id(anchor: &Anchor): vector<u8> {
    anchor.chain_id
}

/// The withdrawals root of an anchored epoch, or none.
public fun withdrawals_root(anchor: &Anchor, epoch: u64): Option<vector<u8>> {
    if (!anchor.epochs.contains(epoch)) return option::none();
    option::some(anchor.epochs[epoch].withdrawals_root)
}

#[test_only]
public fun destroy_for_testing(anchor: Anchor) {
    let Anchor { id, chain_id: _, set_hash: _, last_epoch: _, epochs } = anchor;
    epochs.drop();
    id.delete();
}
