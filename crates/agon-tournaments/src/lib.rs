//! Tournaments: the competitions a club runs. The rules — elimination brackets (single, with an optional
//! third-place match; double, with a grand final none / single / with reset), round robins in groups, Swiss
//! pairings, statuses and seeding that can be replayed, and scheduling onto courts and times — are pure and
//! property-tested (`bracket`, `rounds`, `lifecycle`, `standings`, `schedule`). The service runs them: organisers
//! create a tournament, open registration, approve entries within capacity, draw (by rating, at random with a
//! recorded seed, or by hand; again until play starts), plan the matches onto courts and play windows, start, and
//! record results — corrected only while nothing after them was played — until the bracket has its champion.
//! Members follow their matches in calendar feeds; the club leaderboard adds up every tournament.
//!
//! Owns the `tournaments` database. Publishes `tournaments.*` events (created, registration opened, participant
//! approved, match scheduled, match ready, result recorded, completed) for metrics and notifications.
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
    Ok(skeleton.finish(http::router(state)))
}
