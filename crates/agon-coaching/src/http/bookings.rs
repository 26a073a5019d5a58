//! Bookings: an athlete books one of a coach's slots; either side cancels or moves it (the athlete until the
//! coach's cut-off); the coach records attendance and keeps notes, private or shared with the athlete.
//!
//! A booking claims its five-minute cells of time for the coach and for the athlete in the transaction that
//! writes it, so of any number of concurrent requests for overlapping times exactly one commits: the database
//! refuses the others' claims (409 `slot_taken`), whatever the replica or engine.

use agon_kit::{AuthUser, IdempotencyKey, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{parse_instant, plan, visible_coach};
use crate::{
    State,
    domain::{self, Actor, Span},
    error::Error,
    store::{self, Booking, Coach, NewBooking, Side, Store},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(book, list))
        .routes(routes!(get_one))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(attendance))
        .routes(routes!(add_note, notes))
}

/// A booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: Uuid,
    pub coach_id: Uuid,
    pub athlete_id: Uuid,
    pub starts_at: String,
    pub ends_at: String,
    /// `confirmed`, `cancelled`, `attended` or `missed`.
    pub status: String,
    pub note: String,
    pub price: i64,
    pub currency: String,
    /// Who cancelled it.
    pub cancelled_by: Option<String>,
    /// Why it was cancelled or last moved.
    pub reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Booking> for BookingView {
    fn from(b: Booking) -> Self {
        Self {
            id: b.id,
            coach_id: b.coach_id,
            athlete_id: b.athlete_id,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            status: b.status,
            note: b.note,
            price: b.price,
            currency: b.currency,
            cancelled_by: b.cancelled_by,
            reason: b.reason,
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// A booking asked for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBookingBody {
    pub coach_id: Uuid,
    /// The slot's start, as `/coaching/coaches/{id}/slots` gives it.
    pub starts_at: String,
    /// For the coach: at most 1000 characters.
    #[serde(default)]
    pub note: String,
    /// Whose session it is: the caller when absent. A coach books athletes into their own slots; administrators
    /// into anyone's.
    pub athlete_id: Option<Uuid>,
}

/// The coach's session starting at `start`, free by their rules and at least their notice ahead; whether it is
/// free of other bookings is the claims' to say.
async fn offered(state: &State, coach: &Coach, start: Timestamp) -> Result<Span, Error> {
    let earliest = Timestamp::now() + SignedDuration::from_hours(coach.notice_hours);
    if start < earliest {
        return Err(Error::TooSoon(coach.notice_hours));
    }
    let window = (start, start + SignedDuration::from_secs(1));
    let slots = domain::slots(&plan(state, coach, window).await?, window, &[]);
    slots
        .into_iter()
        .find(|s| s.0 == start)
        .ok_or(Error::NotAvailable)
}

pub(crate) fn session(
    b: &Booking,
    coach: &Coach,
) -> Result<agon_messages::coaching::Session, Error> {
    let utc = |t: &str| agon_db::parse_time(t).map_err(|e| Error::from(anyhow::anyhow!("{e}")));
    let zone = jiff::tz::TimeZone::get(&coach.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let local_start = store::instant(&b.starts_at)?
        .to_zoned(zone)
        .strftime("%a %-d %b %Y, %H:%M %Z");
    Ok(agon_messages::coaching::Session {
        local_start: local_start.to_string(),
        booking_id: b.id,
        coach_id: b.coach_id,
        coach_name: coach.name.clone(),
        athlete_id: b.athlete_id,
        starts_at: utc(&b.starts_at)?,
        ends_at: utc(&b.ends_at)?,
        time_zone: coach.time_zone.clone(),
    })
}

/// Books a coach's session: 201 with the booking; 409 `slot_taken` when the coach (or you) already has a session
/// then. With an `Idempotency-Key`, a retry answers 200 with the booking the first request made.
#[utoipa::path(post, path = "/coaching/bookings", tag = "coaching", security(("bearer" = [])),
    request_body = NewBookingBody, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = BookingView), (status = 200, body = BookingView), (status = 404),
        (status = 409), (status = 422)))]
