use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    #[error("notification not found")]
    NotFound,
    #[error("{} recipient(s) are not members", .0.len())]
    UnknownRecipients(Vec<uuid::Uuid>),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "notification_not_found",
            Error::UnknownRecipients(_) => "unknown_recipients",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::UnknownRecipients(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Api(e) => e.status(),
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            Error::UnknownRecipients(ids) => ids
                .iter()
                .map(|id| FieldError {
                    field: "user_ids".into(),
                    message: format!("{id} is not a member"),
                })
                .collect(),
            Error::Api(e) => e.fields(),
            Error::NotFound => Vec::new(),
        }
    }
}

agon_kit::service_error!(Error);
