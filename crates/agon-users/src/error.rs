use agon_kit::{ErrorCode, FieldError};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("user {0} not found")]
    NotFound(Uuid),
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("no such device")]
    DeviceNotFound,
    /// A state change that does not apply (code, explanation).
    #[error("{1}")]
    Conflict(&'static str, &'static str),
    #[error(transparent)]
    Auth(#[from] agon_kit::auth::AuthError),
    #[error(transparent)]
    Cursor(#[from] agon_kit::CursorError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
    }
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "user_not_found",
            Error::Invalid(_) => "invalid_body",
            Error::Conflict(code, _) => code,
            Error::DeviceNotFound => "device_not_found",
            Error::Auth(e) => e.code(),
            Error::Cursor(e) => e.code(),
            Error::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(..) => StatusCode::CONFLICT,
            Error::DeviceNotFound => StatusCode::NOT_FOUND,
            Error::Auth(e) => e.status(),
            Error::Cursor(e) => e.status(),
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::Invalid(f) => f.clone(),
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        agon_kit::error_response(&self)
    }
}
