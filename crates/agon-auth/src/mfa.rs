//! Second factor: TOTP (RFC 6238, 30-second steps, 6 digits, one step of clock skew), with single-use
//! recovery codes. Enrolment is pending until a first valid code confirms it; each code works once (its time
//! step must be newer than the last accepted one). When TOTP is on, the password grant answers `mfa_required`
//! with a single-use challenge, and the `mfa` grant exchanges challenge + code for tokens — so guessing codes
//! costs a throttled password check per guess.

use agon_db::time_text;
use agon_kit::{AuthUser, Json};
use axum::http::StatusCode;
use chrono::Utc;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{State, domain, error::Error};

pub const CHALLENGE: &str = "mfa_challenge";
/// The challenge of an account that must enrol before it may log in.
pub const ENROLLMENT: &str = "mfa_enrollment";
const RECOVERY_CODES: usize = 10;

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(mfa_status))
        .routes(routes!(enroll_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(disable_totp))
        .routes(routes!(enroll_with_challenge))
}

/// The enrolment challenge from a `mfa_enrollment_required` answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub mfa_token: String,
}

/// For accounts that must use TOTP and do not yet: a secret to load into an authenticator app, against the
/// challenge of the password step. The `mfa` grant with the same challenge and a first code then confirms it
/// and logs in.
#[utoipa::path(post, path = "/auth/mfa/enrollment", tag = "auth", request_body = Enrollment,
    responses((status = 200, body = TotpEnrolment), (status = 400, description = "invalid_grant")))]
async fn enroll_with_challenge(
    state: State,
    Json(body): Json<Enrollment>,
) -> Result<Json<TotpEnrolment>, Error> {
    let now = time_text(Utc::now());
    let user_id = state
        .store
        .peek_token(&domain::digest(&body.mfa_token), ENROLLMENT, &now)
        .await?
        .ok_or(Error::InvalidGrant)?;
    start_enrolment(&state, user_id).await.map(Json)
}

/// Mints a single-use challenge for the second step of a login.
pub async fn challenge(state: &State, user_id: Uuid, purpose: &str) -> Result<String, Error> {
    let token = domain::random_token();
    let now = Utc::now();
    let mut tx = state.store.db().begin().await?;
    let expires = time_text(now + chrono::Duration::minutes(10));
    state
        .store
        .insert_token(
            &mut tx,
            &domain::digest(&token),
            user_id,
            purpose,
            &expires,
            &time_text(now),
        )
        .await?;
    tx.commit().await?;
    Ok(token)
}

/// True when the account holds a role that must use a second factor.
pub fn required(state: &State, roles: &str) -> bool {
    let roles = domain::parse_roles(roles);
    state
        .config
        .mfa_required_roles
        .iter()
        .any(|r| roles.contains(r))
}

/// Confirms a pending enrolment with its first code (single use); returns the new recovery codes.
pub async fn confirm(
    state: &State,
    tx: &mut agon_db::Tx,
    user_id: Uuid,
    code: &str,
) -> Result<Vec<String>, Error> {
    let pending = state
        .store
        .totp(user_id)
        .await?
        .filter(|t| !t.confirmed)
        .ok_or(Error::InvalidMfaCode)?;
    let step = totp_step(&pending.secret, code)?.ok_or(Error::InvalidMfaCode)?;
    let now = time_text(Utc::now());
    if !state
        .store
        .use_totp_step(tx, user_id, step, Some(&now))
        .await?
    {
        return Err(Error::InvalidMfaCode);
    }
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| domain::digest(&normalise(c)))
        .collect();
    state
        .store
        .replace_recovery_codes(tx, user_id, &hashes, &now)
        .await?;
    Ok(codes)
}

/// The caller's second factors.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatus {
    pub totp: bool,
    pub recovery_codes_left: i64,
}

/// A TOTP secret to load into an authenticator app.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_url: String,
}

/// A code from the authenticator app (or, where allowed, a recovery code).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub code: String,
}

/// Recovery codes, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Whether TOTP is on, and how many recovery codes remain.
#[utoipa::path(get, path = "/auth/mfa", tag = "auth", security(("bearer" = [])), responses((status = 200, body = MfaStatus)))]
async fn mfa_status(auth: AuthUser, state: State) -> Result<Json<MfaStatus>, Error> {
    let totp = state
        .store
        .totp(auth.user_id)
        .await?
        .is_some_and(|t| t.confirmed);
    let recovery_codes_left = state.store.recovery_codes_left(auth.user_id).await?;
    Ok(Json(MfaStatus {
        totp,
        recovery_codes_left,
    }))
}

