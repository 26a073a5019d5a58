//! Calendar feeds: a member's matches, and a tournament's schedule, as iCalendar, opened by the member's calendar
//! key ([`agon_kit::feed`]).

use agon_kit::{AuthUser, Json, Path, feed};
use axum::{http::StatusCode, response::IntoResponse};
use chrono::{Duration, Utc};
use icalendar::{Calendar, Component, Event, EventLike};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::super::play::match_views;
use crate::{State, error::Error, lifecycle::Status};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(new_key))
        .routes(routes!(member_feed))
        .routes(routes!(tournament_feed))
}

/// A member's matches from this long ago on.
const FEED_PAST_DAYS: i64 = 7;
/// Most matches in one feed.
const FEED_MAX: i64 = 500;

/// A calendar key and the feeds it opens.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarKey {
    /// Shown once: keep it like a password.
    pub key: String,
    /// The member's matches in every tournament.
    pub matches_url: String,
    /// A tournament's schedule: `{id}` is the tournament's id.
    pub tournament_url: String,
}

/// Gives the caller a new calendar key, replacing the one before (whose feeds stop): the only time it is shown.
#[utoipa::path(post, path = "/tournaments/calendar", tag = "tournaments", security(("bearer" = [])),
    responses((status = 201, body = CalendarKey), (status = 401)))]
async fn new_key(auth: AuthUser, state: State) -> Result<(StatusCode, Json<CalendarKey>), Error> {
    let key = feed::new_key();
    let now = agon_db::now_text();
    state
        .store
        .set_calendar_key(auth.user_id, &feed::key_hash(&key), &now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CalendarKey {
            matches_url: format!("/tournaments/calendar/{key}/matches"),
            tournament_url: format!("/tournaments/calendar/{key}/tournaments/{{id}}"),
            key,
        }),
    ))
}

fn calendar(name: &str, zone: &str) -> Calendar {
    Calendar::new()
        .name(name)
        .timezone(zone)
        .ttl(&Duration::minutes(15))
        .done()
}

fn event(
    uid: String,
    summary: &str,
    (start, minutes): (&str, i64),
    (court, detail): (&str, &str),
) -> Option<Event> {
    let start = agon_db::parse_time(start).ok()?;
    Some(
        Event::new()
            .uid(&uid)
            .summary(summary)
            .location(court)
            .description(detail)
            .starts(start)
            .ends(start + Duration::minutes(minutes))
            .timestamp(Utc::now())
            .done(),
    )
}

/// The key's member's scheduled matches in every tournament, from a week ago on (at most 500), as iCalendar. No
/// token: the key is the credential.
#[utoipa::path(get, path = "/tournaments/calendar/{key}/matches", tag = "tournaments",
    params(("key" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404)))]
async fn member_feed(state: State, Path(key): Path<String>) -> Result<impl IntoResponse, Error> {
    let user = (state.store.calendar_owner(&feed::key_hash(&key)).await?)
        .ok_or(Error::CalendarNotFound)?;
    let since = agon_db::time_text(Utc::now() - Duration::days(FEED_PAST_DAYS));
    let rows = state.store.member_calendar(user, &since, FEED_MAX).await?;
    let mut cal = calendar("My matches", "UTC");
    for r in rows {
        let opponent = r.opponent.as_deref().unwrap_or("an opponent to be decided");
        let summary = format!("{}: against {opponent}", r.tournament_name);
        let detail = format!("Round {}, match {}", r.round, r.number);
        let court = r.court.as_deref().unwrap_or_default();
        let uid = format!("{}-{}@agon", r.tournament_id, r.position);
        cal.extend(event(
            uid,
            &summary,
            (&r.starts_at, r.match_minutes),
            (court, &detail),
        ));
    }
    Ok(feed::ics(cal.to_string()))
}

/// A tournament's scheduled matches as iCalendar, for the key's member (a draft only for its organiser).
#[utoipa::path(get, path = "/tournaments/calendar/{key}/tournaments/{id}", tag = "tournaments",
    params(("key" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404)))]
async fn tournament_feed(
    state: State,
    Path((key, id)): Path<(String, Uuid)>,
) -> Result<impl IntoResponse, Error> {
    let user = (state.store.calendar_owner(&feed::key_hash(&key)).await?)
        .ok_or(Error::CalendarNotFound)?;
    let t = (state.store.tournament(id).await?)
        .filter(|t| t.status() != Status::Draft || t.created_by == user)
        .ok_or(Error::NotFound(id))?;
    let mut cal = calendar(&t.name, &t.time_zone);
    for m in match_views(&state, &t).await? {
        let Some(start) = m.starts_at.as_deref().filter(|_| !m.void) else {
            continue;
        };
        let name = |i: usize| {
            m.sides[i]
                .as_ref()
                .map_or("to be decided", |s| s.name.as_str())
        };
        let summary = format!("{} – {} vs {}", t.name, name(0), name(1));
        let detail = format!("{} round {}, match {}", m.stage, m.round, m.number);
        let court = m.court.as_ref().map_or("", |c| c.name.as_str());
        let uid = format!("{}-{}@agon", t.id, m.position);
        cal.extend(event(
            uid,
            &summary,
            (start, t.match_minutes),
            (court, &detail),
        ));
    }
    Ok(feed::ics(cal.to_string()))
}
