//! HTTP handlers of the targets service: a member's targets, their activity reports and totals.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Draft, Edit},
    error::Error,
    store::Target,
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, edit, delete_one))
        .routes(routes!(report))
        .routes(routes!(totals))
        .routes(routes!(series))
        .with_state(state)
}

/// A target as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub metric: String,
    pub goal: f64,
    pub current: f64,
    /// The instant, in UTC.
    pub deadline: String,
    /// The IANA zone the deadline is shown in.
    pub time_zone: String,
    pub media: Vec<String>,
    /// `open`, `completed` or `expired`.
    pub status: &'static str,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Target> for TargetView {
    fn from(t: Target) -> Self {
        let status = domain::status(t.completed_at.is_some(), t.deadline, Utc::now());
        let draft = t.draft();
        Self {
            id: t.id,
            name: draft.name,
            description: draft.description,
            metric: draft.metric,
            goal: draft.goal,
            current: draft.current,
            deadline: agon_db::time_text(draft.deadline),
            time_zone: draft.time_zone,
            media: draft.media,
            status,
            completed_at: t.completed_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A new target.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTarget {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `distance_km`, `time_minutes`, `calories`, `steps`, `targets_completed`, `sessions` or `elevation_m`.
    pub metric: String,
    pub goal: f64,
    /// Progress so far (default 0); above the goal it saturates.
    #[serde(default)]
    pub current: f64,
    /// RFC 3339 with an offset.
    pub deadline: DateTime<Utc>,
    /// IANA zone the deadline is shown in (default `UTC`).
    pub time_zone: Option<String>,
    #[serde(default)]
    pub media: Vec<String>,
}

/// Fields to change; the others stay. The metric does not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub goal: Option<f64>,
    pub current: Option<f64>,
    pub deadline: Option<DateTime<Utc>>,
    pub time_zone: Option<String>,
    pub media: Option<Vec<String>>,
}

/// Activity the app measured.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub metric: String,
    /// From 0 to 1e9, in the metric's unit.
    pub amount: f64,
    /// When it happened (default: now); targets whose deadline had passed by then do not move.
    pub at: Option<DateTime<Utc>>,
    /// The app's own id for this report (at most 100 characters): a retried upload with it counts once.
    pub report_id: Option<String>,
}

/// What a report did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reported {
    pub metric: String,
    pub amount: f64,
    /// False for a retried report that had counted already.
    pub counted: bool,
    /// Targets this report completed.
    pub completed: Vec<Uuid>,
}

/// Creates a target for the caller.
#[utoipa::path(post, path = "/targets", tag = "targets", security(("bearer" = [])), request_body = NewTarget,
    responses((status = 201, body = TargetView), (status = 401), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<NewTarget>,
) -> Result<(StatusCode, Json<TargetView>), Error> {
    let draft = domain::check(Draft {
        name: body.name,
        description: body.description,
        metric: body.metric,
        goal: body.goal,
        current: body.current,
        deadline: body.deadline,
        time_zone: body.time_zone.unwrap_or_else(|| "UTC".into()),
        media: body.media,
    })
    .map_err(Error::invalid_fields)?;
    let (id, now) = (Uuid::now_v7(), Utc::now());
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert(&mut tx, id, auth.user_id, &draft, &agon_db::time_text(now))
        .await?;
    let event = agon_messages::targets::TargetCreated {
        target_id: id,
        owner_id: auth.user_id,
        metric: draft.metric.clone(),
        goal: draft.goal,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    let created = state.store.target(id).await?.ok_or(Error::NotFound(id))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The caller's targets, newest first.
#[utoipa::path(get, path = "/targets", tag = "targets", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<TargetView>), (status = 401)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<TargetView>>, Error> {
    let rows = state
        .store
        .list(auth.user_id, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views: Vec<TargetView> = rows.into_iter().map(TargetView::from).collect();
    Ok(Json(page.page(views, |t| t.id)))
}

/// The target `id` if the caller owns it (or administers the club).
async fn owned(state: &State, auth: &AuthUser, id: Uuid) -> Result<Target, Error> {
    let target = state.store.target(id).await?.ok_or(Error::NotFound(id))?;
    if target.owner_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotFound(id));
    }
    Ok(target)
}

