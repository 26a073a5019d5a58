//! HTTP handlers and DTOs of the auth service.

use std::sync::Arc;

use agon_kit::{AuthUser, Page, PageParams, Path, Query};
use agon_kit::{Json, Role, auth::AccessClaims};
use axum::{
    extract::State as AxumState,
    http::{HeaderMap, StatusCode},
};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Email},
    error::Error,
    store::Redeemed,
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(token))
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
    /// Login email; case-insensitive.
    pub email: String,
    /// 8 to 256 characters; no composition rules.
    pub password: String,
    /// Name shown on the profile; defaults to the email's local part.
    pub display_name: Option<String>,
    /// `athlete` (default, active at once), `trainer` or `coach` (pending until an admin approves).
    /// Nobody registers as an admin.
    pub role: Option<RequestedRole>,
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
    pub email: String,
    pub roles: Vec<Role>,
    /// True until an admin approves the account; it cannot log in before.
    pub pending: bool,
}

/// A token request (OAuth 2.0 style): the password grant logs in, the refresh grant renews.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenRequest {
    Password {
        #[serde(alias = "username")]
        email: String,
        password: String,
    },
    /// The second step of a login with two-factor authentication.
    Mfa {
        /// The challenge from the `mfa_required` answer.
        mfa_token: String,
        /// A current TOTP code, or a recovery code.
        code: String,
    },
    RefreshToken {
        refresh_token: String,
    },
}

/// Tokens issued (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single-use: each refresh returns a new one, and presenting a spent one ends the session.
    pub refresh_token: String,
    /// Only when this login completed a required two-factor enrolment: the recovery codes, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
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
    responses((status = 201, body = Registered), (status = 409, description = "email taken"),
              (status = 422, description = "invalid email or password")))]
async fn register(
    AxumState(state): AxumState<State>,
    Json(body): Json<Register>,
) -> Result<(StatusCode, Json<Registered>), Error> {
    let mut problems = Vec::new();
    let email = Email::parse(&body.email).map_err(|e| problems.push(e)).ok();
    if let Err(e) = domain::check_password(&body.password) {
        problems.push(e);
    }
    let display_name = domain::display_name(body.display_name)
        .map_err(|e| problems.push(e))
        .ok()
        .flatten();
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    let (role, status) = match body.role.unwrap_or(RequestedRole::Athlete) {
        RequestedRole::Athlete => (Role::Athlete, crate::AccountStatus::Active),
        // Trainers and coaches act on other members' data: an admin vouches for them first.
        RequestedRole::Trainer => (Role::Trainer, crate::AccountStatus::Pending),
        RequestedRole::Coach => (Role::Coach, crate::AccountStatus::Pending),
    };
    let hash = state.hasher.hash(body.password).await?;
    let roles = vec![role];
    let user_id = crate::create_account(
        &state,
        &email,
        &hash,
        &roles,
        status,
        display_name,
        "password",
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            user_id,
            email: email.as_str().to_owned(),
            roles,
            pending: status == crate::AccountStatus::Pending,
        }),
    ))
}

