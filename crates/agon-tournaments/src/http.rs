//! HTTP handlers of the tournaments service: tournaments and their lifecycle; entries and play are submodules.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, NewTournament},
    error::Error,
    lifecycle::{Action, Status},
    store::Tournament,
};

mod announce;
mod entries;
mod leaderboard;
mod play;
mod results;
mod schedule;
mod swiss;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete_one))
        .routes(routes!(transition))
        .merge(entries::router())
        .merge(leaderboard::router())
        .merge(play::router())
        .merge(results::router())
        .merge(schedule::router())
        .merge(swiss::router())
        .with_state(state)
}

/// A tournament.
#[derive(Debug, Serialize, ToSchema)]
pub struct TournamentView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// `single_elimination`, `double_elimination`, `round_robin` or `swiss`.
    pub format: String,
    pub third_place: bool,
    /// Round robin: legs and groups.
    pub legs: i64,
    pub groups: i64,
    /// Swiss: rounds.
    pub rounds: i64,
    /// Round robin and Swiss: points for a win, a draw, a loss and a bye.
    #[schema(value_type = crate::standings::Points)]
    pub points: serde_json::Value,
    /// `none`, `single` or `reset` (double elimination).
    pub grand_final: String,
    pub best_of: i64,
    /// `draft`, `registration`, `seeded`, `running`, `paused`, `completed` or `cancelled`.
    pub status: String,
    pub capacity: i64,
    /// Approved entries.
    pub participant_count: i64,
    pub open_entry: bool,
    /// Who reports results: `organisers`, or `players` (both players of a match, agreeing).
    pub reporting: String,
    pub registration_deadline: Option<String>,
    pub starts_at: String,
    pub time_zone: String,
    /// How the last draw was made (`manual`, `rating`, `random`), and a random draw's seed.
    pub seeding: Option<String>,
    pub draw_seed: Option<i64>,
    /// The participant who won, once completed.
    pub champion_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Tournament> for TournamentView {
    fn from(t: Tournament) -> Self {
        Self {
            id: t.id,
            name: t.name,
            description: t.description,
            format: t.format,
            third_place: t.third_place,
            legs: t.legs,
            groups: t.group_count,
            rounds: t.rounds,
            points: t.points,
            grand_final: t.grand_final,
            best_of: t.best_of,
            status: t.status,
            capacity: t.capacity,
            participant_count: t.participant_count,
            open_entry: t.open_entry,
            reporting: t.reporting,
            registration_deadline: t.registration_deadline,
            starts_at: t.starts_at,
            time_zone: t.time_zone,
            seeding: t.seeding,
            draw_seed: t.draw_seed,
            champion_id: t.champion_id,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Filters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only tournaments in this status.
    pub status: Option<Status>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A change of status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// `open_registration`, `start`, `pause`, `resume`, `complete` or `cancel` (a draw is `POST …/draw`).
    pub action: Action,
}

/// Whether `auth` organises the tournament: its creator, or an administrator.
pub(crate) fn organises(auth: &AuthUser, t: &Tournament) -> bool {
    t.created_by == auth.user_id || auth.has(Role::Admin)
}

/// The tournament `id` as `auth` may see it: a draft only by its organisers.
pub(crate) async fn visible(state: &State, auth: &AuthUser, id: Uuid) -> Result<Tournament, Error> {
    let t = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    if t.status() == Status::Draft && !organises(auth, &t) {
        return Err(Error::NotFound(id));
    }
    Ok(t)
}

/// The tournament `id`, for a change by its organisers.
pub(crate) async fn organised(
    state: &State,
    auth: &AuthUser,
    id: Uuid,
) -> Result<Tournament, Error> {
    let t = visible(state, auth, id).await?;
    if !organises(auth, &t) {
        return Err(Error::NotOrganiser);
    }
    Ok(t)
}

/// Creates a tournament in `draft` (trainers and administrators organise).
#[utoipa::path(post, path = "/tournaments", tag = "tournaments", security(("bearer" = [])),
    request_body = NewTournament,
    responses((status = 201, body = TournamentView), (status = 403), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<NewTournament>,
) -> Result<(StatusCode, Json<TournamentView>), Error> {
    if !auth.has(Role::Trainer) {
        auth.require(Role::Admin)?;
    }
    let draft = domain::check(body).map_err(Error::invalid_fields)?;
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert(&mut tx, id, auth.user_id, &draft, &agon_db::time_text(now))
        .await?;
    let event = agon_messages::tournaments::TournamentCreated {
        tournament_id: id,
        name: draft.name.clone(),
        format: domain::format_name(draft.format).to_owned(),
        created_by: auth.user_id,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    let created = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Tournaments, newest first (drafts only for their organisers).
#[utoipa::path(get, path = "/tournaments", tag = "tournaments", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Page<TournamentView>), (status = 401), (status = 422)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<TournamentView>>, Error> {
    let page = PageParams::new(params.limit, params.cursor.clone());
    let status = params.status.map(|s| crate::lifecycle::name(&s));
    let rows = state
        .store
        .tournaments(
            status.as_deref(),
            (auth.user_id, auth.has(Role::Admin)),
            page.after::<Uuid>()?,
            page.fetch(),
        )
        .await?;
    let views: Vec<TournamentView> = rows.into_iter().map(TournamentView::from).collect();
    Ok(Json(page.page(views, |t| t.id)))
}

/// One tournament.
#[utoipa::path(get, path = "/tournaments/{id}", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TournamentView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<TournamentView>, Error> {
    Ok(Json(visible(&state, &auth, id).await?.into()))
}

/// Deletes a tournament with its entries and matches (its organisers). One being played (running or paused) is
/// cancelled first: 409 `tournament_in_play`.
#[utoipa::path(delete, path = "/tournaments/{id}", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    organised(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    if state.store.lock(&mut tx, id).await?.status().in_play() {
        return Err(Error::InPlay);
    }
    state.store.delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a tournament along its life (its organisers): open registration, start (after a draw), pause, resume,
/// complete, cancel. A status that does not allow the action answers 409 `wrong_status`. Completing names the
/// champion as a result completing it would (a Swiss tournament may end before its last round); while a match
/// is still to be played it answers 409 `matches_left` — cancel instead.
#[utoipa::path(post, path = "/tournaments/{id}/transitions", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Transition,
    responses((status = 200, body = TournamentView), (status = 403), (status = 404), (status = 409)))]
