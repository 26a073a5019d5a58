//! HTTP handlers of coaching: coaches' profiles, their availability and the slots it gives; bookings in
//! `bookings`, calendar feeds in `feeds`. Every route takes a member's token.

mod bookings;
pub(crate) use bookings::session;
mod feeds;

use agon_kit::{AuthUser, FieldError, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, ExceptionDraft, Plan, Rule},
    error::Error,
    store::{Coach, CoachRow, ExceptionRow},
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(put_profile))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(get_rules, put_rules))
        .routes(routes!(list_exceptions, add_exception))
        .routes(routes!(delete_exception))
        .routes(routes!(slots))
        .merge(bookings::router())
        .merge(feeds::router())
        .with_state(state)
}

fn fields(errors: Vec<(String, String)>) -> Error {
    Error::invalid_fields(
        (errors.into_iter())
            .map(|(field, message)| FieldError { field, message })
            .collect(),
    )
}

/// A coach's profile, as the coach writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub specialities: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    /// A session's price in minor units (0: free).
    #[serde(default)]
    pub price: i64,
    /// ISO 4217; the club's (`ledger.currency`) when absent.
    pub currency: Option<String>,
    /// The IANA zone availability is written in (`Europe/Paris`).
    pub time_zone: String,
    /// 15 to 480, a multiple of 5; 60 when absent.
    pub session_minutes: Option<i64>,
    /// Athletes cancel or move a booking until this many hours before it (0 to 336); 24 when absent.
    pub cutoff_hours: Option<i64>,
    /// Sessions are booked at least this many hours ahead (0 to 336); 2 when absent.
    pub notice_hours: Option<i64>,
    /// Offering sessions; true when absent.
    pub active: Option<bool>,
}

/// A coach.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoachView {
    pub id: Uuid,
    pub name: String,
    pub bio: String,
    pub specialities: Vec<String>,
    pub languages: Vec<String>,
    pub price: i64,
    pub currency: String,
    pub time_zone: String,
    pub session_minutes: i64,
    pub cutoff_hours: i64,
    pub notice_hours: i64,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Coach> for CoachView {
    fn from(c: Coach) -> Self {
        let list = |v: serde_json::Value| serde_json::from_value(v).unwrap_or_default();
        Self {
            id: c.user_id,
            name: c.name,
            bio: c.bio,
            specialities: list(c.specialities),
            languages: list(c.languages),
            price: c.price,
            currency: c.currency,
            time_zone: c.time_zone,
            session_minutes: c.session_minutes,
            cutoff_hours: c.cutoff_hours,
            notice_hours: c.notice_hours,
            active: c.active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn check_profile(p: Profile, club_currency: &str) -> Result<CoachRow, Error> {
    use agon_kit::text::{Lines, checked, required};
    let mut errors: Vec<FieldError> = Vec::new();
    let name = required("name", p.name, 100, Lines::Single, &mut errors);
    let bio = checked("bio", p.bio, 4000, Lines::Multi, &mut errors);
    let list = |field: &str, items: Vec<String>, errors: &mut Vec<FieldError>| {
        if items.len() > 20 {
            errors.push(FieldError {
                field: field.into(),
                message: "at most 20 entries".into(),
            });
        }
        (items.into_iter().enumerate())
            .map(|(i, s)| {
                required(&format!("{field}[{i}]"), s, 50, Lines::Single, errors).to_lowercase()
            })
            .collect::<Vec<_>>()
    };
    let specialities = list("specialities", p.specialities, &mut errors);
    let languages = list("languages", p.languages, &mut errors);
    let mut fail = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        })
    };
    if p.price < 0 {
        fail("price", "must not be negative".into());
    }
    let currency = p.currency.unwrap_or_else(|| club_currency.to_owned());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        fail("currency", "must be an ISO 4217 code such as EUR".into());
    }
    if jiff::tz::TimeZone::get(&p.time_zone).is_err() {
        fail(
            "time_zone",
            format!("`{}` is not an IANA time zone", p.time_zone),
        );
    }
    let session_minutes = p.session_minutes.unwrap_or(60);
    if let Err(e) = domain::check_session_minutes(session_minutes) {
        fail("session_minutes", e);
    }
    let (cutoff_hours, notice_hours) = (p.cutoff_hours.unwrap_or(24), p.notice_hours.unwrap_or(2));
    for (field, hours) in [
        ("cutoff_hours", cutoff_hours),
        ("notice_hours", notice_hours),
    ] {
        if !(0..=336).contains(&hours) {
            fail(field, "must be 0 to 336".into());
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid_fields(errors));
    }
    Ok(CoachRow {
        name,
        bio,
        specialities,
        languages,
        price: p.price,
        currency,
        time_zone: p.time_zone,
        session_minutes,
        cutoff_hours,
        notice_hours,
        active: p.active.unwrap_or(true),
    })
}