/// Issues tokens for the password or refresh-token grant.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, description = "invalid_grant")))]
async fn token(
    AxumState(state): AxumState<State>,
    client: agon_kit::ClientAddr,
    headers: HeaderMap,
    Json(body): Json<TokenRequest>,
) -> Result<Json<TokenResponse>, Error> {
    let now = Utc::now();
    // The transaction opens only once the (slow) password check is done: it holds the write lock on SQLite.
    let mut recovery_codes = None;
    let (tx, user_id, session_id, roles) = match body {
        TokenRequest::Password { email, password } => {
            // No account can hold such an address (registration refuses it), so saying so leaks nothing, and the
            // throttle's keys stay printable.
            agon_kit::text::check("email", &email, agon_kit::text::Lines::Single)
                .map_err(|e| Error::Invalid(vec![e]))?;
            let normalised = Email::parse(&email)
                .map(|e| e.as_str().to_owned())
                .unwrap_or_else(|_| email.trim().to_lowercase());
            let throttle =
                crate::throttle::Attempt::begin(&state, &normalised, &client.to_string()).await?;
            let credentials = state.store.credentials(&normalised).await?;
            let (user_id, hash, roles, status) = match credentials {
                Some(c) => (Some(c.user_id), Some(c.password_hash), c.roles, c.status),
                None => (None, None, String::new(), String::new()),
            };
            // Verified even without an account, so both answers take as long.
            if !state.hasher.verify(password.clone(), hash.clone()).await? || user_id.is_none() {
                throttle.failed().await?;
                return Err(Error::InvalidGrant);
            }
            throttle.succeeded().await?;
            // Account state is told only to someone who proved the password.
            match status.as_str() {
                "banned" => return Err(Error::Banned),
                "pending" => return Err(Error::Pending),
                _ => {}
            }
            let user_id = user_id.ok_or(Error::InvalidGrant)?;
            if crate::mfa::enabled(&state, user_id).await? {
                // The password was right; the session waits for the second factor. The challenge is single-use:
                // a wrong code sends the user back to the (throttled) password step.
                return Err(Error::MfaRequired(
                    crate::mfa::challenge(&state, user_id, crate::mfa::CHALLENGE).await?,
                ));
            }
            if crate::mfa::required(&state, &roles) {
                let challenge =
                    crate::mfa::challenge(&state, user_id, crate::mfa::ENROLLMENT).await?;
                return Err(Error::MfaEnrollmentRequired(challenge));
            }
            let rehashed = match hash.as_deref() {
                // The configured cost changed since this hash was made: redo it now that the password is known.
                Some(h) if state.hasher.needs_rehash(h) => Some(state.hasher.hash(password).await?),
                _ => None,
            };
            let mut tx = state.store.db().begin().await?;
            if let Some(fresh) = rehashed {
                state
                    .store
                    .set_password_hash(&mut tx, user_id, &fresh, &text(now))
                    .await?;
            }
            let agent = user_agent(&headers);
            let session_id =
                new_session(&state, &mut tx, user_id, "password", agent.as_deref()).await?;
            (tx, user_id, session_id, roles)
        }
        TokenRequest::Mfa { mfa_token, code } => {
            let mut tx = state.store.db().begin().await?;
            let digest = domain::digest(&mfa_token);
            let user_id = match state
                .store
                .redeem_token(&mut tx, &digest, crate::mfa::CHALLENGE, &text(now))
                .await?
            {
                Some(user_id) => {
                    if !crate::mfa::verify(&state, &mut tx, user_id, &code).await? {
                        // Spend the challenge even though the code was wrong.
                        tx.commit().await?;
                        return Err(Error::InvalidMfaCode);
                    }
                    user_id
                }
                None => {
                    // An account that had to enrol: the first code confirms its new TOTP.
                    let user_id = state
                        .store
                        .redeem_token(&mut tx, &digest, crate::mfa::ENROLLMENT, &text(now))
                        .await?
                        .ok_or(Error::InvalidGrant)?;
                    match crate::mfa::confirm(&state, &mut tx, user_id, &code).await {
                        Ok(codes) => recovery_codes = Some(codes),
                        Err(error) => {
                            tx.commit().await?;
                            return Err(error);
                        }
                    }
                    user_id
                }
            };
            let (roles, status) = state
                .store
                .roles_and_status(user_id)
                .await?
                .ok_or(Error::InvalidGrant)?;
            if status != "active" {
                return Err(Error::InvalidGrant);
            }
            let agent = user_agent(&headers);
            let session_id = new_session(&state, &mut tx, user_id, "mfa", agent.as_deref()).await?;
            (tx, user_id, session_id, roles)
        }
        TokenRequest::RefreshToken { refresh_token } => {
            let mut tx = state.store.db().begin().await?;
            match state
                .store
                .redeem_refresh_token(&mut tx, &domain::digest(&refresh_token), &text(now))
                .await?
            {
                Redeemed::Fresh {
                    session_id,
                    user_id,
                    roles,
                } => (tx, user_id, session_id, roles),
                Redeemed::Reused => {
                    // The revocation must stick even though the request fails.
                    tx.commit().await?;
                    tracing::warn!("refresh token replayed; session revoked");
                    return Err(Error::InvalidGrant);
                }
                Redeemed::Invalid => return Err(Error::InvalidGrant),
            }
        }
    };
    let mut issued = issue_tokens(
        &state,
        tx,
        user_id,
        session_id,
        &roles,
        user_agent(&headers).as_deref(),
    )
    .await?;
    issued.recovery_codes = recovery_codes;
    Ok(Json(issued))
}