async fn transition(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Transition>,
) -> Result<Json<TournamentView>, Error> {
    organised(&state, &auth, id).await?;
    if body.action == Action::Draw {
        return Err(Error::invalid(
            "action",
            "a draw is POST /tournaments/{id}/draw",
        ));
    }
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    let next = t.status().then(body.action)?;
    state
        .store
        .set_status(&mut tx, id, next, &agon_db::now_text())
        .await?;
    match (t.status(), next) {
        (_, Status::Completed) => {
            let play = results::Play::load(&state, &mut tx, t).await?;
            if !play.bracket.finished() {
                return Err(Error::MatchesLeft);
            }
            results::conclude(&state, &mut tx, &play, chrono::Utc::now()).await?;
        }
        // Play begins: every match with both players known is theirs to play.
        (Status::Seeded, Status::Running) => {
            announce::ready(&state, &mut tx, &t, &Default::default()).await?
        }
        (_, Status::Registration) => {
            let opened = agon_messages::tournaments::RegistrationOpened {
                tournament_id: id,
                name: t.name.clone(),
                capacity: t.capacity,
                at: chrono::Utc::now(),
            };
            agon_bus::enqueue(&mut tx, crate::SERVICE, &opened).await?;
        }
        _ => {}
    }
    tx.commit().await?;
    state.outbox.wake();
    let t = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    Ok(Json(t.into()))
}
