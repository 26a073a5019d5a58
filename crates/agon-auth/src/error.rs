use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("an account with this username already exists")]
    UsernameTaken,
    #[error("the credentials or the refresh token are invalid")]
    InvalidGrant,
    #[error("a second factor is required: send the code with the `mfa` grant and this challenge")]
    MfaRequired(String),
    #[error("this account must set up two-factor authentication: enrol with this challenge first")]
    MfaEnrollmentRequired(String),
    #[error("the code is wrong or already used")]
    InvalidMfaCode,
    #[error("two-factor authentication is already on")]
    MfaAlreadyEnabled,
    #[error("a verification request is already pending")]
    VerificationPending,
    #[error("verification request {0} not found")]
    VerificationNotFound(uuid::Uuid),
    #[error("no SSO provider named {0:?}")]
    UnknownProvider(String),
    #[error("single sign-on failed: {0}")]
    SsoFailed(&'static str),
    #[error("the SSO provider cannot be reached")]
    SsoUnavailable,
    #[error("the token is invalid, spent or expired")]
    InvalidToken,
    #[error("this account is banned")]
    Banned,
    #[error("this account is waiting for an administrator's approval")]
    Pending,
    #[error("too many failed attempts; retry in {0} s")]
    Throttled(i64),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("user {0} not found")]
    UserNotFound(uuid::Uuid),
    #[error("session {0} not found")]
    SessionNotFound(uuid::Uuid),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::EmailTaken => "email_taken",
            Error::UsernameTaken => "username_taken",
            Error::InvalidGrant => "invalid_grant",
            Error::Throttled(_) => "too_many_attempts",
            Error::Banned => "account_banned",
            Error::InvalidToken => "invalid_token_code",
            Error::MfaRequired(_) => "mfa_required",
            Error::MfaEnrollmentRequired(_) => "mfa_enrollment_required",
            Error::UnknownProvider(_) => "unknown_provider",
            Error::VerificationPending => "verification_pending",
            Error::VerificationNotFound(_) => "verification_not_found",
            Error::SsoFailed(_) => "sso_failed",
            Error::SsoUnavailable => "sso_unavailable",
            Error::InvalidMfaCode => "invalid_mfa_code",
            Error::MfaAlreadyEnabled => "mfa_already_enabled",
            Error::Pending => "account_pending",
            Error::WrongPassword => "wrong_password",
            Error::SessionNotFound(_) => "session_not_found",
            Error::UserNotFound(_) => "user_not_found",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::EmailTaken | Error::UsernameTaken => StatusCode::CONFLICT,
            Error::InvalidGrant
            | Error::WrongPassword
            | Error::InvalidToken
            | Error::InvalidMfaCode => StatusCode::BAD_REQUEST,
            Error::MfaRequired(_) => StatusCode::UNAUTHORIZED,
            Error::MfaEnrollmentRequired(_) => StatusCode::FORBIDDEN,
            Error::UnknownProvider(_) | Error::VerificationNotFound(_) => StatusCode::NOT_FOUND,
            Error::VerificationPending => StatusCode::CONFLICT,
            Error::SsoFailed(_) => StatusCode::BAD_REQUEST,
            Error::SsoUnavailable => StatusCode::BAD_GATEWAY,
            Error::MfaAlreadyEnabled => StatusCode::CONFLICT,
            Error::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Banned | Error::Pending => StatusCode::FORBIDDEN,
            Error::SessionNotFound(_) | Error::UserNotFound(_) => StatusCode::NOT_FOUND,
            Error::Api(e) => e.status(),
        }
    }

    fn extensions(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        if let Error::MfaRequired(challenge) | Error::MfaEnrollmentRequired(challenge) = self {
            map.insert(
                "mfa_token".into(),
                serde_json::Value::String(challenge.clone()),
            );
        }
        map
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Throttled(secs) => Some(u64::try_from(*secs).unwrap_or(1)),
            _ => None,
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::Api(e) => e.fields(),
            _ => Vec::new(),
        }
    }
}

agon_kit::service_error!(Error);