/// Starts a session for `user_id` inside `tx` and announces the login; returns the session's id.
pub(crate) async fn new_session(
    state: &State,
    tx: &mut agon_db::Tx,
    user_id: Uuid,
    method: &str,
    user_agent: Option<&str>,
) -> Result<Uuid, Error> {
    let now = Utc::now();
    let session_id = Uuid::now_v7();
    let new_device = state.store.new_device(tx, user_id, user_agent).await?;
    agon_bus::enqueue(
        tx,
        crate::SERVICE,
        &agon_messages::auth::LoggedIn {
            user_id,
            session_id,
            method: method.to_owned(),
            user_agent: user_agent.map(str::to_owned),
            new_device,
            at: now,
        },
    )
    .await?;
    let expires = now + Duration::seconds(state.config.session_ttl_secs);
    state
        .store
        .create_session(tx, session_id, user_id, &text(now), &text(expires))
        .await?;
    Ok(session_id)
}

/// Issues a refresh token (in `tx`, then committed) and an access token for a session.
pub(crate) async fn issue_tokens(
    state: &State,
    mut tx: agon_db::Tx,
    user_id: Uuid,
    session_id: Uuid,
    roles: &str,
    user_agent: Option<&str>,
) -> Result<TokenResponse, Error> {
    let now = Utc::now();
    state
        .store
        .touch_session(&mut tx, session_id, &text(now), user_agent)
        .await?;
    let refresh_token = domain::random_token();
    let session_expires = now + Duration::seconds(state.config.session_ttl_secs);
    state
        .store
        .insert_refresh_token(
            &mut tx,
            &domain::digest(&refresh_token),
            session_id,
            &text(now),
            &text(session_expires),
        )
        .await?;
    tx.commit().await?;
    let ttl = state.config.access_token_ttl_secs;
    let claims = AccessClaims {
        iss: agon_kit::TOKEN_ISSUER.to_owned(),
        aud: agon_kit::TOKEN_AUDIENCE.to_owned(),
        sub: user_id,
        sid: session_id,
        jti: Uuid::now_v7(),
        roles: domain::parse_roles(roles),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: now.timestamp() + ttl,
    };
    let access_token = state.keys.active()?.sign(&claims)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        recovery_codes: None,
    })
}

/// Tells whether an access token is valid now, including whether its session is still open.
#[utoipa::path(post, path = "/auth/introspect", tag = "auth", request_body = Introspect,
    responses((status = 200, body = Introspection)))]
async fn introspect(
    AxumState(state): AxumState<State>,
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
        .session_active(claims.sid, &text(Utc::now()))
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
async fn jwks(AxumState(state): AxumState<State>) -> Json<Arc<jsonwebtoken::jwk::JwkSet>> {
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
    AxumState(state): AxumState<State>,
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
    AxumState(state): AxumState<State>,
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
        .sessions(user_id, &text(Utc::now()), after.as_deref(), page.fetch())
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
    AxumState(state): AxumState<State>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    match state.store.session_owner(id, &text(Utc::now())).await? {
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
    AxumState(state): AxumState<State>,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, Error> {
    domain::check_password(&body.new_password).map_err(|e| {
        Error::Invalid(vec![agon_kit::FieldError {
            field: "new_password".into(),
            message: e.message,
        }])
    })?;
    let hash = state.store.password_hash(auth.user_id).await?;
    if hash.is_none() || !state.hasher.verify(body.current_password, hash).await? {
        return Err(Error::WrongPassword);
    }
    let fresh = state.hasher.hash(body.new_password).await?;
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .set_password_hash(&mut tx, auth.user_id, &fresh, &text(Utc::now()))
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
    AxumState(state): AxumState<State>,
    Query(params): Query<FeedParams>,
) -> Result<Json<Vec<agon_kit::auth::Revoked>>, Error> {
    Ok(Json(
        state
            .store
            .revocations_after(params.after, Utc::now().timestamp(), 1000)
            .await?,
    ))
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(200).collect())
}

pub(crate) fn text(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
