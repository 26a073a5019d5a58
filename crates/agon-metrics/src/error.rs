use agon_kit::{ErrorCode, FieldError};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Auth(#[from] agon_kit::auth::AuthError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
    }
}

pub fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_body",
            Error::Auth(e) => e.code(),
            Error::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Auth(e) => e.status(),
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
