use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or another member's: the same answer.
    #[error("account {0} not found")]
    NotFound(Uuid),
    #[error("the account does not hold enough for this (its balance and credit limit)")]
    InsufficientFunds,
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
    #[error("members do not deposit money themselves here: the club's staff records deposits")]
    DepositsByStaff,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "account_not_found",
            Error::InsufficientFunds => "insufficient_funds",
            Error::KeyReused => "idempotency_key_reused",
            Error::DepositsByStaff => "deposits_by_staff",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::InsufficientFunds => StatusCode::CONFLICT,
            Error::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::DepositsByStaff => StatusCode::FORBIDDEN,
            Error::Api(e) => e.status(),
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
