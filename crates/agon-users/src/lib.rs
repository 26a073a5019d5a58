//! Users: owns profiles (and, as the identity issue grows, roles, approval, follows, preferences).
//!
//! Owns the `users` database; nobody else reads it. Consumes `agon_messages::auth::UserRegistered` to create a
//! profile for each new account. Knows nothing about credentials, the gateway or other services' tables.
//!
//! Entry point: [`build`].

mod decisions;
mod domain;
mod error;
mod events;
mod http;
mod store;

use std::sync::Arc;

use agon_messages::auth::UserRegistered;

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

agon_kit::handler_state!(State);

/// Opens and migrates the users database, subscribes to its events and returns the service.
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    let (mut skeleton, state) = open(deps, config).await?;
    skeleton
        .consume::<UserRegistered>("users.create_profile", state.clone())
        .await?;
    Ok(skeleton.finish(http::router(state)))
}

/// Opens (and migrates) the users database and assembles the state handlers and `agon admin` share.
async fn open(
    deps: &agon_kit::Deps,
    config: Config,
) -> anyhow::Result<(agon_kit::Skeleton, State)> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!()).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        config: Arc::new(config),
    };
    Ok((skeleton, state))
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
            state: open(deps, config).await?.1,
        })
    }

    /// Applies `decision` to the account that logs in as `login` (email or username); returns its new status.
    pub async fn decide(&self, login: &str, decision: Decision) -> anyhow::Result<String> {
        let profile = self
            .state
            .store
            .profile_by_login(login)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no account logs in as {login}"))?;
        let (id, by) = (profile.user_id, uuid::Uuid::nil());
        let decided = match decision {
            Decision::Approve => decisions::approve(&self.state, id, by).await,
            Decision::Ban(reason) => decisions::ban(&self.state, id, by, reason).await,
            Decision::Unban => decisions::unban(&self.state, id, by).await,
        };
        Ok(decided
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .status
            .as_str()
            .to_owned())
    }
}