/// Writes the caller's coach profile (members with the coach or trainer role, and administrators).
#[utoipa::path(put, path = "/coaching/coaches/me", tag = "coaching", security(("bearer" = [])),
    request_body = Profile, responses((status = 200, body = CoachView), (status = 403), (status = 422)))]
async fn put_profile(
    auth: AuthUser,
    state: State,
    Json(body): Json<Profile>,
) -> Result<Json<CoachView>, Error> {
    if ![Role::Coach, Role::Trainer, Role::Admin]
        .iter()
        .any(|r| auth.has(*r))
    {
        return Err(Error::NotACoachRole);
    }
    let row = check_profile(body, &state.currency)?;
    (state.store)
        .put_coach(auth.user_id, &row, &agon_db::now_text())
        .await?;
    Ok(Json(coach_of(&state, auth.user_id).await?.into()))
}

async fn coach_of(state: &State, id: Uuid) -> Result<Coach, Error> {
    state.store.coach(id).await?.ok_or(Error::CoachNotFound(id))
}

/// Coach `id` as `auth` may see them: offering sessions, or the coach themself, or to an administrator.
pub(crate) async fn visible_coach(
    state: &State,
    auth: &AuthUser,
    id: Uuid,
) -> Result<Coach, Error> {
    let coach = coach_of(state, id).await?;
    if coach.active || auth.user_id == id || auth.has(Role::Admin) {
        Ok(coach)
    } else {
        Err(Error::CoachNotFound(id))
    }
}

/// Coach `id`, for a change by the coach or an administrator.
async fn own_coach(state: &State, auth: &AuthUser, id: Uuid) -> Result<Coach, Error> {
    let coach = visible_coach(state, auth, id).await?;
    if auth.user_id != id && !auth.has(Role::Admin) {
        return Err(Error::NotCoach);
    }
    Ok(coach)
}

/// Filters of the coaches' listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Coaches with this speciality (any case).
    pub speciality: Option<String>,
    /// Coaches speaking this language (any case).
    pub language: Option<String>,
    /// Coaches whose name holds this text.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The coaches offering sessions.
#[utoipa::path(get, path = "/coaching/coaches", tag = "coaching", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = Page<CoachView>), (status = 401)))]
async fn list(
    _: AuthUser,
    state: State,
    Query(q): Query<ListParams>,
) -> Result<Json<Page<CoachView>>, Error> {
    let page = PageParams::new(q.limit, q.cursor);
    let lower = |t: Option<String>| t.map(|t| t.trim().to_lowercase()).unwrap_or_default();
    let (speciality, language, name) = (lower(q.speciality), lower(q.language), lower(q.q));
    let rows = (state.store)
        .coaches(
            (&speciality, &language, &name),
            page.after::<Uuid>()?,
            page.fetch(),
        )
        .await?;
    let views = rows.into_iter().map(CoachView::from).collect();
    Ok(Json(page.page(views, |c: &CoachView| c.id)))
}

/// One coach.
#[utoipa::path(get, path = "/coaching/coaches/{id}", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = CoachView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<CoachView>, Error> {
    Ok(Json(visible_coach(&state, &auth, id).await?.into()))
}

