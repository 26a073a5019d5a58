//! Shop: what the club and its members sell. Sellers put items on sale (a price in minor units and its currency,
//! units in stock or a unique piece, images) and withdraw them; members buy. A buy is a saga across services:
//! the shop reserves the stock and places the order (pending) in one transaction, with its `OrderPlaced` event in
//! the outbox; the ledger takes the payment from the buyer's account — from their wallet, or on account within
//! its credit limit — and says captured or declined; the shop then completes the order, or cancels it and puts
//! the stock back. Every step is a database transaction with its events in the outbox and each consumer
//! idempotent, so a crash at any point resumes where it stopped: no unit sold twice, no order charged twice. A
//! buy's answer waits (a few seconds at most) for the saga to settle.
//!
//! Owns the `shop` database. Publishes `shop.*` (item added, order placed, completed, cancelled, refund
//! requested); consumes `ledger.payment_captured.v1`, `ledger.payment_declined.v1` and `ledger.refund_issued.v1`.
//!
//! Entry point: [`build`].

pub mod domain;
mod error;
mod http;
mod saga;
mod store;

use std::sync::Arc;

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "shop";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    /// The club's currency (`ledger.currency`): an item's when it names none.
    currency: Arc<str>,
}

agon_kit::handler_state!(State);

/// Opens and migrates the shop database, follows the ledger's answers and returns the service; `currency` is the
/// club's (`ledger.currency`).
pub async fn build(deps: &agon_kit::Deps, currency: String) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        currency: currency.into(),
    };
    saga::subscribe(&mut skeleton, &state).await?;
    skeleton
        .consume::<agon_messages::auth::UserRegistered>("shop.seller_names", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// A new member's name, for the items they sell: the display name, else the login name, else the local part of
/// their email.
impl agon_bus::Consume<agon_messages::auth::UserRegistered> for State {
    async fn consume(
        &self,
        tx: &mut agon_db::Tx,
        event: agon_messages::auth::UserRegistered,
        _: &agon_bus::Envelope,
    ) -> anyhow::Result<()> {
        let local_part = event.email.as_deref().and_then(|e| e.split('@').next());
        let name = [
            event.display_name.as_deref(),
            event.username.as_deref(),
            local_part,
        ]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|n| !n.is_empty());
        if let Some(name) = name {
            store::Store::remember_seller(tx, event.user_id, name).await?;
        }
        Ok(())
    }
}
