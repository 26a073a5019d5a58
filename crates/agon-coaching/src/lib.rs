//! Coaching: coaches' profiles, their weekly availability in their own time zone and its exceptions, the slots
//! members book, bookings cancelled or moved under the coach's cut-off, attendance, session notes and calendar
//! feeds. No two sessions of one coach, or of one athlete, overlap: the database refuses it ([`domain::cells`]).
//!
//! Owns the `coaching` database. Publishes `coaching.*` (booking confirmed, rescheduled, cancelled, session
//! reminder, session attended) for notifications, engagement and metrics; consumes nothing.
//!
//! Entry point: [`build`].

pub mod domain;
mod error;
mod http;
mod store;

use std::{sync::Arc, time::Duration};

pub use error::Error;

/// The service's name: its database, its log and metric label.
pub const SERVICE: &str = "coaching";

/// Settings of the coaching service (`[coaching]`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long before a session its reminder goes out (hours).
    pub reminder_hours: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self { reminder_hours: 24 }
    }
}

#[derive(Clone, axum::extract::FromRef)]
struct State {
    store: store::Store,
    outbox: agon_bus::Outbox,
    verifier: agon_kit::TokenVerifier,
    /// The club's currency (`ledger.currency`): a coach's price's when they name none.
    currency: Arc<str>,
    /// Wakes the reminders: a session booked or moved inside the reminder window is reminded at once.
    reminders: Arc<tokio::sync::Notify>,
}

agon_kit::handler_state!(State);

/// Opens and migrates the coaching database, starts the reminders and returns the service; `currency` is the
/// club's (`ledger.currency`).
pub async fn build(
    deps: &agon_kit::Deps,
    config: Config,
    currency: String,
) -> anyhow::Result<agon_kit::Service> {
    let mut skeleton = deps.service(SERVICE, &agon_db::migrations!(shared)).await?;
    let state = State {
        store: store::Store::new(skeleton.db().clone()),
        outbox: skeleton.outbox().await?,
        verifier: skeleton.verifier(),
        currency: currency.into(),
        reminders: Arc::new(tokio::sync::Notify::new()),
    };
    skeleton.task(remind_forever(state.clone(), config.reminder_hours));
    Ok(skeleton.finish(http::router(state)))
}

/// How often due reminders are looked for.
const REMINDER_POLL: Duration = Duration::from_secs(30);

/// Sends each confirmed session's reminder once, `hours` before it (at once for one booked closer than that).
/// Every replica runs this; marking the booking reminded in the transaction that enqueues the event makes one of
/// them send it.
async fn remind_forever(state: State, hours: i64) -> anyhow::Result<()> {
    loop {
        match remind_due(&state, hours).await {
            Ok(0) => {}
            Ok(sent) => tracing::debug!(sent, "session reminders"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "sending session reminders"),
        }
        tokio::select! {
            () = tokio::time::sleep(REMINDER_POLL) => {}
            () = state.reminders.notified() => {}
        }
    }
}

async fn remind_due(state: &State, hours: i64) -> Result<usize, Error> {
    let before = agon_db::time_text(chrono::Utc::now() + chrono::Duration::hours(hours));
    let due = state.store.due_reminders(&before, 100).await?;
    let mut sent = 0;
    for booking in due {
        let Some(coach) = state.store.coach(booking.coach_id).await? else {
            continue;
        };
        let mut tx = state.store.db().begin().await?;
        if !store::Store::mark_reminded(&mut tx, booking.id).await? {
            continue;
        }
        let reminder = agon_messages::coaching::SessionReminder {
            session: http::session(&booking, &coach)?,
            at: chrono::Utc::now(),
        };
        agon_bus::enqueue(&mut tx, SERVICE, &reminder).await?;
        tx.commit().await?;
        sent += 1;
    }
    if sent > 0 {
        state.outbox.wake();
    }
    Ok(sent)
}
