//! Members and trainings: favourites and scores.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, text::Lines};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{TrainingView, visible};
use crate::{State, domain, error::Error};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(favourites))
        .routes(routes!(add_favourite, remove_favourite))
        .routes(routes!(my_score, put_score))
}

/// A member's score of a training.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Score {
    /// 0 to 5; kept to two decimals.
    pub score: f64,
    /// At most 1000 characters.
    pub comment: Option<String>,
}

/// The caller's favourite trainings, newest training first.
#[utoipa::path(get, path = "/trainings/favourites", tag = "trainings", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<TrainingView>), (status = 401)))]
async fn favourites(
    auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<TrainingView>>, Error> {
    let rows = state
        .store
        .favourites(
            (auth.user_id, auth.has(agon_kit::Role::Admin)),
            page.after::<Uuid>()?,
            page.fetch(),
        )
        .await?;
    let views: Vec<TrainingView> = rows.into_iter().map(TrainingView::from).collect();
    Ok(Json(page.page(views, |t| t.id)))
}

/// Marks a training as a favourite (idempotent).
#[utoipa::path(put, path = "/trainings/{id}/favourite", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404)))]
async fn add_favourite(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    let training = visible(&state, &auth, id).await?;
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    if state
        .store
        .favourite(&mut tx, auth.user_id, id, &agon_db::time_text(now))
        .await?
    {
        let event = agon_messages::trainings::TrainingFavourited {
            training_id: id,
            author_id: training.author_id,
            user_id: auth.user_id,
            at: now,
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// No longer a favourite (idempotent).
#[utoipa::path(delete, path = "/trainings/{id}/favourite", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204)))]
async fn remove_favourite(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    state.store.unfavourite(auth.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's score of a training.
#[utoipa::path(get, path = "/trainings/{id}/score", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Score), (status = 404)))]
async fn my_score(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<Score>, Error> {
    visible(&state, &auth, id).await?;
    let (score, comment) = state
        .store
        .score(auth.user_id, id)
        .await?
        .ok_or(Error::NoScore(id))?;
    #[allow(clippy::cast_precision_loss)]
    let score = score as f64 / 100.0;
    Ok(Json(Score { score, comment }))
}

/// Scores a training, replacing the caller's previous score; authors do not score their own.
#[utoipa::path(put, path = "/trainings/{id}/score", tag = "trainings", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Score,
    responses((status = 200, body = TrainingView), (status = 404), (status = 409), (status = 422)))]
async fn put_score(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Score>,
) -> Result<Json<TrainingView>, Error> {
    let training = visible(&state, &auth, id).await?;
    if training.author_id == auth.user_id {
        return Err(Error::OwnTraining);
    }
    let mut problems = Vec::new();
    let hundredths = domain::score_hundredths(body.score)
        .map_err(|e| problems.push(e))
        .ok();
    let comment = body.comment.map(|c| {
        agon_kit::text::checked(
            "comment",
            c,
            domain::COMMENT_MAX_CHARS,
            Lines::Multi,
            &mut problems,
        )
    });
    let Some(hundredths) = hundredths.filter(|_| problems.is_empty()) else {
        return Err(Error::invalid_fields(problems));
    };
    let comment = comment.filter(|c| !c.is_empty());
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    let at = agon_db::time_text(now);
    state
        .store
        .put_score(
            &mut tx,
            (auth.user_id, id),
            hundredths,
            comment.as_deref(),
            &at,
        )
        .await?;
    let event = agon_messages::trainings::TrainingScored {
        training_id: id,
        author_id: training.author_id,
        user_id: auth.user_id,
        // As kept: to the hundredth.
        score: hundredths as f64 / 100.0,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    let training = state.store.training(id).await?.ok_or(Error::NotFound(id))?;
    Ok(Json(training.into()))
}
