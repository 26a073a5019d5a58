//! Tournaments: the competitions a club runs. The rules — elimination brackets (single, with an optional
//! third-place match; double, with a grand final none / single / with reset), round robins in groups, Swiss
//! pairings, statuses and seeding that can be replayed, and scheduling onto courts and times — are pure and
//! property-tested (`bracket`, `rounds`, `lifecycle`, `standings`, `schedule`). The service runs them: organisers
//! create a tournament, open registration, approve entries within capacity, draw (by rating, at random with a
//! recorded seed, or by hand; again until play starts), plan the matches onto courts and play windows, start, and
//! record results — or let both players report them, agreeing — corrected only while nothing after them was
//! played, until the bracket has its champion.
//! Members follow their matches in calendar feeds; the club leaderboard adds up every tournament.
//!
//! Owns the `tournaments` database. Publishes `tournaments.*` events (created, registration opened, participant
//! approved, match scheduled, match ready, result recorded, result disputed, completed) for metrics and
//! notifications; consumes `users.user_deleted.v1` and `users.user_banned.v1` to end the member's calendar key.
//!
//! Entry point: [`build`].

pub mod bracket;
mod domain;
mod error;
mod http;
pub mod lifecycle;
pub mod rounds;
pub mod schedule;
pub mod standings;
mod store;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::users::{UserBanned, UserDeleted};

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "tournaments";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(State);

/// Opens and migrates the tournaments database and returns the service.
pub async fn build(deps: &agon_kit::Deps) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
    };
    skeleton
        .consume::<UserDeleted>("tournaments.end_calendar_of_deleted", state.clone())
        .await?;
    skeleton
        .consume::<UserBanned>("tournaments.end_calendar_of_banned", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// A deleted account's calendar key goes: the feeds it opened stop (its results stay in the tournaments' history).
impl Consume<UserDeleted> for State {
    async fn consume(&self, tx: &mut Tx, event: UserDeleted, _: &Envelope) -> anyhow::Result<()> {
        Ok(store::Store::end_calendar_key(tx, event.user_id).await?)
    }
}

/// A banned member's calendar key goes too: a feed must not outlive the access it stood for.
impl Consume<UserBanned> for State {
    async fn consume(&self, tx: &mut Tx, event: UserBanned, _: &Envelope) -> anyhow::Result<()> {
        Ok(store::Store::end_calendar_key(tx, event.user_id).await?)
    }
}
