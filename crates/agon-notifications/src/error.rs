use agon_kit::{ErrorCode, FieldError};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("notification not found")]
    NotFound,
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error("{} recipient(s) are not members", .0.len())]
    UnknownRecipients(Vec<uuid::Uuid>),
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

pub fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "notification_not_found",
            Error::Invalid(_) => "invalid_body",
            Error::UnknownRecipients(_) => "unknown_recipients",
            Error::Auth(e) => e.code(),
            Error::Cursor(e) => e.code(),
            Error::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Invalid(_) | Error::UnknownRecipients(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Auth(e) => e.status(),
            Error::Cursor(e) => e.status(),
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::Invalid(f) => f.clone(),
            Error::UnknownRecipients(ids) => ids
                .iter()
                .map(|id| FieldError {
                    field: "user_ids".into(),
                    message: format!("{id} is not a member"),
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        agon_kit::error_response(&self)
    }
}
