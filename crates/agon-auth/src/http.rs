//! HTTP handlers and DTOs of the auth service.

use std::sync::Arc;

use agon_db::time_text;
use agon_kit::{AuthUser, Page, PageParams, Path, Query};
use agon_kit::{Json, Role};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{AccountStatus, State, domain, error::Error};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(crate::grants::token))
        .routes(routes!(introspect))
        .routes(routes!(jwks))
        .routes(routes!(logout))
        .routes(routes!(list_sessions))
        .routes(routes!(delete_session))
        .routes(routes!(change_password))
        .routes(routes!(revocations))
        .merge(crate::mailed::router())
        .merge(crate::admin::router())
        .merge(crate::mfa::router())
        .merge(crate::sso::router())
        .merge(crate::verification::router())
        .with_state(state)
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// Login email; case-insensitive. Optional when a username is given (but then no mail can reach the
    /// account: no confirmation, no password reset).
    pub email: Option<String>,
    /// Login name, instead of or beside the email: 1 to 64 letters, digits, `.`, `_` or `-`; case-insensitive.
    pub username: Option<String>,
    /// 8 to 256 characters; no composition rules.
    pub password: String,
    /// Name shown on the profile; defaults to the username, else the email's local part.
    pub display_name: Option<String>,
    /// `athlete` (default, active at once), `trainer` or `coach` (pending until an admin approves).
    /// Nobody registers as an admin.
    pub role: Option<RequestedRole>,
    /// Profile fields to start with, by the profile's own limits (bio ≤ 2000 characters, city and country ≤ 100,
    /// latitude and longitude together).
    pub profile: Option<InitialProfileBody>,
}

/// The profile fields a sign-up may carry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitialProfileBody {
    pub bio: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl From<InitialProfileBody> for agon_messages::auth::InitialProfile {
    fn from(b: InitialProfileBody) -> Self {
        Self {
            bio: b.bio,
            city: b.city,
            country: b.country,
            latitude: b.latitude,
            longitude: b.longitude,
        }
    }
}

/// The roles open to self-registration.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestedRole {
    Athlete,
    Trainer,
    Coach,
}

/// The account just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub user_id: Uuid,
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub roles: Vec<Role>,
    /// True until an admin approves the account; it cannot log in before.
    pub pending: bool,
}

/// A token to inspect (RFC 7662).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Introspect {
    pub token: String,
}

/// What the token is worth now (RFC 7662 §2.2); an inactive token reveals nothing else.
#[derive(Debug, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

/// Creates an account (athlete by default; trainer and coach wait for approval); its profile follows through
/// the bus.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = Register,
    responses((status = 201, body = Registered), (status = 409, description = "email or username taken"),
              (status = 422, description = "invalid email, username or password")))]
async fn register(
    state: State,
    Json(body): Json<Register>,
) -> Result<(StatusCode, Json<Registered>), Error> {
    let mut problems = Vec::new();
    let login = domain::Login {
        email: body.email.as_deref(),
        username: body.username.as_deref(),
    };
    let signup = domain::signup(
        login,
        &body.password,
        body.display_name,
        body.profile.map(Into::into),
        &mut problems,
    );
    let Some(signup) = signup.filter(|_| problems.is_empty()) else {
        return Err(Error::invalid_fields(problems));
    };
    let (role, status) = match body.role.unwrap_or(RequestedRole::Athlete) {
        RequestedRole::Athlete => (Role::Athlete, AccountStatus::Active),
        // Trainers and coaches act on other members' data: an admin vouches for them first.
        RequestedRole::Trainer => (Role::Trainer, AccountStatus::Pending),
        RequestedRole::Coach => (Role::Coach, AccountStatus::Pending),
    };
    let registered = open_account(
        &state,
        signup,
        body.password,
        vec![role],
        status,
        "password",
    );
    Ok((StatusCode::CREATED, Json(registered.await?)))
}

/// Hashes the password and creates the account: the one path of sign-up and of accounts staff create.
pub(crate) async fn open_account(
    state: &State,
    signup: domain::Signup,
    password: String,
    roles: Vec<Role>,
    status: AccountStatus,
    method: &str,
) -> Result<Registered, Error> {
    let hash = state.hasher.hash(password).await?;
    let email = signup.email.as_ref().map(|e| e.as_str().to_owned());
    let username = signup.username.as_ref().map(|n| n.as_str().to_owned());
    let user_id = crate::create_account(state, signup, &hash, &roles, status, method).await?;
    Ok(Registered {
        user_id,
        email,
        username,
        roles,
        pending: status == AccountStatus::Pending,
    })
}

/// Tells whether an access token is valid now, including whether its session is still open.
#[utoipa::path(post, path = "/auth/introspect", tag = "auth", request_body = Introspect,
    responses((status = 200, body = Introspection)))]