/// One of the caller's targets.
#[utoipa::path(get, path = "/targets/{id}", tag = "targets", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TargetView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<TargetView>, Error> {
    Ok(Json(owned(&state, &auth, id).await?.into()))
}

/// Changes one of the caller's targets; an expired one no longer changes (409).
#[utoipa::path(patch, path = "/targets/{id}", tag = "targets", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = TargetEdit,
    responses((status = 200, body = TargetView), (status = 404), (status = 409), (status = 422)))]
async fn edit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<TargetEdit>,
) -> Result<Json<TargetView>, Error> {
    let target = owned(&state, &auth, id).await?;
    if target.owner_id != auth.user_id {
        return Err(Error::NotFound(id));
    }
    let now = Utc::now();
    // Past its deadline a target no longer changes, unless the change gives it a new deadline ahead.
    let extended = body.deadline.is_some_and(|d| d > now);
    if target.completed_at.is_none() && target.deadline <= now && !extended {
        return Err(Error::Expired);
    }
    let current = body
        .current
        .map(|c| c.min(body.goal.unwrap_or(target.goal)));
    let draft = target
        .draft()
        .edited(Edit {
            name: body.name,
            description: body.description,
            goal: body.goal,
            current: body.current,
            deadline: body.deadline,
            time_zone: body.time_zone,
            media: body.media,
        })
        .map_err(Error::invalid_fields)?;
    let mut tx = state.store.db().begin().await?;
    if state
        .store
        .update(&mut tx, id, (&draft, current), &agon_db::time_text(now))
        .await?
    {
        completed(
            &mut tx,
            auth.user_id,
            (id, &draft.name, &draft.metric, draft.goal),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let target = state.store.target(id).await?.ok_or(Error::NotFound(id))?;
    Ok(Json(target.into()))
}

/// Deletes one of the caller's targets.
#[utoipa::path(delete, path = "/targets/{id}", tag = "targets", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    let target = owned(&state, &auth, id).await?;
    if target.owner_id != auth.user_id {
        return Err(Error::NotFound(id));
    }
    state.store.delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Announces a completion inside `tx`.
async fn completed(
    tx: &mut agon_db::Tx,
    owner: Uuid,
    (id, name, metric, goal): (Uuid, &str, &str, f64),
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let event = agon_messages::targets::TargetCompleted {
        target_id: id,
        owner_id: owner,
        name: name.to_owned(),
        metric: metric.to_owned(),
        goal,
        at,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    Ok(())
}

/// A report's metric (normalised) and client id (trimmed), or every problem with it.
fn checked_report(body: &Report) -> Result<(String, Option<String>), Error> {
    let metric = body.metric.trim().to_lowercase();
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: &str| {
        problems.push(agon_kit::FieldError {
            field: field.into(),
            message: message.into(),
        });
    };
    if !domain::METRICS.contains(&metric.as_str()) {
        problem("metric", "is not a metric");
    }
    if !domain::amount_ok(body.amount) {
        problem("amount", "must be from 0 to 1e9");
    }
    let client_id = body.report_id.as_deref().map(|r| r.trim().to_owned());
    if let Some(r) = &client_id
        && (r.is_empty()
            || r.chars().count() > 100
            || agon_kit::text::check("report_id", r, agon_kit::text::Lines::Single).is_err())
    {
        problem("report_id", "must be 1 to 100 printable characters");
    }
    if !problems.is_empty() {
        return Err(Error::invalid_fields(problems));
    }
    Ok((metric, client_id))
}

/// Reports activity: it adds to the caller's open targets of that metric (saturating at each goal) and
/// completes those it fills; a report with a `report_id` already counted changes nothing.
#[utoipa::path(post, path = "/targets/reports", tag = "targets", security(("bearer" = [])), request_body = Report,
    responses((status = 201, body = Reported), (status = 401), (status = 422)))]
async fn report(
    auth: AuthUser,
    state: State,
    Json(body): Json<Report>,
) -> Result<(StatusCode, Json<Reported>), Error> {
    let (metric, client_id) = checked_report(&body)?;
    let now = Utc::now();
    let at = body.at.unwrap_or(now).min(now);
    let (at_text, now_text) = (agon_db::time_text(at), agon_db::time_text(now));
    let id = Uuid::now_v7();
    let mut tx = state.store.db().begin().await?;
    let counted = state
        .store
        .insert_report(
            &mut tx,
            (id, auth.user_id),
            client_id.as_deref(),
            (&metric, body.amount),
            (&at_text, &now_text),
        )
        .await?;
    let mut done = Vec::new();
    if counted {
        let filled = state
            .store
            .apply(
                &mut tx,
                auth.user_id,
                (&metric, body.amount),
                (&at_text, &now_text),
            )
            .await?;
        for target in filled {
            completed(
                &mut tx,
                auth.user_id,
                (target.id, &target.name, &target.metric, target.goal),
                now,
            )
            .await?;
            done.push(target.id);
        }
        let event = agon_messages::targets::ActivityReported {
            report_id: id,
            owner_id: auth.user_id,
            metric: metric.clone(),
            amount: body.amount,
            at,
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let reported = Reported {
        metric,
        amount: body.amount,
        counted,
        completed: done,
    };
    Ok((StatusCode::CREATED, Json(reported)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TotalsParams {
    /// From this instant (default: 30 days ago).
    pub from: Option<DateTime<Utc>>,
    /// Until this instant, excluded (default: now).
    pub to: Option<DateTime<Utc>>,
}

/// The caller's reported totals per metric over a window, every metric listed (0 when none).
#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    pub from: String,
    pub to: String,
    pub totals: Vec<Total>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Total {
    pub metric: String,
    pub total: f64,
}

/// The caller's activity totals per metric over a window.
#[utoipa::path(get, path = "/targets/reports/totals", tag = "targets", security(("bearer" = [])), params(TotalsParams),
    responses((status = 200, body = Totals), (status = 401), (status = 422)))]
async fn totals(
    auth: AuthUser,
    state: State,
    Query(params): Query<TotalsParams>,
) -> Result<Json<Totals>, Error> {
    let to = params.to.unwrap_or_else(Utc::now);
    let from = params.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(Error::invalid("from", "must not be after to"));
    }
    let (from, to) = (agon_db::time_text(from), agon_db::time_text(to));
    let sums = state.store.totals(auth.user_id, &from, &to).await?;
    let totals = domain::METRICS
        .iter()
        .map(|m| Total {
            metric: (*m).to_owned(),
            total: sums
                .iter()
                .find(|(metric, _)| metric == m)
                .map_or(0.0, |(_, t)| *t),
        })
        .collect();
    Ok(Json(Totals { from, to, totals }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SeriesParams {
    pub metric: String,
    /// First day, `YYYY-MM-DD` in `time_zone` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, inclusive (default: today in `time_zone`).
    pub to: Option<String>,
    /// `day` (default) or `week` (ISO weeks, from Monday).
    pub bucket: Option<String>,
    /// IANA zone the days are counted in (default `UTC`).
    pub time_zone: Option<String>,
}

/// A chart's series: one point per day or week, zero-filled.
#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub metric: String,
    pub bucket: String,
    pub time_zone: String,
    pub points: Vec<Point>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    /// The bucket's first day, `YYYY-MM-DD`.
    pub start: String,
    pub total: f64,
}

/// Most days a series spans.
const MAX_SERIES_DAYS: i32 = 366;

/// What a series asks for, checked.
struct Window {
    metric: String,
    zone_name: String,
    zone: jiff::tz::TimeZone,
    week: bool,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
}

fn window(params: SeriesParams) -> Result<Window, Error> {
    let metric = params.metric.trim().to_lowercase();
    if !domain::METRICS.contains(&metric.as_str()) {
        return Err(Error::invalid("metric", "is not a metric"));
    }
    let zone_name = params.time_zone.unwrap_or_else(|| "UTC".into());
    let zone = jiff::tz::TimeZone::get(&zone_name).map_err(|_| {
        Error::invalid(
            "time_zone",
            "must be an IANA time zone such as Europe/Madrid",
        )
    })?;
    let week = match params.bucket.as_deref().unwrap_or("day") {
        "day" => false,
        "week" => true,
        _ => return Err(Error::invalid("bucket", "must be day or week")),
    };
    let day = |field: &str, text: &str| {
        text.parse::<jiff::civil::Date>()
            .map_err(|_| Error::invalid(field, "must be a day, YYYY-MM-DD"))
    };
    let to = match &params.to {
        Some(text) => day("to", text)?,
        None => jiff::Timestamp::now().to_zoned(zone.clone()).date(),
    };
    let from = match &params.from {
        Some(text) => day("from", text)?,
        None => to
            .checked_sub(jiff::Span::new().days(29))
            .map_err(|_| Error::invalid("to", "is out of range"))?,
    };
    let span = from
        .until(to)
        .map_err(|_| Error::invalid("from", "is out of range"))?
        .get_days();
    if !(0..=MAX_SERIES_DAYS).contains(&span) {
        return Err(Error::invalid(
            "from",
            "must be on or before to, at most 366 days before it",
        ));
    }
    Ok(Window {
        metric,
        zone_name,
        zone,
        week,
        from,
        to,
    })
}

/// The caller's reported activity of one metric per day or week, in their time zone.
#[utoipa::path(get, path = "/targets/reports/series", tag = "targets", security(("bearer" = [])), params(SeriesParams),
    responses((status = 200, body = Series), (status = 401), (status = 422)))]
async fn series(
    auth: AuthUser,
    state: State,
    Query(params): Query<SeriesParams>,
) -> Result<Json<Series>, Error> {
    let Window {
        metric,
        zone_name,
        zone,
        week,
        from,
        to,
    } = window(params)?;
    // The window as instants: from the first day's local midnight to the one after the last day.
    let instant = |date: jiff::civil::Date| -> Result<String, Error> {
        let ts = (date
            .to_zoned(zone.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?)
        .timestamp();
        let nanos = u32::try_from(ts.subsec_nanosecond()).unwrap_or(0);
        let at = chrono::DateTime::from_timestamp(ts.as_second(), nanos)
            .ok_or_else(|| Error::invalid("from", "is out of range"))?;
        Ok(agon_db::time_text(at))
    };
    let end = to
        .tomorrow()
        .map_err(|_| Error::invalid("to", "is out of range"))?;
    let bucket_of = |date: jiff::civil::Date| {
        let back = if week {
            i64::from(date.weekday().to_monday_zero_offset())
        } else {
            0
        };
        date.checked_sub(jiff::Span::new().days(back))
            .unwrap_or(date)
    };
    // A week starts on its Monday, even before `from`: its first point is a whole week.
    let first = bucket_of(from);
    let reports = state
        .store
        .reports(auth.user_id, &metric, &instant(first)?, &instant(end)?)
        .await?;
    let mut points: Vec<Point> = Vec::new();
    let mut date = first;
    while date <= to {
        points.push(Point {
            start: date.to_string(),
            total: 0.0,
        });
        date = date
            .checked_add(jiff::Span::new().days(if week { 7 } else { 1 }))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let index: std::collections::HashMap<String, usize> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (p.start.clone(), i))
        .collect();
    for (at, amount) in reports {
        let Ok(ts) = at.parse::<jiff::Timestamp>() else {
            continue;
        };
        let start = bucket_of(ts.to_zoned(zone.clone()).date()).to_string();
        if let Some(&i) = index.get(&start) {
            points[i].total += amount;
        }
    }
    Ok(Json(Series {
        metric,
        bucket: if week { "week" } else { "day" }.into(),
        time_zone: zone_name,
        points,
    }))
}
