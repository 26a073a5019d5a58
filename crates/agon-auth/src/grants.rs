//! The token endpoint (`POST /auth/token`): each grant proves who the caller is and opens or renews a session
//! in a transaction that [`issue_tokens`] commits with the new refresh token.

use agon_db::{Tx, time_text};
use agon_kit::{Json, auth::AccessClaims};
use axum::http::HeaderMap;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AccountStatus, State,
    domain::{self, Email},
    error::Error,
    http::user_agent,
    mfa,
    store::Redeemed,
};

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
    /// An ID token a configured provider issued to an app that signed the person in itself (a phone's Google
    /// sign-in), exchanged for Agon's tokens (RFC 8693). Its signature, issuer, audience (the provider's
    /// `client_id`) and expiry are verified; the account is found, linked or created as by the SSO callback.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange {
        subject_token: String,
        /// `urn:ietf:params:oauth:token-type:id_token`.
        subject_token_type: String,
        /// The provider's name (`auth.sso`); Agon's own parameter, RFC 8693 leaves it to the server.
        subject_issuer: String,
        /// Only `urn:ietf:params:oauth:token-type:access_token` (the default): Agon's access and refresh tokens.
        requested_token_type: Option<String>,
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
    /// Only for a token exchange (RFC 8693 §2.2.1): what `access_token` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
}

/// Issues tokens for the password, second-factor or refresh-token grant.
#[utoipa::path(post, path = "/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 400, description = "invalid_grant")))]
pub(crate) async fn token(
    state: State,
    client: agon_kit::ClientAddr,
    headers: HeaderMap,
    Json(body): Json<TokenRequest>,
) -> Result<Json<TokenResponse>, Error> {
    let agent = user_agent(&headers);
    let mut exchanged = false;
    let granted = match body {
        TokenRequest::Password { email, password } => {
            password_grant(&state, &client, agent.as_deref(), &email, password).await?
        }
        TokenRequest::Mfa { mfa_token, code } => {
            mfa_grant(&state, agent.as_deref(), &mfa_token, &code).await?
        }
        TokenRequest::RefreshToken { refresh_token } => {
            refresh_grant(&state, &refresh_token).await?
        }
        TokenRequest::TokenExchange {
            subject_token,
            subject_token_type,
            subject_issuer,
            requested_token_type,
        } => {
            if subject_token_type != ID_TOKEN_TYPE {
                return Err(Error::invalid(
                    "subject_token_type",
                    "only urn:ietf:params:oauth:token-type:id_token is exchanged",
                ));
            }
            if requested_token_type.is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
                return Err(Error::invalid(
                    "requested_token_type",
                    "only urn:ietf:params:oauth:token-type:access_token is issued",
                ));
            }
            exchanged = true;
            let user_id = crate::sso::exchange(&state, &subject_issuer, &subject_token).await?;
            provider_grant(&state, user_id, agent.as_deref()).await?
        }
    };
    let mut issued = issue_tokens(
        &state,
        granted.tx,
        granted.user_id,
        granted.session_id,
        &granted.roles,
        agent.as_deref(),
    )
    .await?;
    issued.recovery_codes = granted.recovery_codes;
    issued.issued_token_type = exchanged.then_some(ACCESS_TOKEN_TYPE);
    Ok(Json(issued))
}

/// What a grant proved: the session it opened or renewed, inside the transaction that issues its tokens.
pub(crate) struct Granted {
    pub tx: Tx,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub roles: String,
    /// Only when the grant completed a required two-factor enrolment.
    recovery_codes: Option<Vec<String>>,
}

/// The password grant: throttled, constant-time whether or not the account exists, and handing over to the
/// second factor when the account has (or must enrol) one.
async fn password_grant(
    state: &State,
    client: &agon_kit::ClientAddr,
    agent: Option<&str>,
    email: &str,
    password: String,
) -> Result<Granted, Error> {
    // No account can hold such an address (registration refuses it), so saying so leaks nothing, and the
    // throttle's keys stay printable.
    agon_kit::text::check("email", email, agon_kit::text::Lines::Single)
        .map_err(|e| Error::invalid_fields(vec![e]))?;
    let normalised = Email::parse(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    let credentials = state.store.credentials(&normalised).await?;
    // Counted per account, whichever of its logins (email or username) is tried; per login when there is none.
    let subject = credentials
        .as_ref()
        .map_or(normalised, |c| c.user_id.to_string());
    let throttle = crate::throttle::Attempt::begin(state, &subject, &client.to_string()).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone());
    // Verified even without an account, so both answers take as long.
    let verified = state.hasher.verify(password.clone(), hash.clone()).await?;
    let Some(account) = credentials.filter(|_| verified) else {
        throttle.failed().await?;
        return Err(Error::InvalidGrant);
    };
    throttle.succeeded().await?;
    // Account state is told only to someone who proved the password.
    match account.status {
        AccountStatus::Banned => return Err(Error::Banned),
        AccountStatus::Pending => return Err(Error::Pending),
        AccountStatus::Active => {}
    }
    let user_id = account.user_id;
    if mfa::enabled(state, user_id).await? {
        // The password was right; the session waits for the second factor. The challenge is single-use: a wrong
        // code sends the user back to the (throttled) password step.
        return Err(Error::MfaRequired(
            mfa::challenge(state, user_id, mfa::CHALLENGE).await?,
        ));
    }
    if mfa::required(state, &account.roles) {
        let challenge = mfa::challenge(state, user_id, mfa::ENROLLMENT).await?;
        return Err(Error::MfaEnrollmentRequired(challenge));
    }
    // The configured cost changed since this hash was made: redo it now that the password is known.
    let rehashed = if state.hasher.needs_rehash(&account.password_hash) {
        Some(state.hasher.hash(password).await?)
    } else {
        None
    };
    // The transaction opens only once the (slow) password check is done: it holds the write lock on SQLite.
    let mut tx = state.store.db().begin().await?;
    if let Some(fresh) = rehashed {
        let now = time_text(Utc::now());
        state
            .store
            .set_password_hash(&mut tx, user_id, &fresh, &now)
            .await?;
    }
    let session_id = new_session(state, &mut tx, user_id, "password", agent).await?;
    Ok(Granted {
        tx,
        user_id,
        session_id,
        roles: account.roles,
        recovery_codes: None,
    })
}

