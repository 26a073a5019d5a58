//! Scheduling: a tournament's courts and play windows, planning its matches onto them, placing one by hand, and
//! the calendar feeds of a tournament and of a member's matches.

use agon_kit::{AuthUser, Json, Path, text::Lines};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    organised,
    play::{MatchView, match_views},
    visible,
};
use crate::{
    State,
    error::Error,
    schedule::{self, Job, Place, Rules, Window},
    store::{Court, MatchRow, Placement, Store, Tournament},
};

mod feeds;

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(get_schedule, set_schedule))
        .routes(routes!(plan))
        .routes(routes!(place, unplace))
        .merge(feeds::router())
}

const MAX_COURTS: usize = 64;
const MAX_WINDOWS: usize = 90;

/// A day's play, in the tournament's time zone.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalWindow {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`, local time.
    pub from: String,
    /// `HH:MM`, local time, later than `from` on the same day.
    pub to: String,
}

/// How a tournament is scheduled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// How long a match takes, slot to slot: 5 to 600 minutes.
    pub match_minutes: i64,
    /// The least rest of a player between two matches: 0 (default) to 1440 minutes.
    #[serde(default)]
    pub rest_minutes: i64,
    /// The courts, by name (1 to 64, each 1 to 50 characters); the planner fills the first free one.
    pub courts: Vec<String>,
    /// When the venue is open for play (1 to 90 windows).
    pub windows: Vec<LocalWindow>,
}

/// A court.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourtView {
    pub id: Uuid,
    pub name: String,
}

/// A play window.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    pub starts_at: String,
    pub ends_at: String,
}

/// A tournament's schedule settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub time_zone: String,
    pub match_minutes: i64,
    pub rest_minutes: i64,
    pub courts: Vec<CourtView>,
    pub windows: Vec<WindowView>,
}

/// Where to plan from.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFrom {
    /// RFC 3339: no match is planned to start earlier (default: now).
    pub from: Option<String>,
}

/// A match placed by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlace {
    pub court_id: Uuid,
    /// RFC 3339 with an offset.
    pub starts_at: String,
}

async fn schedule_view(state: &State, t: &Tournament) -> Result<ScheduleView, Error> {
    let courts = state.store.courts(None, t.id).await?;
    let windows = state.store.windows(None, t.id).await?;
    Ok(ScheduleView {
        time_zone: t.time_zone.clone(),
        match_minutes: t.match_minutes,
        rest_minutes: t.rest_minutes,
        courts: courts
            .into_iter()
            .map(|c| CourtView {
                id: c.id,
                name: c.name,
            })
            .collect(),
        windows: windows
            .into_iter()
            .map(|w| WindowView {
                starts_at: w.starts_at,
                ends_at: w.ends_at,
            })
            .collect(),
    })
}

