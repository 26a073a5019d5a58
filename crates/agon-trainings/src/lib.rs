//! Trainings: what trainers author for the club's athletes — a title unique per author, a kind, a difficulty,
//! media and goals — with members' favourites and scores, and administrators' blocks.
//!
//! Owns the `trainings` database; nobody else reads it. Publishes `trainings.*` events (created, updated,
//! deleted, blocked, favourited, scored) for metrics and notifications.
//!
//! Entry point: [`build`].

mod domain;
mod error;
mod http;
mod store;

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "trainings";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(State);

/// Opens and migrates the trainings database and returns the service.
pub async fn build(deps: &agon_kit::Deps) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
    };
    Ok(skeleton.finish(http::router(state)))
}
