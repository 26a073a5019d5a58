//! Metrics: the platform's event store and the business metrics the backoffice charts.
//!
//! Owns the `metrics` database; nobody else reads it. Consumes every event (the wildcard subscription), appends
//! each once to the event store and counts it into the daily projection (`projection::RULES`); serves the
//! counts by day, week or month with their breakdowns under `/analytics`. The projection is rebuildable from the
//! store with `agon metrics rebuild`.
//!
//! Entry point: [`build`].

mod http;
mod projection;
mod store;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::AnyEvent;

pub use agon_kit::ApiError as Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "metrics";

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    verifier: agon_kit::TokenVerifier,
}

agon_kit::handler_state!(State);

/// Opens and migrates the metrics database, subscribes to every event and returns the service.
pub async fn build(deps: &agon_kit::Deps) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!()).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        verifier: skeleton.verifier(),
    };
    skeleton
        .consume::<AnyEvent>("metrics.event_store", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// Every event is appended to the store and counted.
impl Consume<AnyEvent> for State {
    async fn consume(&self, tx: &mut Tx, _: AnyEvent, envelope: &Envelope) -> anyhow::Result<()> {
        projection::append(tx, envelope).await
    }
}

/// Opens (and migrates) the metrics database, for operational commands.
pub async fn open(databases: &agon_db::Databases) -> anyhow::Result<agon_db::Db> {
    databases
        .open_migrated(SERVICE, &agon_db::migrations!())
        .await
}

/// `agon metrics rebuild`: recomputes the projection from the event store, calling `progress(done, total)`
/// after each batch; returns how many events were counted.
pub async fn rebuild(db: &agon_db::Db, progress: impl FnMut(i64, i64)) -> anyhow::Result<i64> {
    projection::rebuild(db, 1000, progress).await
}