/// A coach's weekly availability: local times in their zone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// The coach's zone (ignored when written: the profile's).
    #[serde(default)]
    pub time_zone: String,
    pub rules: Vec<Rule>,
}

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A coach's weekly availability.
#[utoipa::path(get, path = "/coaching/coaches/{id}/availability", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Availability), (status = 404)))]
async fn get_rules(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<Availability>, Error> {
    let coach = visible_coach(&state, &auth, id).await?;
    let rules = (state.store.rules(id).await?.into_iter())
        .map(|w| Rule {
            weekday: w.weekday.to_monday_one_offset(),
            start: hhmm(w.minutes.0),
            end: hhmm(w.minutes.1),
        })
        .collect();
    Ok(Json(Availability {
        time_zone: coach.time_zone,
        rules,
    }))
}

/// Replaces a coach's weekly availability (the coach, or an administrator). Bookings already made stay.
#[utoipa::path(put, path = "/coaching/coaches/{id}/availability", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Availability,
    responses((status = 200, body = Availability), (status = 403), (status = 404), (status = 422)))]
async fn put_rules(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Availability>,
) -> Result<Json<Availability>, Error> {
    own_coach(&state, &auth, id).await?;
    let windows = domain::check_rules(&body.rules).map_err(fields)?;
    state.store.replace_rules(id, &windows).await?;
    get_rules(auth, state, Path(id)).await
}

/// A date's time off or extra hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionView {
    pub id: Uuid,
    pub date: String,
    pub kind: String,
    pub start: String,
    pub end: String,
    pub reason: String,
}

impl From<ExceptionRow> for ExceptionView {
    fn from(e: ExceptionRow) -> Self {
        Self {
            id: e.id,
            date: e.day,
            kind: e.kind,
            start: hhmm(e.start_minute),
            end: hhmm(e.end_minute),
            reason: e.reason,
        }
    }
}

/// Adds time off or extra hours on a date (the coach, or an administrator).
#[utoipa::path(post, path = "/coaching/coaches/{id}/exceptions", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ExceptionDraft,
    responses((status = 201, body = ExceptionView), (status = 403), (status = 404), (status = 422)))]
async fn add_exception(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<ExceptionDraft>,
) -> Result<(StatusCode, Json<ExceptionView>), Error> {
    own_coach(&state, &auth, id).await?;
    let exception = domain::check_exception(&body).map_err(|e| fields(vec![e]))?;
    let exception_id = Uuid::now_v7();
    (state.store)
        .insert_exception(id, exception_id, &exception, &body.reason)
        .await?;
    let view = ExceptionView {
        id: exception_id,
        date: exception.date.to_string(),
        kind: body.kind,
        start: hhmm(exception.minutes.0),
        end: hhmm(exception.minutes.1),
        reason: body.reason,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Dates of the exceptions' listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExceptionParams {
    /// First date (`YYYY-MM-DD`); today when absent.
    pub from: Option<String>,
    /// Last date; a year after `from` when absent.
    pub to: Option<String>,
}

/// Most exceptions in one answer.
const MAX_EXCEPTIONS: i64 = 500;

/// A coach's exceptions between two dates, by date (at most 500).
#[utoipa::path(get, path = "/coaching/coaches/{id}/exceptions", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path), ExceptionParams),
    responses((status = 200, body = Vec<ExceptionView>), (status = 404), (status = 422)))]
async fn list_exceptions(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(q): Query<ExceptionParams>,
) -> Result<Json<Vec<ExceptionView>>, Error> {
    visible_coach(&state, &auth, id).await?;
    let date = |field: &str, text: Option<String>| {
        text.map(|t| t.parse::<jiff::civil::Date>())
            .transpose()
            .map_err(|_| Error::invalid(field, "must be a date YYYY-MM-DD"))
    };
    let from = date("from", q.from)?
        .unwrap_or_else(|| Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date());
    let to = date("to", q.to)?.unwrap_or_else(|| from.saturating_add(jiff::Span::new().years(1)));
    let rows = (state.store)
        .exceptions(id, (&from.to_string(), &to.to_string()), MAX_EXCEPTIONS)
        .await?;
    Ok(Json(rows.into_iter().map(ExceptionView::from).collect()))
}