async fn book(
    auth: AuthUser,
    state: State,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<NewBookingBody>,
) -> Result<(StatusCode, Json<BookingView>), Error> {
    let start = parse_instant("starts_at", &body.starts_at)?;
    if body.note.chars().count() > 1000 {
        return Err(Error::invalid("note", "at most 1000 characters"));
    }
    let athlete = body.athlete_id.unwrap_or(auth.user_id);
    if athlete != auth.user_id && body.coach_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotCoach);
    }
    if let Some(key) = key.as_deref()
        && let Some(done) = state.store.booking_by_key(athlete, key).await?
    {
        return replay(done, &body, start);
    }
    let coach = visible_coach(&state, &auth, body.coach_id).await?;
    if coach.user_id == athlete {
        return Err(Error::OwnSession);
    }
    let span = offered(&state, &coach, start).await?;
    let id = Uuid::now_v7();
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    let new = NewBooking {
        id,
        coach: &coach,
        athlete,
        span,
        note: &body.note,
        key: key.as_deref(),
    };
    let inserted = Store::insert_booking(&mut tx, &new, &now).await;
    if let (Err(Error::KeyReused), Some(key)) = (&inserted, key.as_deref()) {
        drop(tx);
        let done = (state.store.booking_by_key(athlete, key).await?).ok_or(Error::KeyReused)?;
        return replay(done, &body, start);
    }
    inserted?;
    Store::claim(&mut tx, id, [coach.user_id, athlete], span).await?;
    let booking = state.store_booking_in(&mut tx, id).await?;
    let confirmed = agon_messages::coaching::BookingConfirmed {
        session: session(&booking, &coach)?,
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &confirmed).await?;
    tx.commit().await?;
    state.outbox.wake();
    state.reminders.notify_one();
    Ok((StatusCode::CREATED, Json(booking.into())))
}

/// The answer to a retried booking: the first one's, if the retry asks for the same.
fn replay(
    done: Booking,
    body: &NewBookingBody,
    start: Timestamp,
) -> Result<(StatusCode, Json<BookingView>), Error> {
    let same_start = store::instant(&done.starts_at).is_ok_and(|s| s == start);
    if done.coach_id != body.coach_id || !same_start {
        return Err(Error::KeyReused);
    }
    Ok((StatusCode::OK, Json(done.into())))
}

impl State {
    async fn store_booking_in(&self, tx: &mut agon_db::Tx, id: Uuid) -> Result<Booking, Error> {
        Store::booking_in(tx, id)
            .await?
            .ok_or(Error::BookingNotFound(id))
    }
}

/// Booking `id` and the caller's part in it: its athlete, its coach or an administrator; anyone else is told it
/// does not exist.
async fn involved(state: &State, auth: &AuthUser, id: Uuid) -> Result<(Booking, Actor), Error> {
    let booking = state
        .store
        .booking(id)
        .await?
        .ok_or(Error::BookingNotFound(id))?;
    let actor = if booking.coach_id == auth.user_id {
        Actor::Coach
    } else if booking.athlete_id == auth.user_id {
        Actor::Athlete
    } else if auth.has(Role::Admin) {
        Actor::Admin
    } else {
        return Err(Error::BookingNotFound(id));
    };
    Ok((booking, actor))
}

/// One booking (its athlete, its coach, or an administrator).
#[utoipa::path(get, path = "/coaching/bookings/{id}", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = BookingView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<BookingView>, Error> {
    Ok(Json(involved(&state, &auth, id).await?.0.into()))
}

/// Which of the caller's bookings to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `athlete` (the sessions you booked; the default) or `coach` (the sessions booked with you).
    #[serde(rename = "as")]
    pub side: Option<String>,
    /// Only bookings in this status.
    pub status: Option<String>,
    /// Only sessions starting at or after this instant (RFC 3339).
    pub since: Option<String>,
    /// Another member's bookings (administrators only; a coach's own athletes' are in `as=coach`).
    pub person: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's bookings, by start.
