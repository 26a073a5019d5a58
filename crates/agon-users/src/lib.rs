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
    let state = open(deps, config).await?;
    let db = state.store.db().clone();
    deps.bus
        .subscribe(
            &db,
            "users.create_profile",
            events::CreateProfile(state.store.clone()),
        )
        .await?;
    let outbox = state.outbox.clone();
    Ok(agon_kit::Service::new(SERVICE, http::router(state))
        .with_task(outbox.relay())
        .with_check(agon_kit::ReadyCheck::database(&db))
        .with_check(agon_kit::ReadyCheck::bus(&deps.bus)))
}

/// Opens (and migrates) the users database and assembles the state handlers and `agon admin` share.
async fn open(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<State> {
    let db = deps.database(SERVICE, &agon_db::migrations!()).await?;
    let outbox = deps.bus.outbox(&db).await?;
    Ok(State {
        store: store::Store::new(db),
        outbox,
        verifier: deps.verifier.clone(),
        config: Arc::new(config),
    })
}

/// `agon admin`: account decisions straight on the users database. Their events wait in the outbox until the
/// service runs; the deciding admin is recorded as nil (the command line).
pub struct AdminCli {
    state: State,
}

/// A decision `agon admin` can take.
pub enum Decision {
    Approve,
    Ban(Option<String>),
    Unban,
}

impl AdminCli {
    pub async fn open(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<Self> {
        Ok(Self {
            state: open(deps, config).await?,
        })
    }

    /// Applies `decision` to the account with `email`; returns its new status.
    pub async fn decide(&self, email: &str, decision: Decision) -> anyhow::Result<String> {
        let profile = self
            .state
            .store
            .profile_by_email(email)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no profile with email {email}"))?;
        let (id, by) = (profile.user_id, uuid::Uuid::nil());
        let view = match decision {
            Decision::Approve => http::admin::approve(&self.state, id, by).await,
            Decision::Ban(reason) => http::admin::ban(&self.state, id, by, reason).await,
            Decision::Unban => http::admin::unban(&self.state, id, by).await,
        };
        Ok(view.map_err(|e| anyhow::anyhow!("{e}"))?.status)
    }
}
