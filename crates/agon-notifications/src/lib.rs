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
mod relay;
mod send;
mod store;
mod ws;

use std::sync::Arc;

use agon_messages::{Event, auth, coaching, shop, targets, tournaments, trainings, users};
use tokio::sync::Notify;

pub use error::Error;
pub use relay::RelayConfig;

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
    /// Shop events relayed to another system's RabbitMQ exchange (`relay.rs`); off without a URL.
    pub relay: relay::RelayConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sms_url: None,
            push_url: None,
            digest_window_secs: 600,
            fanout_channel: "agon:notifications".into(),
            relay: relay::RelayConfig::default(),
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

agon_kit::handler_state!(State);

/// Opens and migrates the notifications database, subscribes to the events it turns into notifications and
/// returns the service with its workers (mail, providers and, with Redis, the fan-out receiver).
pub async fn build(deps: &agon_kit::Deps, config: Config) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!()).await?;
    let hub = match &deps.redis_url {
        Some(url) => {
            let (hub, receiver) = hub::Hub::redis(url, &config.fanout_channel).await?;
            skeleton.task(receiver);
            hub
        }
        None => hub::Hub::local(),
    };
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        hub,
        mail: skeleton.mail().await?,
        verifier: skeleton.verifier(),
        config: Arc::new(config),
        wake: Arc::new(Notify::new()),
    };
    consume::<auth::UserRegistered>(&mut skeleton, &state).await?;
    consume::<auth::LoggedIn>(&mut skeleton, &state).await?;
    consume::<auth::PasswordChanged>(&mut skeleton, &state).await?;
    consume::<users::UserApproved>(&mut skeleton, &state).await?;
    consume::<users::UserBanned>(&mut skeleton, &state).await?;
    consume::<users::UserUnbanned>(&mut skeleton, &state).await?;
    consume::<users::RolesChanged>(&mut skeleton, &state).await?;
    consume::<users::UserDeleted>(&mut skeleton, &state).await?;
    consume::<users::UserFollowed>(&mut skeleton, &state).await?;
    consume::<users::DeviceRegistered>(&mut skeleton, &state).await?;
    consume::<users::DeviceRemoved>(&mut skeleton, &state).await?;
    consume::<targets::TargetCompleted>(&mut skeleton, &state).await?;
    consume::<trainings::CourseEnrolled>(&mut skeleton, &state).await?;
    consume::<tournaments::ParticipantApproved>(&mut skeleton, &state).await?;
    consume::<tournaments::TournamentCompleted>(&mut skeleton, &state).await?;
    consume::<tournaments::ResultDisputed>(&mut skeleton, &state).await?;
    consume::<shop::OrderCompleted>(&mut skeleton, &state).await?;
    consume::<shop::OrderCancelled>(&mut skeleton, &state).await?;
    consume::<tournaments::MatchScheduled>(&mut skeleton, &state).await?;
    consume::<tournaments::MatchReady>(&mut skeleton, &state).await?;
    consume::<trainings::CertificateIssued>(&mut skeleton, &state).await?;
    consume::<coaching::BookingConfirmed>(&mut skeleton, &state).await?;
    consume::<coaching::BookingRescheduled>(&mut skeleton, &state).await?;
    consume::<coaching::BookingCancelled>(&mut skeleton, &state).await?;
    consume::<coaching::SessionReminder>(&mut skeleton, &state).await?;
    relay::subscribe(&mut skeleton, &state.config.relay).await?;
    skeleton.task(providers::deliver_forever(state.clone()));
    Ok(skeleton.finish(http::router(state)))
}

/// One durable consumer per topic, named after it.
async fn consume<E: Event>(skeleton: &mut agon_kit::Skeleton, state: &State) -> anyhow::Result<()> {
    skeleton
        .consume::<E>(&format!("{SERVICE}.{}", E::TOPIC), state.clone())
        .await
}
