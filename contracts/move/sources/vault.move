/// The withdrawal vault on Sui (DESIGN §9): holds SUI; a withdrawal leaf
/// anchored in an epoch's withdrawals root is paid once, `amount` MIST to
/// its recipient. The vault's domain is its object id. `fund` adds the SUI
/// withdrawals are paid from; it is not a bridge deposit (nothing on the pouw
/// chain credits it).
module pouw_settlement::vault;

use pouw_settlement::{anchor::{Self, Anchor}, vault_math};
use sui::{balance::{Self, Balance}, coin::{Self, Coin}, event, sui::SUI, table::{Self, Table}};

const EWrongChain: u64 = 1;
const EWrongDomain: u64 = 2;
const ENotNative: u64 = 3;
const ENotAnchored: u64 = 4;
const ENoWithdrawals: u64 = 5;
const EBadProof: u64 = 6;
const EAlreadyPaid: u64 = 7;
const EWrongAnchor: u64 = 8;
const EInsufficientFunds: u64 = 9;

public struct Vault has key {
    id: UID,
    anchor: ID,
    funds: Balance<SUI>,
    /// (epoch << 64) | index of every paid leaf.
    spent: Table<u128, bool>,
}

/// SUI added for withdrawals (not credited to anyone on the pouw chain).
public struct Funded has copy, drop {
    from: address,
    amount: u64,
}

public struct Withdrawn has copy, drop {
    epoch: u64,
    index: u64,
    recipient: address,
    amount: u64,
}

public fun create(anchor: &Anchor, ctx: &mut TxContext) {
    transfer::share_object(new(anchor, ctx));
}

public fun new(anchor: &Anchor, ctx: &mut TxContext): Vault {
    Vault {
        id: object::new(ctx),
        anchor: object::id(anchor),
        funds: balance::zero(),
        spent: table::new(ctx),
    }
}

/// The vault's domain in withdrawal leaves: its object id's 32 bytes.
public fun domain(vault: &Vault): vector<u8> {
    object::id_to_bytes(&object::id(vault))
}

/// Adds `coin` to the SUI withdrawals are paid from. Funding only: nothing on
/// the pouw chain credits it to the sender (or anyone), and it leaves the
/// vault only through anchored withdrawal leaves.
public fun fund(vault: &mut Vault, coin: Coin<SUI>, ctx: &TxContext) {
    let amount = coin.value();
    vault.funds.join(coin.into_balance());
    event::emit(Funded { from: ctx.sender(), amount });
}

/// Pays an anchored withdrawal leaf once; `proof` is its OpenZeppelin Merkle proof.
public fun withdraw(
    vault: &mut Vault,
    anchor: &Anchor,
    chain_id: vector<u8>,
    epoch: u64,
    index: u64,
    domain: vector<u8>,
    recipient: vector<u8>,
    token: vector<u8>,
    amount: u64,
    proof: vector<vector<u8>>,
    ctx: &mut TxContext,
) {
    assert!(object::id(anchor) == vault.anchor, EWrongAnchor);
    assert!(chain_id == anchor::chain_id(anchor), EWrongChain);
    assert!(domain == vault.domain(), EWrongDomain);
    assert!(token == vault_math::word_u64(0), ENotNative);
    let root = anchor::withdrawals_root(anchor, epoch);
    assert!(root.is_some(), ENotAnchored);
    let root = root.destroy_some();
    assert!(root != vault_math::word_u64(0), ENoWithdrawals);
    let leaf = vault_math::withdrawal_leaf_hash(
        &chain_id,
        epoch,
        index,
        &domain,
        &recipient,
        &token,
        amount,
    );
    assert!(vault_math::verify_proof(&proof, &root, leaf), EBadProof);
    let key = ((epoch as u128) << 64) | (index as u128);
    assert!(!vault.spent.contains(key), EAlreadyPaid);
    vault.spent.add(key, true);
    assert!(vault.funds.value() >= amount, EInsufficientFunds);
    let to = sui::address::from_bytes(recipient);
    transfer::public_transfer(coin::take(&mut vault.funds, amount, ctx), to);
    event::emit(Withdrawn { epoch, index, recipient: to, amount });
}

public fun is_spent(vault: &Vault, epoch: u64, index: u64): bool {
    vault.spent.contains(((epoch as u128) << 64) | (index as u128))
}

#[test_only]
public fun destroy_for_testing(vault: Vault) {
    let Vault { id, anchor: _, funds, spent } = vault;
    funds.destroy_for_testing();
    spent.drop();
    id.delete();
}
