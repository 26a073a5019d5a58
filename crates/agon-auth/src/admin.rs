//! Administrators' operations on credentials and sessions. (Approval, bans and roles belong to the users
//! service; auth follows its events.)

use agon_db::time_text;
use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    AccountStatus, State, domain,
    error::Error,
    http::{Registered, SessionView, open_account},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(set_password))
        .routes(routes!(user_sessions))
        .routes(routes!(end_session))
        .routes(routes!(rotate_keys))
}

/// A signing key just added.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct RotatedKey {
    pub kid: String,
    /// When it starts signing; until then it is only published.
    pub signs_from: String,
}

/// Rotates the signing key: the new key is published now and signs after the publish delay; the old one keeps
/// verifying until its tokens have expired.
#[utoipa::path(post, path = "/auth/admin/keys/rotate", tag = "auth-admin", security(("bearer" = [])),
    responses((status = 200, body = RotatedKey), (status = 403)))]
async fn rotate_keys(auth: AuthUser, state: State) -> Result<Json<RotatedKey>, Error> {
    auth.require(Role::Admin)?;
    let delay = chrono::Duration::seconds(state.config.key_publish_delay_secs);
    let kid = state.keys.rotate(delay).await?;
    tracing::info!(%kid, "signing key rotated");
    Ok(Json(RotatedKey {
        kid,
        signs_from: time_text(Utc::now() + delay),
    }))
}

/// An account created by an administrator: active at once, with any roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Optional when a username is given.
    pub email: Option<String>,
    pub username: Option<String>,
    pub password: String,
    pub roles: Vec<Role>,
    pub display_name: Option<String>,
}

/// A password an administrator sets.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
}

/// Creates an account with the given roles (admins included), active at once.
#[utoipa::path(post, path = "/auth/admin/users", tag = "auth-admin", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = Registered), (status = 403), (status = 409), (status = 422)))]
async fn create_user(
    auth: AuthUser,
    state: State,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, Json<Registered>), Error> {
    auth.require(Role::Admin)?;
    let mut problems = Vec::new();
    let login = domain::Login {
        email: body.email.as_deref(),
        username: body.username.as_deref(),
    };
    let signup = domain::signup(
        login,
        &body.password,
        body.display_name,
        None,
        &mut problems,
    );
    if body.roles.is_empty() {
        problems.push(agon_kit::FieldError {
            field: "roles".into(),
            message: "must name at least one role".into(),
        });
    }
    let Some(signup) = signup.filter(|_| problems.is_empty()) else {
        return Err(Error::invalid_fields(problems));
    };
    let active = AccountStatus::Active;
    let registered = open_account(&state, signup, body.password, body.roles, active, "admin");
    Ok((StatusCode::CREATED, Json(registered.await?)))
}

/// Sets an account's password; all its sessions end.
#[utoipa::path(put, path = "/auth/admin/users/{id}/password", tag = "auth-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SetPassword, responses((status = 204), (status = 404), (status = 422)))]
async fn set_password(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<SetPassword>,
) -> Result<StatusCode, Error> {
    auth.require(Role::Admin)?;
    domain::check_password(&body.password).map_err(|e| Error::invalid_fields(vec![e]))?;
    let hash = state.hasher.hash(body.password).await?;
    let mut tx = state.store.db().begin().await?;
    if !state
        .store
        .set_password_hash(&mut tx, id, &hash, &time_text(Utc::now()))
        .await?
    {
        return Err(Error::UserNotFound(id));
    }
    crate::events::password_changed(&mut tx, id, "admin").await?;
    tx.commit().await?;
    crate::revoke(&state, id, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account's open sessions.
#[utoipa::path(get, path = "/auth/admin/users/{id}/sessions", tag = "auth-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams), responses((status = 200, body = Page<SessionView>), (status = 403)))]
async fn user_sessions(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<SessionView>>, Error> {
    auth.require(Role::Admin)?;
    crate::http::sessions_page(&state, id, None, &page)
        .await
        .map(Json)
}

/// Ends any session.
#[utoipa::path(delete, path = "/auth/admin/sessions/{id}", tag = "auth-admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404)))]
async fn end_session(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    auth.require(Role::Admin)?;
    let owner = state
        .store
        .session_owner(id, &time_text(Utc::now()))
        .await?
        .ok_or(Error::SessionNotFound(id))?;
    crate::revoke(&state, owner, Some(id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}