async fn introspect(
    state: State,
    Json(body): Json<Introspect>,
) -> Result<Json<Introspection>, Error> {
    let inactive = Introspection {
        active: false,
        sub: None,
        sid: None,
        roles: None,
        exp: None,
        iat: None,
        token_type: None,
    };
    let Ok(claims) = state.verifier.verify(&body.token).await else {
        return Ok(Json(inactive));
    };
    if !state
        .store
        .session_active(claims.sid, &time_text(Utc::now()))
        .await?
    {
        return Ok(Json(inactive));
    }
    Ok(Json(Introspection {
        active: true,
        sub: Some(claims.sub),
        sid: Some(claims.sid),
        roles: Some(claims.roles.clone()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        token_type: Some("Bearer"),
    }))
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses((status = 200, description = "JSON Web Key Set (RFC 7517)")))]
async fn jwks(state: State) -> Json<Arc<jsonwebtoken::jwk::JwkSet>> {
    Json(state.keys.jwks())
}

/// Where to end the session(s) of the caller.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogoutParams {
    /// End every session of the account, not only this one.
    #[serde(default)]
    pub all: bool,
}

/// An open session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: String,
    pub user_agent: Option<String>,
    /// The session of the token making this request.
    pub current: bool,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Position in the revocation feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// Last sequence number already applied; 0 for everything still relevant.
    #[serde(default)]
    pub after: i64,
}

/// Ends this session, or every session of the account with `?all=true`; their access tokens stop working
/// everywhere within a second and their refresh tokens at once.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])), params(LogoutParams),
    responses((status = 204), (status = 401)))]
async fn logout(
    auth: AuthUser,
    state: State,
    Query(params): Query<LogoutParams>,
) -> Result<StatusCode, Error> {
    let only = if params.all {
        None
    } else {
        Some(auth.session_id)
    };
    crate::revoke(&state, auth.user_id, only, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's open sessions, newest first.
#[utoipa::path(get, path = "/auth/sessions", tag = "auth", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<SessionView>), (status = 401)))]
async fn list_sessions(
    auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<SessionView>>, Error> {
    sessions_page(&state, auth.user_id, Some(auth.session_id), &page)
        .await
        .map(Json)
}

/// A page of a user's open sessions; `current` marks the caller's own.
pub(crate) async fn sessions_page(
    state: &State,
    user_id: Uuid,
    current: Option<Uuid>,
    page: &PageParams,
) -> Result<Page<SessionView>, Error> {
    let after = page.after::<Uuid>()?.map(|id| id.to_string());
    let rows = state
        .store
        .sessions(
            user_id,
            &time_text(Utc::now()),
            after.as_deref(),
            page.fetch(),
        )
        .await?;
    let views = rows
        .into_iter()
        .map(|r| SessionView {
            current: Some(r.id) == current,
            id: r.id,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            user_agent: r.user_agent,
        })
        .collect();
    Ok(page.page(views, |s: &SessionView| s.id))
}

/// Ends one of the caller's sessions (another device, say). Another account's session answers 404, like one
/// that does not exist.
#[utoipa::path(delete, path = "/auth/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 404)))]
async fn delete_session(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    match state
        .store
        .session_owner(id, &time_text(Utc::now()))
        .await?
    {
        Some(owner) if owner == auth.user_id => {
            crate::revoke(&state, owner, Some(id), None).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(Error::SessionNotFound(id)),
    }
}

/// Changes the caller's password after checking the current one; every other session ends.
#[utoipa::path(post, path = "/auth/password", tag = "auth", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204), (status = 400, description = "wrong_password"), (status = 422)))]
async fn change_password(
    auth: AuthUser,
    state: State,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, Error> {
    domain::check_password(&body.new_password)
        .map_err(|e| Error::invalid("new_password", &e.message))?;
    let hash = state.store.password_hash(auth.user_id).await?;
    if hash.is_none() || !state.hasher.verify(body.current_password, hash).await? {
        return Err(Error::WrongPassword);
    }
    let fresh = state.hasher.hash(body.new_password).await?;
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .set_password_hash(&mut tx, auth.user_id, &fresh, &time_text(Utc::now()))
        .await?;
    crate::events::password_changed(&mut tx, auth.user_id, "change").await?;
    tx.commit().await?;
    crate::revoke(&state, auth.user_id, None, Some(auth.session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The feed of revoked sessions, for gateways and services in other processes (they poll it).
#[utoipa::path(get, path = "/auth/revocations", tag = "auth", params(FeedParams),
    responses((status = 200, body = Vec<agon_kit::auth::Revoked>)))]
async fn revocations(
    state: State,
    Query(params): Query<FeedParams>,
) -> Result<Json<Vec<agon_kit::auth::Revoked>>, Error> {
    Ok(Json(
        state
            .store
            .revocations_after(params.after, Utc::now().timestamp(), 1000)
            .await?,
    ))
}

pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}
