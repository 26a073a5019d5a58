//! Targets: an athlete's goals (distance, time, calories, steps, …) with a deadline, moved by the activity the
//! app reports — each report counted once, progress saturating at the goal, a completion announced once.
//!
//! Owns the `targets` database; nobody else reads it. Publishes `targets.*` events (created, completed, activity
//! reported) for metrics and notifications; consumes `users.user_deleted.v1` to forget a deleted member.
//!
//! Entry point: [`build`].

mod domain;
mod error;
mod http;
mod store;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::users::UserDeleted;
pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "targets";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(State);

/// Opens and migrates the targets database and returns the service.
pub async fn build(deps: &agon_kit::Deps) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
    };
    skeleton
        .consume::<UserDeleted>("targets.forget_user", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// A deleted member's targets and reports go.
impl Consume<UserDeleted> for State {
    async fn consume(&self, tx: &mut Tx, event: UserDeleted, _: &Envelope) -> anyhow::Result<()> {
        Ok(store::Store::forget(tx, event.user_id).await?)
    }
}
