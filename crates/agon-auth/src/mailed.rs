//! Flows that go through the account owner's mailbox: password reset and email confirmation.
//!
//! The secret (256 random bits) travels only in the email; the database keeps its SHA-256. Each is single-use
//! and short-lived. `forgot` answers the same whether or not the address has an account, so the endpoint
//! tells nobody who is registered.

use agon_db::time_text;
use agon_kit::{Email, Json, Mail};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{State, domain, error::Error};

pub const RESET: &str = "password_reset";
pub const CONFIRM: &str = "email_confirmation";
/// Reset mails one address can trigger per hour; more requests get the same answer and no mail.
const RESETS_PER_HOUR: i64 = 5;

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password))
        .routes(routes!(confirm_email))
}

/// The address to send a reset link to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Forgot {
    pub email: String,
}

/// The answer to a reset request, the same for every address.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
}

/// A new password with the mailed token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    pub token: String,
    pub new_password: String,
}

/// The mailed confirmation token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub token: String,
}

/// Mails a single-use reset link (valid for the configured time, at most 30 minutes) if the address has an
/// active account. The answer is the same either way.
#[utoipa::path(post, path = "/auth/password/forgot", tag = "auth", request_body = Forgot,
    responses((status = 202, body = Accepted)))]
async fn forgot_password(
    state: State,
    Json(body): Json<Forgot>,
) -> Result<(StatusCode, Json<Accepted>), Error> {
    let accepted = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "if the address has an account, a reset link is on its way",
        }),
    );
    let Ok(email) = domain::Email::parse(&body.email) else {
        return Ok(accepted);
    };
    let Some(account) = state.store.credentials(email.as_str()).await? else {
        return Ok(accepted);
    };
    let now = Utc::now();
    if account.status != crate::AccountStatus::Active
        || state
            .store
            .tokens_since(account.user_id, RESET, &time_text(now - Duration::hours(1)))
            .await?
            >= RESETS_PER_HOUR
    {
        return Ok(accepted);
    }
    let token = domain::random_token();
    let ttl = Duration::seconds(state.config.reset_token_ttl_secs);
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert_token(
            &mut tx,
            &domain::digest(&token),
            account.user_id,
            RESET,
            &time_text(now + ttl),
            &time_text(now),
        )
        .await?;
    let link = format!(
        "{}/reset-password?token={token}",
        state.config.public_url.trim_end_matches('/')
    );
    let minutes = ttl.num_minutes();
    Mail::enqueue(&mut tx, &Email {
        to: email.as_str().to_owned(),
        subject: "Reset your password".into(),
        text: format!(
            "Someone asked to reset the password of your account.\n\nTo choose a new one, open\n{link}\n\nor use this code: {token}\n\n\
             It works once, for {minutes} minutes. If it was not you, ignore this message: your password stays as it is.\n"
        ),
    })
    .await?;
    tx.commit().await?;
    state.mail.wake();
    Ok(accepted)
}

/// Sets a new password with a mailed token; every session of the account ends.
#[utoipa::path(post, path = "/auth/password/reset", tag = "auth", request_body = Reset,
    responses((status = 204), (status = 400, description = "invalid_reset_token"), (status = 422)))]
async fn reset_password(state: State, Json(body): Json<Reset>) -> Result<StatusCode, Error> {
    domain::check_password(&body.new_password)
        .map_err(|e| Error::invalid("new_password", &e.message))?;
    let hash = state.hasher.hash(body.new_password).await?;
    let now = Utc::now();
    let mut tx = state.store.db().begin().await?;
    let user_id = state
        .store
        .redeem_token(
            &mut tx,
            &domain::digest(&body.token),
            RESET,
            &time_text(now),
        )
        .await?
        .ok_or(Error::InvalidToken)?;
    state
        .store
        .set_password_hash(&mut tx, user_id, &hash, &time_text(now))
        .await?;
    // Receiving the mail proves the address, too.
    state
        .store
        .confirm_email(&mut tx, user_id, &time_text(now))
        .await?;
    crate::events::password_changed(&mut tx, user_id, "reset").await?;
    tx.commit().await?;
    crate::revoke(&state, user_id, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirms the account's email address with the token mailed at registration.
#[utoipa::path(post, path = "/auth/email/confirm", tag = "auth", request_body = Confirm,
    responses((status = 204), (status = 400, description = "invalid_confirmation_token")))]
async fn confirm_email(state: State, Json(body): Json<Confirm>) -> Result<StatusCode, Error> {
    let now = time_text(Utc::now());
    let mut tx = state.store.db().begin().await?;
    let user_id = state
        .store
        .redeem_token(&mut tx, &domain::digest(&body.token), CONFIRM, &now)
        .await?
        .ok_or(Error::InvalidToken)?;
    state.store.confirm_email(&mut tx, user_id, &now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues the confirmation mail of a new account inside its creation transaction.
pub async fn queue_confirmation(
    state: &State,
    tx: &mut agon_db::Tx,
    user_id: Uuid,
    email: &domain::Email,
) -> Result<(), Error> {
    let token = domain::random_token();
    let now = Utc::now();
    let expires = now + Duration::hours(48);
    state
        .store
        .insert_token(
            tx,
            &domain::digest(&token),
            user_id,
            CONFIRM,
            &time_text(expires),
            &time_text(now),
        )
        .await?;
    let link = format!(
        "{}/confirm-email?token={token}",
        state.config.public_url.trim_end_matches('/')
    );
    Mail::enqueue(tx, &Email {
        to: email.as_str().to_owned(),
        subject: "Confirm your email address".into(),
        text: format!("Welcome! To confirm this address, open\n{link}\n\nor use this code: {token}\n\nIt works for 48 hours.\n"),
    })
    .await?;
    Ok(())
}