/// The token types of an OpenID Connect ID token and of an access token (RFC 8693 §3).
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A login a provider vouched for: account state and a second factor apply exactly as to a password.
pub(crate) async fn provider_grant(
    state: &State,
    user_id: Uuid,
    agent: Option<&str>,
) -> Result<Granted, Error> {
    let (roles, status) =
        (state.store.roles_and_status(user_id).await?).ok_or(Error::InvalidGrant)?;
    match status {
        AccountStatus::Banned => return Err(Error::Banned),
        AccountStatus::Pending => return Err(Error::Pending),
        AccountStatus::Active => {}
    }
    if mfa::enabled(state, user_id).await? {
        return Err(Error::MfaRequired(
            mfa::challenge(state, user_id, mfa::CHALLENGE).await?,
        ));
    }
    if mfa::required(state, &roles) {
        let challenge = mfa::challenge(state, user_id, mfa::ENROLLMENT).await?;
        return Err(Error::MfaEnrollmentRequired(challenge));
    }
    let mut tx = state.store.db().begin().await?;
    let session_id = new_session(state, &mut tx, user_id, "sso", agent).await?;
    Ok(Granted {
        tx,
        user_id,
        session_id,
        roles,
        recovery_codes: None,
    })
}

/// The second step of a two-factor login: the challenge and a code, or the first code of a required enrolment.
async fn mfa_grant(
    state: &State,
    agent: Option<&str>,
    mfa_token: &str,
    code: &str,
) -> Result<Granted, Error> {
    let now = time_text(Utc::now());
    let mut tx = state.store.db().begin().await?;
    let digest = domain::digest(mfa_token);
    let mut recovery_codes = None;
    let challenged = state
        .store
        .redeem_token(&mut tx, &digest, mfa::CHALLENGE, &now)
        .await?;
    let user_id = match challenged {
        Some(user_id) => {
            if !mfa::verify(state, &mut tx, user_id, code).await? {
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
                .redeem_token(&mut tx, &digest, mfa::ENROLLMENT, &now)
                .await?
                .ok_or(Error::InvalidGrant)?;
            match mfa::confirm(state, &mut tx, user_id, code).await {
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
    if status != AccountStatus::Active {
        return Err(Error::InvalidGrant);
    }
    let session_id = new_session(state, &mut tx, user_id, "mfa", agent).await?;
    Ok(Granted {
        tx,
        user_id,
        session_id,
        roles,
        recovery_codes,
    })
}

/// The refresh-token grant: a token renews its session once; a replayed one ends the session.
async fn refresh_grant(state: &State, refresh_token: &str) -> Result<Granted, Error> {
    let now = time_text(Utc::now());
    let mut tx = state.store.db().begin().await?;
    let digest = domain::digest(refresh_token);
    match state
        .store
        .redeem_refresh_token(&mut tx, &digest, &now)
        .await?
    {
        Redeemed::Fresh {
            session_id,
            user_id,
            roles,
        } => Ok(Granted {
            tx,
            user_id,
            session_id,
            roles,
            recovery_codes: None,
        }),
        Redeemed::Reused => {
            // The revocation must stick even though the request fails.
            tx.commit().await?;
            tracing::warn!("refresh token replayed; session revoked");
            Err(Error::InvalidGrant)
        }
        Redeemed::Invalid => Err(Error::InvalidGrant),
    }
}

/// Starts a session for `user_id` inside `tx` and announces the login; returns the session's id.
pub(crate) async fn new_session(
    state: &State,
    tx: &mut Tx,
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
        .create_session(
            tx,
            session_id,
            user_id,
            &time_text(now),
            &time_text(expires),
        )
        .await?;
    Ok(session_id)
}

/// Issues a refresh token (in `tx`, then committed) and an access token for a session.
pub(crate) async fn issue_tokens(
    state: &State,
    mut tx: Tx,
    user_id: Uuid,
    session_id: Uuid,
    roles: &str,
    user_agent: Option<&str>,
) -> Result<TokenResponse, Error> {
    let now = Utc::now();
    state
        .store
        .touch_session(&mut tx, session_id, &time_text(now), user_agent)
        .await?;
    let refresh_token = domain::random_token();
    let session_expires = now + Duration::seconds(state.config.session_ttl_secs);
    state
        .store
        .insert_refresh_token(
            &mut tx,
            &domain::digest(&refresh_token),
            session_id,
            &time_text(now),
            &time_text(session_expires),
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
        issued_token_type: None,
    })
}