/// Removes an exception (the coach, or an administrator).
#[utoipa::path(delete, path = "/coaching/coaches/{id}/exceptions/{exception}", tag = "coaching",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("exception" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_exception(
    auth: AuthUser,
    state: State,
    Path((id, exception)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    own_coach(&state, &auth, id).await?;
    if !state.store.delete_exception(id, exception).await? {
        return Err(Error::ExceptionNotFound(exception));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What a coach's slots over `window` are computed from: their profile, rules and the exceptions on its dates.
pub(crate) async fn plan(
    state: &State,
    coach: &Coach,
    window: domain::Span,
) -> Result<Plan, Error> {
    let zone = jiff::tz::TimeZone::get(&coach.time_zone)
        .map_err(|e| anyhow::anyhow!("coach {}'s zone: {e}", coach.user_id))?;
    let date = |t: Timestamp, days: i64| {
        (t.to_zoned(zone.clone()).date())
            .saturating_add(jiff::Span::new().days(days))
            .to_string()
    };
    let dates = (date(window.0, -1), date(window.1, 1));
    // A day holds at most a few exceptions; the window at most 94 days.
    let exceptions = (state.store)
        .exceptions(coach.user_id, (&dates.0, &dates.1), 20 * 100)
        .await?;
    let exceptions = (exceptions.into_iter())
        .filter_map(|e| {
            Some(domain::Exception {
                date: e.day.parse().ok()?,
                extra: e.kind == "extra",
                minutes: (e.start_minute, e.end_minute),
            })
        })
        .collect();
    Ok(Plan {
        zone,
        session_minutes: coach.session_minutes,
        windows: state.store.rules(coach.user_id).await?,
        exceptions,
    })
}

/// The window slots are asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SlotParams {
    /// From this instant (RFC 3339); now when absent.
    pub from: Option<String>,
    /// Until this instant; 14 days after `from` when absent, at most 92 days after it.
    pub to: Option<String>,
    /// Most slots in the answer: 1 to 1000, 200 when absent.
    pub limit: Option<u32>,
}

/// A bookable session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    pub starts_at: String,
    pub ends_at: String,
    /// The start on the coach's clock, with its offset (`2027-03-28T09:00:00+02:00`).
    pub local_start: String,
}

/// A coach's bookable slots.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slots {
    pub coach_id: Uuid,
    pub time_zone: String,
    pub session_minutes: i64,
    pub items: Vec<SlotView>,
    /// Where the next answer starts (`from`) when this one stopped at `limit`.
    pub next_from: Option<String>,
}

pub(crate) fn parse_instant(field: &str, text: &str) -> Result<Timestamp, Error> {
    text.parse().map_err(|_| {
        Error::invalid(
            field,
            "must be an RFC 3339 instant such as 2027-03-28T09:00:00Z",
        )
    })
}

/// The sessions of a coach free to book between two instants, soonest first: their weekly availability and
/// exceptions, less their booked sessions and what is closer than their notice.
#[utoipa::path(get, path = "/coaching/coaches/{id}/slots", tag = "coaching", security(("bearer" = [])),
    params(("id" = Uuid, Path), SlotParams),
    responses((status = 200, body = Slots), (status = 404), (status = 422)))]
async fn slots(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(q): Query<SlotParams>,
) -> Result<Json<Slots>, Error> {
    let coach = visible_coach(&state, &auth, id).await?;
    let earliest = Timestamp::now() + SignedDuration::from_hours(coach.notice_hours);
    let from = match q.from.as_deref() {
        Some(t) => parse_instant("from", t)?,
        None => Timestamp::now(),
    };
    let days = SignedDuration::from_hours(24 * domain::MAX_SLOT_DAYS);
    let to = match q.to.as_deref() {
        Some(t) => parse_instant("to", t)?,
        None => from + SignedDuration::from_hours(24 * 14),
    };
    if to <= from || to.duration_since(from) > days {
        return Err(Error::invalid(
            "to",
            "must be after `from`, by at most 92 days",
        ));
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1 to 1000"));
    }
    let window = (from.max(earliest), to);
    let busy = state.store.busy(id, window).await?;
    let plan = plan(&state, &coach, window).await?;
    let mut all = domain::slots(&plan, window, &busy);
    let next_from = (all.len() > limit as usize).then(|| all[limit as usize].0.to_string());
    all.truncate(limit as usize);
    let items = (all.into_iter())
        .map(|(start, end)| SlotView {
            starts_at: start.to_string(),
            ends_at: end.to_string(),
            local_start: start
                .to_zoned(plan.zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        })
        .collect();
    Ok(Json(Slots {
        coach_id: id,
        time_zone: coach.time_zone,
        session_minutes: coach.session_minutes,
        items,
        next_from,
    }))
}
