//! Users: owns profiles (and, as the identity issue grows, roles, approval, follows, preferences).
//!
//! Owns the `users` database; nobody else reads it. Consumes `agon_messages::auth::UserRegistered` to create a
//! profile for each new account. Knows nothing about credentials, the gateway or other services' tables.
//!
//! Entry point: [`build`].

mod domain;
mod error;
mod events;
mod http;
mod store;

use std::sync::Arc;

pub use error::Error;

/// The service's name: its database, its log and metric label, the source of its events.
pub const SERVICE: &str = "users";

/// Settings of the users service.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {}

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    config: Arc<Config>,
}

/// Opens and migrates the users database, subscribes to its events and returns the service.
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    let db = deps.database(SERVICE, &agon_db::migrations!()).await?;
    let store = store::Store::new(db.clone());
    deps.bus
        .subscribe(
            &db,
            "users.create_profile",
            events::CreateProfile(store.clone()),
        )
        .await?;
    let outbox = deps.bus.outbox(&db).await?;
    let state = State {
        store,
        outbox: outbox.clone(),
        verifier: deps.verifier.clone(),
        config: Arc::new(config),
    };
    Ok(agon_kit::Service::new(SERVICE, http::router(state))
        .with_task(outbox.relay())
        .with_check(agon_kit::ReadyCheck::database(&db))
        .with_check(agon_kit::ReadyCheck::bus(&deps.bus)))
}
