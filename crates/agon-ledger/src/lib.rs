//! Ledger: the club's money, by double entry. Every member has an account per currency — a wallet, or a tab
//! within its credit limit — and every transaction (deposit, withdrawal, purchase, refund) posts two legs that
//! add up to zero: the member's, and the club's or the world's. Balances move in the same database transaction as
//! the postings, and only with room, checked by the update itself; a retried request (its `Idempotency-Key`) or a
//! redelivered order (its reference) is posted once. Statements and period reports read the postings as they
//! are: never a cached copy.
//!
//! Owns the `ledger` database. Consumes `shop.order_placed.v1` (the payment: captured or declined) and
//! `shop.refund_requested.v1`; publishes `ledger.*` (transaction recorded, payment captured or declined, refund
//! issued).
//!
//! Entry point: [`build`].

mod book;
pub mod domain;
mod error;
mod http;
mod orders;
mod store;

use std::sync::Arc;

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "ledger";

/// Settings of the ledger service (`[ledger]`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The currency of accounts and prices when none is named (ISO 4217).
    pub currency: String,
    /// How far below zero (in minor units) a member's new account may go when paying on account: the club's tab.
    /// 0, the default: members pay from what they deposited.
    pub credit_limit: i64,
    /// Members record deposits into their own account (a club that takes payments elsewhere and trusts its
    /// members, or a demonstration). Default false: deposits are recorded by staff.
    pub member_deposits: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            currency: "EUR".into(),
            credit_limit: 0,
            member_deposits: false,
        }
    }
}

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    config: Arc<Config>,
}

agon_kit::handler_state!(State);

/// Opens and migrates the ledger database, subscribes to the shop's orders and returns the service.
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    domain::check_currency(&config.currency).map_err(|_| {
        anyhow::anyhow!(
            "ledger.currency: {:?} is not an ISO 4217 code",
            config.currency
        )
    })?;
    anyhow::ensure!(
        config.credit_limit >= 0,
        "ledger.credit_limit must not be negative"
    );
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        config: Arc::new(config),
    };
    orders::subscribe(&mut skeleton, &state).await?;
    Ok(skeleton.finish(http::router(state)))
}
