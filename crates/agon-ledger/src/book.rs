//! Posting a transaction: the member's account and its counterpart moved together in the caller's database
//! transaction, once per Idempotency-Key or reference, and announced through the outbox.

use chrono::Utc;
use uuid::Uuid;

use crate::{
    domain::{self, Holder, Kind},
    error::Error,
    store::{Store, Transaction},
};

/// A transaction to post for a member.
pub struct Entry {
    pub kind: Kind,
    pub member: Uuid,
    pub amount: i64,
    pub currency: String,
    /// Paying on account: the balance may go down to minus the account's credit limit (else to zero).
    pub credit: bool,
    /// The credit limit the member's account opens with, if this is its first transaction.
    pub opening_limit: i64,
    /// What it pays for (a shop order), once per kind.
    pub reference: Option<String>,
    pub key: Option<String>,
    pub description: String,
    pub by: Uuid,
}

/// Posts `entry` in `tx`: [`Error::InsufficientFunds`] when the member's balance lacks room (nothing written),
/// [`Error::KeyReused`] when its key or reference was used (roll back, then find the first).
pub async fn post(
    store: &Store,
    tx: &mut agon_db::Tx,
    entry: &Entry,
) -> Result<Transaction, Error> {
    let owner = entry.member.to_string();
    let member = store
        .account(
            tx,
            (Holder::Member, &owner),
            &entry.currency,
            entry.opening_limit,
        )
        .await?;
    let counterpart = store
        .account(tx, (entry.kind.counterpart(), ""), &entry.currency, 0)
        .await?;
    let now = Utc::now();
    let t = Transaction {
        id: Uuid::now_v7(),
        account_id: member.id,
        kind: entry.kind.name().to_owned(),
        amount: entry.amount,
        currency: entry.currency.clone(),
        reference: entry.reference.clone(),
        idempotency_key: entry.key.clone(),
        description: entry.description.clone(),
        created_by: entry.by,
        created_at: agon_db::time_text(now),
    };
    let [(_, delta), (_, back)] = domain::postings(entry.kind, entry.amount);
    let legs = [(member.id, delta), (counterpart.id, back)];
    if !store.record(tx, &t, legs, entry.credit).await? {
        return Err(Error::InsufficientFunds);
    }
    let recorded = agon_messages::ledger::TransactionRecorded {
        transaction_id: t.id,
        user_id: entry.member,
        kind: t.kind.clone(),
        amount: t.amount,
        currency: t.currency.clone(),
        reference: t.reference.clone(),
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &recorded).await?;
    Ok(t)
}

/// Whether a transaction found by its Idempotency-Key is the one `entry` asks for again.
pub fn same(t: &Transaction, entry: &Entry) -> bool {
    t.kind == entry.kind.name()
        && t.amount == entry.amount
        && t.currency == entry.currency
        && t.description == entry.description
}