/// Starts TOTP enrolment; it takes effect when a first code is confirmed.
#[utoipa::path(post, path = "/auth/mfa/totp", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 409, description = "mfa_already_enabled")))]
async fn enroll_totp(auth: AuthUser, state: State) -> Result<Json<TotpEnrolment>, Error> {
    start_enrolment(&state, auth.user_id).await.map(Json)
}

/// Stores a new pending secret for `user_id` (unless TOTP is already on) and describes it.
async fn start_enrolment(state: &State, user_id: Uuid) -> Result<TotpEnrolment, Error> {
    if state
        .store
        .totp(user_id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Err(Error::MfaAlreadyEnabled);
    }
    let login = state
        .store
        .account_login(user_id)
        .await?
        .ok_or(Error::UserNotFound(user_id))?;
    let secret = Secret::generate();
    let encoded = secret.to_base32();
    let totp = Builder::new()
        .with_secret(secret)
        .with_account_name(login.replace(':', ""))
        .with_issuer(Some("Agon"))
        .build()
        .map_err(|e| anyhow::anyhow!("totp: {e}"))?;
    let otpauth_url = totp
        .to_url()
        .map_err(|e| anyhow::anyhow!("totp url: {e}"))?;
    state
        .store
        .put_pending_totp(user_id, &encoded, &time_text(Utc::now()))
        .await?;
    Ok(TotpEnrolment {
        secret: encoded,
        otpauth_url,
    })
}

/// Confirms enrolment with a first code; answers the recovery codes, shown only this once.
#[utoipa::path(post, path = "/auth/mfa/totp/confirm", tag = "auth", security(("bearer" = [])), request_body = Code,
    responses((status = 200, body = RecoveryCodes), (status = 400, description = "invalid_mfa_code")))]
async fn confirm_totp(
    auth: AuthUser,
    state: State,
    Json(body): Json<Code>,
) -> Result<Json<RecoveryCodes>, Error> {
    if state
        .store
        .totp(auth.user_id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Err(Error::MfaAlreadyEnabled);
    }
    let mut tx = state.store.db().begin().await?;
    let recovery_codes = confirm(&state, &mut tx, auth.user_id, &body.code).await?;
    tx.commit().await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turns TOTP off; needs a current code or a recovery code.
#[utoipa::path(post, path = "/auth/mfa/totp/disable", tag = "auth", security(("bearer" = [])), request_body = Code,
    responses((status = 204), (status = 400, description = "invalid_mfa_code")))]
async fn disable_totp(
    auth: AuthUser,
    state: State,
    Json(body): Json<Code>,
) -> Result<StatusCode, Error> {
    let mut tx = state.store.db().begin().await?;
    if !verify(&state, &mut tx, auth.user_id, &body.code).await? {
        return Err(Error::InvalidMfaCode);
    }
    state.store.delete_totp(&mut tx, auth.user_id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// True when the account has a confirmed second factor.
pub async fn enabled(state: &State, user_id: Uuid) -> Result<bool, Error> {
    Ok(state
        .store
        .totp(user_id)
        .await?
        .is_some_and(|t| t.confirmed))
}

/// Checks a TOTP code (single use) or a recovery code (spent) inside `tx`.
pub async fn verify(
    state: &State,
    tx: &mut agon_db::Tx,
    user_id: Uuid,
    code: &str,
) -> Result<bool, Error> {
    let Some(totp) = state.store.totp(user_id).await?.filter(|t| t.confirmed) else {
        return Ok(false);
    };
    if let Some(step) = totp_step(&totp.secret, code)? {
        return state.store.use_totp_step(tx, user_id, step, None).await;
    }
    state
        .store
        .use_recovery_code(
            tx,
            user_id,
            &domain::digest(&normalise(code)),
            &time_text(Utc::now()),
        )
        .await
}

/// The time step a valid code belongs to.
fn totp_step(secret: &str, code: &str) -> Result<Option<i64>, Error> {
    let secret =
        Secret::try_from_base32(secret).map_err(|e| anyhow::anyhow!("stored secret: {e:?}"))?;
    let totp = Builder::new()
        .with_secret(secret)
        .build()
        .map_err(|e| anyhow::anyhow!("totp: {e}"))?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp
        .check_current(&code)
        .and_then(|step| i64::try_from(step).ok()))
}

/// 80 random bits as `xxxx-xxxx-xxxx-xxxx` (lowercase base32 without look-alikes).
fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &chars[..4],
        &chars[4..8],
        &chars[8..12],
        &chars[12..16]
    )
}

fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}
