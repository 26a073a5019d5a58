use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    #[error("user {0} not found")]
    NotFound(Uuid),
    #[error("no such device")]
    DeviceNotFound,
    /// A state change that does not apply (code, explanation).
    #[error("{1}")]
    Conflict(&'static str, &'static str),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "user_not_found",
            Error::Conflict(code, _) => code,
            Error::DeviceNotFound => "device_not_found",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) | Error::DeviceNotFound => StatusCode::NOT_FOUND,
            Error::Conflict(..) => StatusCode::CONFLICT,
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
