//! HTTP handlers of the trainings service: authoring, listing and reading, blocks, favourites and scores.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Draft, Edit, Goal},
    error::Error,
    store::{Filter, Training},
};

mod assessments;
mod certificates;
mod courses;
mod learning;
mod social;

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(count))
        .routes(routes!(get_one, edit, delete_one))
        .routes(routes!(block))
        .routes(routes!(unblock))
        .merge(social::router())
        .merge(courses::router())
        .merge(learning::router())
        .merge(assessments::router())
        .merge(certificates::router())
        .with_state(state)
}

/// A training as members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingView {
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub description: String,
    /// One of `walking`, `running`, `cycling`, `swimming`, `strength`, `mobility`, `yoga`, `pilates`, `hiit`,
    /// `rowing`, `climbing`, `team_sport`, `racket_sport`, `other`.
    pub kind: String,
    /// 0 (easiest) to 10.
    pub difficulty: i64,
    pub media: Vec<String>,
    pub goals: Vec<Goal>,
    /// Hidden from everyone but administrators and its author.
    pub blocked: bool,
    /// The average score, 0 to 5 with two decimals (0 when unscored).
    pub score: f64,
    pub score_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Training> for TrainingView {
    fn from(t: Training) -> Self {
        let draft = t.draft();
        Self {
            id: t.id,
            author_id: t.author_id,
            score: domain::average(t.score_total, t.score_count),
            score_count: t.score_count,
            title: draft.title,
            description: draft.description,
            kind: draft.kind,
            difficulty: draft.difficulty,
            media: draft.media,
            goals: draft.goals,
            blocked: t.blocked,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A new training.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTraining {
    /// 1 to 100 characters, unique among the author's trainings (without case).
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub kind: String,
    pub difficulty: i64,
    /// At most 8 http(s) URLs.
    #[serde(default)]
    pub media: Vec<String>,
    /// At most 64, with distinct names.
    #[serde(default)]
    pub goals: Vec<Goal>,
}

/// Fields to change; the others stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub media: Option<Vec<String>>,
    pub goals: Option<Vec<Goal>>,
}

/// Filters of the listing and the count.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub kind: Option<String>,
    /// Inclusive, 0 to 10.
    pub min_difficulty: Option<i64>,
    /// Inclusive, 0 to 10.
    pub max_difficulty: Option<i64>,
    /// An author's id, or `me`.
    pub author: Option<String>,
    /// Text in the title or the description, without case.
    pub q: Option<String>,
    /// `false` (default), `true` or `all`. Others than administrators see blocked trainings of their own only.
    pub blocked: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// How many trainings match.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    pub count: i64,
}

/// Creates a training (trainers and administrators).
#[utoipa::path(post, path = "/trainings", tag = "trainings", security(("bearer" = [])), request_body = NewTraining,
    responses((status = 201, body = TrainingView), (status = 403), (status = 409), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<NewTraining>,
) -> Result<(StatusCode, Json<TrainingView>), Error> {
    if !auth.has(Role::Trainer) {
        auth.require(Role::Admin)?;
    }
    let draft = domain::check(Draft {
        title: body.title,
        description: body.description,
        kind: body.kind,
        difficulty: body.difficulty,
        media: body.media,
        goals: body.goals,
    })
    .map_err(Error::invalid_fields)?;
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    let at = agon_db::time_text(now);
    state
        .store
        .insert(&mut tx, id, auth.user_id, &draft, &at)
        .await?;
    let event = agon_messages::trainings::TrainingCreated {
        training_id: id,
        author_id: auth.user_id,
        title: draft.title.clone(),
        kind: draft.kind.clone(),
        difficulty: draft.difficulty,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    let created = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Trainings matching the filters, newest first.
#[utoipa::path(get, path = "/trainings", tag = "trainings", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Page<TrainingView>), (status = 401), (status = 422)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<TrainingView>>, Error> {
    let page = PageParams::new(params.limit, params.cursor.clone());
    let filter = filter(&auth, &params)?;
    let rows = state
        .store
        .search(&filter, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views: Vec<TrainingView> = rows.into_iter().map(TrainingView::from).collect();
    Ok(Json(page.page(views, |t| t.id)))
}

/// How many trainings match the filters.
#[utoipa::path(get, path = "/trainings/count", tag = "trainings", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = Count), (status = 401), (status = 422)))]
async fn count(
    auth: AuthUser,
    state: State,
    Query(params): Query<ListParams>,
) -> Result<Json<Count>, Error> {
    let filter = filter(&auth, &params)?;
    Ok(Json(Count {
        count: state.store.count(&filter).await?,
    }))
}

/// The listing's filters, checked; who asks decides whether blocked trainings show.
fn filter(auth: &AuthUser, params: &ListParams) -> Result<Filter, Error> {
    let difficulty = |field: &str, value: Option<i64>, default: i64| match value {
        Some(v) if !(0..=domain::MAX_DIFFICULTY).contains(&v) => {
            Err(Error::invalid(field, "must be from 0 to 10"))
        }
        v => Ok(v.unwrap_or(default)),
    };
    let author = match params.author.as_deref() {
        None => None,
        Some("me") => Some(auth.user_id),
        Some(id) => Some(
            id.parse()
                .map_err(|_| Error::invalid("author", "must be a user id or me"))?,
        ),
    };
    let kind = params.kind.as_deref().map(|k| k.trim().to_lowercase());
    if kind.as_deref().is_some_and(|k| !domain::KINDS.contains(&k)) {
        return Err(Error::invalid("kind", "is not a kind of training"));
    }
    let blocked = match params.blocked.as_deref().unwrap_or("false") {
        "false" => Some(false),
        "true" => Some(true),
        "all" => None,
        _ => return Err(Error::invalid("blocked", "must be false, true or all")),
    };
    // Blocked trainings show to administrators, and to their author; nobody else.
    let blocked_of = (!auth.has(Role::Admin)).then_some(auth.user_id);
    let text = search_text(params.q.as_deref())?;
    Ok(Filter {
        kind,
        min_difficulty: difficulty("min_difficulty", params.min_difficulty, 0)?,
        max_difficulty: difficulty(
            "max_difficulty",
            params.max_difficulty,
            domain::MAX_DIFFICULTY,
        )?,
        author,
        text,
        blocked,
        blocked_of,
    })
}

/// A text search (`q`): trimmed and lowercased, at most 100 characters on one line; none when blank.
fn search_text(q: Option<&str>) -> Result<Option<String>, Error> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().count() > 100 {
        return Err(Error::invalid("q", "must be at most 100 characters"));
    }
    agon_kit::text::check("q", q, agon_kit::text::Lines::Single)
        .map_err(|e| Error::invalid_fields(vec![e]))?;
    Ok(Some(q.to_lowercase()))
}

/// The training `id` as `auth` may see it: a blocked one only by its author and administrators.
pub(crate) async fn visible(state: &State, auth: &AuthUser, id: Uuid) -> Result<Training, Error> {
    let training = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    if training.blocked && training.author_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotFound(id));
    }
    Ok(training)
}

