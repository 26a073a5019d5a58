//! Notifications: each member's notifications with read state, preferences per type × channel, and delivery
//! in-app (stored, live over the WebSocket), by email (the kit's mail queue), SMS and push (HTTP providers).
//!
//! Owns the `notifications` database; nobody else reads it. Consumes the auth and users services' events, both to
//! know who can be notified (a projection of members, their email, roles and push tokens) and to turn the events
//! listed in [`domain::TEMPLATES`] into notifications. Staff send with `POST /notifications/send`,
//! administrators broadcast. Live delivery goes through the [`hub::Hub`]: local in one process, over Redis
//! between replicas.
//!
//! Entry point: [`build`].

mod domain;
mod error;
mod events;
mod http;
pub mod hub;
mod providers;
mod send;
mod store;
mod ws;

use std::sync::Arc;

use agon_messages::{auth, users};
use tokio::sync::Notify;

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "notifications";

/// Settings of the notifications service (`[notifications]`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where SMS messages are POSTed as `{"to", "text"}`; absent: no SMS.
    pub sms_url: Option<String>,
    /// Where push messages are POSTed as `{"token", "title", "body", "data"}`; absent: no push.
    pub push_url: Option<String>,
    /// How long a digest collects a burst before it is sent as one message.
    pub digest_window_secs: u64,
    /// The Redis channel replicas share live messages on (with `agon serve`).
    pub fanout_channel: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sms_url: None,
            push_url: None,
            digest_window_secs: 600,
            fanout_channel: "agon:notifications".into(),
        }
    }
}

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    hub: hub::Hub,
    mail: agon_kit::Mail,
    verifier: agon_kit::TokenVerifier,
    config: Arc<Config>,
    /// Wakes the provider worker after a send.
    wake: Arc<Notify>,
}

/// Opens and migrates the notifications database, subscribes to the events it turns into notifications and
/// returns the service with its workers (mail, providers and, with Redis, the fan-out receiver).
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    let db = deps.database(SERVICE, &agon_db::migrations!()).await?;
    let mail = agon_kit::Mail::new(&db, &deps.mail).await?;
    let (hub, receiver) = match &deps.redis_url {
        Some(url) => {
            let (hub, receiver) = hub::Hub::redis(url, &config.fanout_channel).await?;
            (hub, Some(receiver))
        }
        None => (hub::Hub::local(), None),
    };
    let state = State {
        store: store::Store::new(db.clone()),
        hub,
        mail: mail.clone(),
        verifier: deps.verifier.clone(),
        config: Arc::new(config),
        wake: Arc::new(Notify::new()),
    };
    subscribe::<auth::UserRegistered>(deps, &state).await?;
    subscribe::<auth::LoggedIn>(deps, &state).await?;
    subscribe::<auth::PasswordChanged>(deps, &state).await?;
    subscribe::<users::UserApproved>(deps, &state).await?;
    subscribe::<users::UserBanned>(deps, &state).await?;
    subscribe::<users::UserUnbanned>(deps, &state).await?;
    subscribe::<users::RolesChanged>(deps, &state).await?;
    subscribe::<users::UserDeleted>(deps, &state).await?;
    subscribe::<users::UserFollowed>(deps, &state).await?;
    subscribe::<users::DeviceRegistered>(deps, &state).await?;
    subscribe::<users::DeviceRemoved>(deps, &state).await?;
    let mut service = agon_kit::Service::new(SERVICE, http::router(state.clone()))
        .with_task(mail.deliver_forever())
        .with_task(providers::deliver_forever(state))
        .with_check(agon_kit::ReadyCheck::database(&db))
        .with_check(agon_kit::ReadyCheck::bus(&deps.bus));
    if let Some(receiver) = receiver {
        service = service.with_task(receiver);
    }
    Ok(service)
}

/// One durable consumer per topic, named after it.
async fn subscribe<E: agon_messages::Event>(
    deps: &agon_kit::Deps,
    state: &State,
) -> anyhow::Result<()> {
    let name = format!("{SERVICE}.{}", E::TOPIC);
    deps.bus
        .subscribe(
            state.store.db(),
            &name,
            events::OnEvent::<E>::new(state.clone()),
        )
        .await
}