/// The tournament's courts, play windows and timing.
#[utoipa::path(get, path = "/tournaments/{id}/schedule", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ScheduleView), (status = 404)))]
async fn get_schedule(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<ScheduleView>, Error> {
    let t = visible(&state, &auth, id).await?;
    Ok(Json(schedule_view(&state, &t).await?))
}

/// Settings checked: the courts' names, and the windows (start, end) as stored instants.
type Venue = (Vec<String>, Vec<(String, String)>);

/// Checks the settings: the windows as instants in the tournament's zone, every problem reported.
fn check_settings(zone: &str, body: &ScheduleSettings) -> Result<Venue, Error> {
    let mut problems = Vec::new();
    let mut bad =
        |field: String, message: String| problems.push(agon_kit::FieldError { field, message });
    if !(5..=600).contains(&body.match_minutes) {
        bad("match_minutes".into(), "must be 5 to 600".into());
    }
    if !(0..=1440).contains(&body.rest_minutes) {
        bad("rest_minutes".into(), "must be 0 to 1440".into());
    }
    if body.courts.is_empty() || body.courts.len() > MAX_COURTS {
        bad("courts".into(), "must name 1 to 64 courts".into());
    }
    let mut courts = Vec::new();
    let mut errors = Vec::new();
    for (i, name) in body.courts.iter().enumerate() {
        let name = agon_kit::text::required(
            &format!("courts[{i}]"),
            name.clone(),
            50,
            Lines::Single,
            &mut errors,
        );
        if courts.contains(&name) {
            bad(format!("courts[{i}]"), "names a court twice".into());
        }
        courts.push(name);
    }
    if body.windows.is_empty() || body.windows.len() > MAX_WINDOWS {
        bad("windows".into(), "must hold 1 to 90 windows".into());
    }
    let mut windows = Vec::new();
    for (i, w) in body.windows.iter().enumerate() {
        let parsed = (w.date.parse(), w.from.parse(), w.to.parse());
        let (Ok(date), Ok(from), Ok(to)) = parsed else {
            bad(
                format!("windows[{i}]"),
                "date is YYYY-MM-DD, from and to HH:MM".into(),
            );
            continue;
        };
        match schedule::local_window(zone, date, (from, to)) {
            Ok(window) => windows.push((
                agon_db::time_text(window.start),
                agon_db::time_text(window.end),
            )),
            Err(e) => bad(format!("windows[{i}]"), e.to_string()),
        }
    }
    problems.extend(errors);
    if !problems.is_empty() {
        return Err(Error::invalid_fields(problems));
    }
    windows.sort();
    Ok((courts, windows))
}

/// Sets the courts, play windows (local dates and times in the tournament's zone; a time the clocks skip is
/// refused) and timing (organisers). A court holding a match cannot go. When the timing or the windows change,
/// the planned matches are planned again from now (409 `no_room` if they no longer fit, and nothing changes);
/// matches placed by hand stay, and must still fit together (409 `schedule_conflict`).
#[utoipa::path(put, path = "/tournaments/{id}/schedule", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ScheduleSettings,
    responses((status = 200, body = ScheduleView), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn set_schedule(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<ScheduleSettings>,
) -> Result<Json<ScheduleView>, Error> {
    let t = organised(&state, &auth, id).await?;
    let (courts, windows) = check_settings(&t.time_zone, &body)?;
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if t.status().closed() {
        return Err(Error::NotScheduling);
    }
    let timing = (body.match_minutes, body.rest_minutes);
    let before = (state.store.windows(Some(&mut tx), id).await?.into_iter())
        .map(|w| (w.starts_at, w.ends_at))
        .collect::<Vec<_>>();
    let moved = timing != (t.match_minutes, t.rest_minutes) || before != windows;
    let now = agon_db::now_text();
    state
        .store
        .set_schedule(&mut tx, id, timing, &courts, &windows, &now)
        .await?;
    // Planned matches follow new timing or windows at once (all or nothing, like planning); hand-placed ones stay.
    let planned = (state.store.matches(Some(&mut tx), id).await?.iter())
        .any(|m| m.starts_at.is_some() && m.winner.is_none() && !m.drawn);
    if moved && planned {
        let t = state.store.lock(&mut tx, id).await?;
        replan(&state, &mut tx, &t, Utc::now()).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let t = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    Ok(Json(schedule_view(&state, &t).await?))
}

/// Everything the planner needs, read under the tournament's lock.
struct Board {
    rows: Vec<MatchRow>,
    jobs: Vec<Job>,
    places: Vec<Option<Place>>,
    courts: Vec<Court>,
    rules: Rules,
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The board at `from`: played matches stand where they were played (ending when their result came, if that
/// was early); matches placed by hand, or under way at `from`, stay where they are; the rest may move.
async fn board(
    state: &State,
    tx: &mut agon_db::Tx,
    t: &Tournament,
    from: DateTime<Utc>,
) -> Result<Board, Error> {
    let rows = state.store.matches(Some(&mut *tx), t.id).await?;
    let courts = state.store.courts(Some(&mut *tx), t.id).await?;
    let bracket = Store::bracket(t, &rows);
    let mut jobs = schedule::jobs(&bracket);
    let rules = Rules {
        length: Duration::minutes(t.match_minutes),
        rest: Duration::minutes(t.rest_minutes),
    };
    let mut places = Vec::with_capacity(rows.len());
    for (job, row) in jobs.iter_mut().zip(&rows) {
        let court = row
            .court_id
            .and_then(|id| courts.iter().position(|c| c.id == id));
        let place = court
            .zip(row.starts_at.as_deref().and_then(instant))
            .map(|(court, start)| Place { court, start });
        let decided = row.winner.is_some() || row.drawn;
        let under_way = place.is_some_and(|p| p.start <= from && from < p.start + rules.length);
        job.fixed = if decided {
            let ended = row.played_at.as_deref().and_then(instant);
            place.map(|p| match ended {
                Some(at) => Place {
                    start: p.start.min(at - rules.length),
                    ..p
                },
                None => p,
            })
        } else {
            place.filter(|_| row.pinned || under_way)
        };
        job.skip |= decided && place.is_none();
        places.push(place);
    }
    Ok(Board {
        rows,
        jobs,
        places,
        courts,
        rules,
    })
}

/// Plans every match not yet played, placed by hand or under way at `from`, in the order results reach them,
/// each at the earliest slot of the play windows from `from` on, on the first free court; tells the players of
/// each match that moved. Matches placed by hand must still fit together (after a change of timing they may not).
async fn replan(
    state: &State,
    tx: &mut agon_db::Tx,
    t: &Tournament,
    from: DateTime<Utc>,
) -> Result<(), Error> {
    let board = board(state, tx, t, from).await?;
    if board.rows.is_empty() {
        return Err(Error::NotScheduling);
    }
    let windows: Vec<Window> = (state.store.windows(Some(&mut *tx), t.id).await?.iter())
        .filter_map(|w| {
            Some(Window {
                start: instant(&w.starts_at)?,
                end: instant(&w.ends_at)?,
            })
        })
        .collect();
    if board.courts.is_empty() || windows.is_empty() {
        return Err(Error::NoVenue);
    }
    let fixed: Vec<Option<Place>> = board.jobs.iter().map(|j| j.fixed).collect();
    for (i, row) in board.rows.iter().enumerate() {
        if let Some(place) = fixed[i].filter(|_| row.pinned && row.winner.is_none() && !row.drawn) {
            schedule::check(
                &board.jobs,
                &fixed,
                board.courts.len(),
                board.rules,
                (i, place),
            )?;
        }
    }
    let planned = schedule::plan(&board.jobs, board.courts.len(), &windows, board.rules, from)?;
    let moved: Vec<(usize, Option<Place>)> = (board.places.iter().zip(&planned).enumerate())
        .filter(|(i, (before, after))| before != after && board.jobs[*i].fixed.is_none())
        .map(|(i, (_, after))| (i, *after))
        .collect();
    let texts: Vec<Option<String>> = moved
        .iter()
        .map(|(_, p)| p.map(|p| agon_db::time_text(p.start)))
        .collect();
    let placements: Vec<Placement> = moved
        .iter()
        .zip(&texts)
        .map(|((position, place), text)| Placement {
            position: *position,
            court: place.map(|p| board.courts[p.court].id),
            starts_at: text.as_deref(),
            pinned: false,
        })
        .collect();
    state.store.place(tx, t.id, &placements).await?;
    let positions: Vec<usize> = moved.iter().map(|(p, _)| *p).collect();
    super::announce::scheduled(state, tx, t, &positions).await
}

/// Plans every match not yet played nor placed by hand (a match under way at `from` stays too): in the order
/// results reach them, each at the earliest slot of the play windows, from `from` on, on the first free court —
/// no player twice at once or without the rest, no match before those deciding its players. All or nothing: 409
/// `no_room` when they do not all fit. Planning again re-plans (after a delay, with another court…); the players
/// of a match that moved are told.
#[utoipa::path(post, path = "/tournaments/{id}/schedule/plan", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = PlanFrom,
    responses((status = 200, body = Vec<MatchView>), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn plan(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    body: Option<Json<PlanFrom>>,
) -> Result<Json<Vec<MatchView>>, Error> {
    organised(&state, &auth, id).await?;
    let from = match body.and_then(|Json(b)| b.from) {
        Some(text) => instant(&text)
            .ok_or_else(|| Error::invalid("from", "must be RFC 3339 with an offset"))?,
        None => Utc::now(),
    };
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if t.status().closed() {
        return Err(Error::NotScheduling);
    }
    replan(&state, &mut tx, &t, from).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Json(match_views(&state, &t).await?))
}

/// Places one match by hand on a court and time, checked like the planner's (court free, players rested, after
/// the matches deciding its players and before those it decides): 409 `schedule_conflict` names what is in the
/// way. It may lie outside the play windows (an evening match on purpose). Planning again leaves it there.
#[utoipa::path(put, path = "/tournaments/{id}/matches/{position}/schedule", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("position" = usize, Path)), request_body = NewPlace,
    responses((status = 200, body = MatchView), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn place(
    auth: AuthUser,
    state: State,
    Path((id, position)): Path<(Uuid, usize)>,
    Json(body): Json<NewPlace>,
) -> Result<Json<MatchView>, Error> {
    organised(&state, &auth, id).await?;
    let start = instant(&body.starts_at)
        .ok_or_else(|| Error::invalid("starts_at", "must be RFC 3339 with an offset"))?;
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if t.status().closed() {
        return Err(Error::NotScheduling);
    }
    let board = board(&state, &mut tx, &t, Utc::now()).await?;
    let row = board
        .rows
        .get(position)
        .ok_or(Error::MatchNotFound(position as i64))?;
    let job = &board.jobs[position];
    if row.winner.is_some() || row.drawn || job.skip {
        return Err(Error::MatchPlayed);
    }
    let court = (board.courts.iter())
        .position(|c| c.id == body.court_id)
        .ok_or_else(|| Error::invalid("court_id", "is not a court of this tournament"))?;
    let here = Place { court, start };
    schedule::check(
        &board.jobs,
        &board.places,
        board.courts.len(),
        board.rules,
        (position, here),
    )?;
    let text = agon_db::time_text(start);
    let placement = Placement {
        position,
        court: Some(body.court_id),
        starts_at: Some(&text),
        pinned: true,
    };
    state.store.place(&mut tx, id, &[placement]).await?;
    super::announce::scheduled(&state, &mut tx, &t, &[position]).await?;
    tx.commit().await?;
    state.outbox.wake();
    let views = match_views(&state, &t).await?;
    views
        .into_iter()
        .nth(position)
        .map(Json)
        .ok_or(Error::MatchNotFound(position as i64))
}

/// Takes a match off the schedule (until it is planned or placed again).
#[utoipa::path(delete, path = "/tournaments/{id}/matches/{position}/schedule", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("position" = usize, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn unplace(
    auth: AuthUser,
    state: State,
    Path((id, position)): Path<(Uuid, usize)>,
) -> Result<StatusCode, Error> {
    organised(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if t.status().closed() {
        return Err(Error::NotScheduling);
    }
    let rows = state.store.matches(Some(&mut tx), t.id).await?;
    let row = rows
        .get(position)
        .ok_or(Error::MatchNotFound(position as i64))?;
    if row.winner.is_some() || row.drawn {
        return Err(Error::MatchPlayed);
    }
    let placement = Placement {
        position,
        court: None,
        starts_at: None,
        pinned: false,
    };
    state.store.place(&mut tx, id, &[placement]).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