/// One training.
#[utoipa::path(get, path = "/trainings/{id}", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TrainingView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<TrainingView>, Error> {
    Ok(Json(visible(&state, &auth, id).await?.into()))
}

/// Changes a training (its author).
#[utoipa::path(patch, path = "/trainings/{id}", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = TrainingEdit,
    responses((status = 200, body = TrainingView), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn edit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<TrainingEdit>,
) -> Result<Json<TrainingView>, Error> {
    let training = visible(&state, &auth, id).await?;
    if training.author_id != auth.user_id {
        return Err(Error::NotAuthor);
    }
    let draft = training
        .draft()
        .edited(Edit {
            title: body.title,
            description: body.description,
            kind: body.kind,
            difficulty: body.difficulty,
            media: body.media,
            goals: body.goals,
        })
        .map_err(Error::invalid_fields)?;
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .update(&mut tx, id, &draft, &agon_db::time_text(now))
        .await?;
    let event = agon_messages::trainings::TrainingUpdated {
        training_id: id,
        author_id: auth.user_id,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    let updated = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    Ok(Json(updated.into()))
}

/// Deletes a training (its author, or an administrator), with its favourites and scores.
#[utoipa::path(delete, path = "/trainings/{id}", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    let training = visible(&state, &auth, id).await?;
    if training.author_id != auth.user_id && !auth.has(Role::Admin) {
        return Err(Error::NotAuthor);
    }
    let mut tx = state.store.db().begin().await?;
    if state.store.delete(&mut tx, id).await? {
        let event = agon_messages::trainings::TrainingDeleted {
            training_id: id,
            author_id: training.author_id,
            by: auth.user_id,
            at: chrono::Utc::now(),
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Blocks a training: hidden from everyone but administrators and its author (administrators).
#[utoipa::path(post, path = "/trainings/{id}/block", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TrainingView), (status = 403), (status = 404)))]
async fn block(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<TrainingView>, Error> {
    set_blocked(auth, state, id, true).await
}

/// Lifts a block (administrators).
#[utoipa::path(post, path = "/trainings/{id}/unblock", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = TrainingView), (status = 403), (status = 404)))]
async fn unblock(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<TrainingView>, Error> {
    set_blocked(auth, state, id, false).await
}

async fn set_blocked(
    auth: AuthUser,
    state: State,
    id: Uuid,
    blocked: bool,
) -> Result<Json<TrainingView>, Error> {
    auth.require(Role::Admin)?;
    let training = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    if state
        .store
        .set_blocked(&mut tx, id, blocked, &agon_db::time_text(now))
        .await?
    {
        let event = agon_messages::trainings::TrainingBlocked {
            training_id: id,
            author_id: training.author_id,
            blocked,
            by: auth.user_id,
            at: now,
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let training = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    Ok(Json(training.into()))
}