#[utoipa::path(get, path = "/coaching/bookings", tag = "coaching", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = Page<BookingView>), (status = 422)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<BookingView>>, Error> {
    let side = match q.side.as_deref() {
        None | Some("athlete") => Side::Athlete,
        Some("coach") => Side::Coach,
        Some(_) => return Err(Error::invalid("as", "must be athlete or coach")),
    };
    let status = q.status.unwrap_or_default();
    if !["", "confirmed", "cancelled", "attended", "missed"].contains(&status.as_str()) {
        return Err(Error::invalid(
            "status",
            "must be confirmed, cancelled, attended or missed",
        ));
    }
    let since = match q.since.as_deref() {
        Some(t) => store::text(parse_instant("since", t)?),
        None => String::new(),
    };
    let person = q.person.unwrap_or(auth.user_id);
    if person != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotCoach);
    }
    let page = PageParams::new(q.limit, q.cursor);
    let rows = (state.store)
        .bookings(
            (side, person),
            (&status, &since),
            page.after::<(String, Uuid)>()?,
            page.fetch(),
        )
        .await?;
    let views = rows.into_iter().map(BookingView::from).collect();
    Ok(Json(page.page(views, |b: &BookingView| {
        (b.starts_at.clone(), b.id)
    })))
}

/// Why a booking is cancelled or moved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// 1 to 500 characters.
    pub reason: String,
}

fn check_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "must be 1 to 500 characters"));
    }
    Ok(reason)
}

/// A booking the caller may still change, with its coach.
async fn changeable(state: &State, auth: &AuthUser, id: Uuid) -> Result<(Booking, Coach), Error> {
    let (booking, actor) = involved(state, auth, id).await?;
    if booking.status != "confirmed" {
        return Err(Error::NotConfirmed(booking.status));
    }
    let coach = state
        .store
        .coach(booking.coach_id)
        .await?
        .ok_or(Error::CoachNotFound(booking.coach_id))?;
    let start = store::instant(&booking.starts_at)?;
    if !domain::may_change(actor, start, Timestamp::now(), coach.cutoff_hours) {
        return Err(match actor {
            Actor::Athlete => Error::CutoffPassed(coach.cutoff_hours),
            _ => Error::NotConfirmed("under way".into()),
        });
    }
    Ok((booking, coach))
}

/// Cancels a booking: its athlete until the coach's cut-off, its coach or an administrator until it starts. Its
/// time is free again at once.
#[utoipa::path(post, path = "/coaching/bookings/{id}/cancel", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 200, body = BookingView), (status = 404), (status = 409), (status = 422)))]
async fn cancel(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Reason>,
) -> Result<Json<BookingView>, Error> {
    let reason = check_reason(&body.reason)?;
    let (booking, coach) = changeable(&state, &auth, id).await?;
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    let settled = ("cancelled", Some(auth.user_id), Some(reason));
    if !Store::settle(&mut tx, id, settled, &now).await? {
        return Err(Error::NotConfirmed("no longer confirmed".into()));
    }
    Store::release(&mut tx, id).await?;
    Store::record_change(
        &mut tx,
        id,
        (auth.user_id, "cancel", reason),
        &booking.starts_at,
        &now,
    )
    .await?;
    let cancelled = agon_messages::coaching::BookingCancelled {
        session: session(&booking, &coach)?,
        by: auth.user_id,
        reason: reason.to_owned(),
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &cancelled).await?;
    let booking = state.store_booking_in(&mut tx, id).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Json(booking.into()))
}

/// A booking's new time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Move {
    /// Another of the coach's slots.
    pub starts_at: String,
    pub reason: String,
}

/// Moves a booking to another of the coach's free slots, under the same rules as cancelling: the old time is
/// freed and the new one claimed in one transaction.
#[utoipa::path(post, path = "/coaching/bookings/{id}/reschedule", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Move,
    responses((status = 200, body = BookingView), (status = 404), (status = 409), (status = 422)))]
