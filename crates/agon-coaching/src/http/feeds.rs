//! A member's sessions — those they booked and those booked with them — as an iCalendar feed, opened by their
//! calendar key ([`agon_kit::feed`]).

use agon_kit::{AuthUser, Json, Path, feed};
use axum::{http::StatusCode, response::IntoResponse};
use chrono::Duration;
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    State,
    error::Error,
    store::{Booking, Side},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(new_key))
        .routes(routes!(sessions_feed))
}

/// Sessions from this long ago on.
const FEED_PAST_DAYS: i64 = 30;
/// Most sessions of each side in one feed.
const FEED_MAX: i64 = 500;

/// A calendar key and the feed it opens.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarKey {
    /// Shown once: keep it like a password.
    pub key: String,
    pub sessions_url: String,
}

/// Gives the caller a new calendar key, replacing the one before (whose feed stops): the only time it is shown.
#[utoipa::path(post, path = "/coaching/calendar", tag = "coaching", security(("bearer" = [])),
    responses((status = 201, body = CalendarKey), (status = 401)))]
async fn new_key(auth: AuthUser, state: State) -> Result<(StatusCode, Json<CalendarKey>), Error> {
    let key = feed::new_key();
    state
        .store
        .set_calendar_key(auth.user_id, &feed::key_hash(&key))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CalendarKey {
            sessions_url: format!("/coaching/calendar/{key}/sessions"),
            key,
        }),
    ))
}

fn event(b: &Booking, summary: &str) -> Option<Event> {
    let start = agon_db::parse_time(&b.starts_at).ok()?;
    let end = agon_db::parse_time(&b.ends_at).ok()?;
    let status = if b.status == "cancelled" {
        EventStatus::Cancelled
    } else {
        EventStatus::Confirmed
    };
    Some(
        Event::new()
            .uid(&format!("{}@agon-coaching", b.id))
            .summary(summary)
            .description(&b.note)
            .starts(start)
            .ends(end)
            .status(status)
            .timestamp(chrono::Utc::now())
            .done(),
    )
}

/// The key's member's sessions, as athlete and as coach, from 30 days ago on (at most 500 of each), cancelled
/// ones marked so (calendar apps then remove them). No token: the key is the credential.
#[utoipa::path(get, path = "/coaching/calendar/{key}/sessions", tag = "coaching",
    params(("key" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404)))]
async fn sessions_feed(state: State, Path(key): Path<String>) -> Result<impl IntoResponse, Error> {
    let user = (state.store.calendar_owner(&feed::key_hash(&key)).await?)
        .ok_or(Error::CalendarNotFound)?;
    let since = agon_db::time_text(chrono::Utc::now() - Duration::days(FEED_PAST_DAYS));
    let mut cal = Calendar::new()
        .name("Coaching sessions")
        .ttl(&Duration::minutes(15))
        .done();
    for (side, summary) in [
        (Side::Athlete, "Coaching session"),
        (Side::Coach, "Session with an athlete"),
    ] {
        let rows = (state.store)
            .bookings((side, user), ("", &since), None, FEED_MAX)
            .await?;
        for b in &rows {
            let name = match side {
                Side::Athlete => state.store.coach(b.coach_id).await?.map(|c| c.name),
                Side::Coach => None,
            };
            let summary = name.map_or(summary.to_owned(), |n| format!("{summary} with {n}"));
            cal.extend(event(b, &summary));
        }
    }
    Ok(feed::ics(cal.to_string()))
}
