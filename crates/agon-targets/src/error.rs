use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or another member's: the same answer.
    #[error("target {0} not found")]
    NotFound(Uuid),
    #[error("the target's deadline has passed: it can no longer change")]
    Expired,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "target_not_found",
            Error::Expired => "target_expired",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Expired => StatusCode::CONFLICT,
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