async fn reschedule(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Move>,
) -> Result<Json<BookingView>, Error> {
    let reason = check_reason(&body.reason)?;
    let start = parse_instant("starts_at", &body.starts_at)?;
    let (booking, coach) = changeable(&state, &auth, id).await?;
    let span = offered(&state, &coach, start).await?;
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    Store::release(&mut tx, id).await?;
    Store::claim(&mut tx, id, [booking.coach_id, booking.athlete_id], span).await?;
    Store::move_booking(&mut tx, id, span, reason, &now).await?;
    Store::record_change(
        &mut tx,
        id,
        (auth.user_id, "reschedule", reason),
        &booking.starts_at,
        &now,
    )
    .await?;
    let moved = state.store_booking_in(&mut tx, id).await?;
    let rescheduled = agon_messages::coaching::BookingRescheduled {
        session: session(&moved, &coach)?,
        previous_start: agon_db::parse_time(&booking.starts_at)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        by: auth.user_id,
        reason: reason.to_owned(),
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &rescheduled).await?;
    tx.commit().await?;
    state.outbox.wake();
    state.reminders.notify_one();
    Ok(Json(moved.into()))
}

/// Whether the athlete came.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    pub attended: bool,
}

/// Records whether the athlete came (the coach or an administrator, once the session has started): the booking
/// becomes `attended` or `missed`.
#[utoipa::path(post, path = "/coaching/bookings/{id}/attendance", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Attendance,
    responses((status = 200, body = BookingView), (status = 403), (status = 404), (status = 409)))]
async fn attendance(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Attendance>,
) -> Result<Json<BookingView>, Error> {
    let (booking, actor) = involved(&state, &auth, id).await?;
    if actor == Actor::Athlete {
        return Err(Error::NotCoach);
    }
    if store::instant(&booking.starts_at)? > Timestamp::now() {
        return Err(Error::NotStarted);
    }
    let coach = state
        .store
        .coach(booking.coach_id)
        .await?
        .ok_or(Error::CoachNotFound(booking.coach_id))?;
    let status = if body.attended { "attended" } else { "missed" };
    let mut tx = state.store.db().begin().await?;
    if !Store::settle(&mut tx, id, (status, None, None), &agon_db::now_text()).await? {
        return Err(Error::NotConfirmed(booking.status));
    }
    let attended = agon_messages::coaching::SessionAttended {
        session: session(&booking, &coach)?,
        attended: body.attended,
        at: chrono::Utc::now(),
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &attended).await?;
    let booking = state.store_booking_in(&mut tx, id).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Json(booking.into()))
}

/// A note on a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// 1 to 10,000 characters.
    pub body: String,
    /// Shown to the athlete too; private to the coach when false (the default).
    #[serde(default)]
    pub shared: bool,
}

/// A session note.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub shared: bool,
    pub created_at: String,
}

/// Adds a note to a session (its coach, or an administrator).
#[utoipa::path(post, path = "/coaching/bookings/{id}/notes", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NoteBody,
    responses((status = 201, body = NoteView), (status = 403), (status = 404), (status = 422)))]
async fn add_note(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<NoteBody>,
) -> Result<(StatusCode, Json<NoteView>), Error> {
    let (_, actor) = involved(&state, &auth, id).await?;
    if actor == Actor::Athlete {
        return Err(Error::NotCoach);
    }
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > 10_000 {
        return Err(Error::invalid("body", "must be 1 to 10000 characters"));
    }
    let note = Uuid::now_v7();
    (state.store)
        .add_note((note, id, auth.user_id), text, body.shared)
        .await?;
    let view = NoteView {
        id: note,
        author_id: auth.user_id,
        body: text.to_owned(),
        shared: body.shared,
        created_at: agon_db::now_text(),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Paging of a session's notes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotesParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A session's notes, oldest first: all of them for its coach and administrators, the shared ones for its athlete.
#[utoipa::path(get, path = "/coaching/bookings/{id}/notes", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path), NotesParams),
    responses((status = 200, body = Page<NoteView>), (status = 404)))]
async fn notes(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(q): Query<NotesParams>,
) -> Result<Json<Page<NoteView>>, Error> {
    let (_, actor) = involved(&state, &auth, id).await?;
    let page = PageParams::new(q.limit, q.cursor);
    let rows = (state.store)
        .notes(
            id,
            actor == Actor::Athlete,
            page.after::<Uuid>()?,
            page.fetch(),
        )
        .await?;
    let views = (rows.into_iter())
        .map(|n| NoteView {
            id: n.id,
            author_id: n.author_id,
            body: n.body,
            shared: n.shared,
            created_at: n.created_at,
        })
        .collect();
    Ok(Json(page.page(views, |n: &NoteView| n.id)))
}
