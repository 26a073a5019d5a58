//! HTTP handlers and DTOs of the auth service.

use std::sync::Arc;

use agon_kit::{Json, Role, auth::AccessClaims};
use axum::{extract::State as AxumState, http::StatusCode};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    domain::{self, Email},
    error::Error,
    events,
    store::Redeemed,
};

pub fn router(state: State) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(token))
        .routes(routes!(introspect))
        .routes(routes!(jwks))
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
}

/// The account just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub user_id: Uuid,
    pub email: String,
    pub roles: Vec<Role>,
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

/// Creates an account with the athlete role; its profile follows through the bus.
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
    let display_name = body
        .display_name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if display_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > 100)
    {
        problems.push(agon_kit::FieldError {
            field: "display_name".into(),
            message: "must be at most 100 characters".into(),
        });
    }
    let Some(email) = email.filter(|_| problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    let hash = state.hasher.hash(body.password).await?;
    let user_id = Uuid::now_v7();
    let roles = vec![Role::Athlete];
    let now = Utc::now();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert_account(
            &mut tx,
            user_id,
            email.as_str(),
            &hash,
            &domain::format_roles(&roles),
            &text(now),
        )
        .await?;
    events::user_registered(&mut tx, user_id, &email, display_name, &roles, now).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            user_id,
            email: email.as_str().to_owned(),
            roles,
        }),
    ))
}

/// Issues tokens for the password or refresh-token grant.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, description = "invalid_grant")))]
async fn token(
    AxumState(state): AxumState<State>,
    Json(body): Json<TokenRequest>,
) -> Result<Json<TokenResponse>, Error> {
    let now = Utc::now();
    let mut tx = state.store.db().begin().await?;
    let (user_id, session_id, roles) = match body {
        TokenRequest::Password { email, password } => {
            let credentials = match Email::parse(&email) {
                Ok(email) => state.store.credentials(email.as_str()).await?,
                Err(_) => None,
            };
            let (user_id, hash, roles) = match credentials {
                Some(c) => (Some(c.user_id), Some(c.password_hash), c.roles),
                None => (None, None, String::new()),
            };
            // Verified even without an account, so both answers take as long.
            if !state.hasher.verify(password, hash).await? {
                return Err(Error::InvalidGrant);
            }
            let user_id = user_id.ok_or(Error::InvalidGrant)?;
            let session_id = Uuid::now_v7();
            let expires = now + Duration::seconds(state.config.session_ttl_secs);
            state
                .store
                .create_session(&mut tx, session_id, user_id, &text(now), &text(expires))
                .await?;
            (user_id, session_id, roles)
        }
        TokenRequest::RefreshToken { refresh_token } => {
            match state
                .store
                .redeem_refresh_token(&mut tx, &domain::digest(&refresh_token), &text(now))
                .await?
            {
                Redeemed::Fresh {
                    session_id,
                    user_id,
                    roles,
                } => (user_id, session_id, roles),
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
        roles: domain::parse_roles(&roles),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: now.timestamp() + ttl,
    };
    let access_token = state.keys.active().sign(&claims)?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
    }))
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

fn text(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
