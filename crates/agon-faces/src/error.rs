use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

use crate::model::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// The photo cannot be described: not an image, no face, several faces.
    #[error("{0}")]
    Refused(Refusal),
    /// Unknown, or another member's: the same answer.
    #[error("{0} not found")]
    NotFound(String),
    #[error("member {0} has no reference face")]
    NoReference(Uuid),
    #[error("the photo is larger than {0} bytes")]
    TooLarge(usize),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::Refused(r) => r.code(),
            Error::NotFound(_) => "not_found",
            Error::NoReference(_) => "no_reference",
            Error::TooLarge(_) => "payload_too_large",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound(_) | Error::NoReference(_) => StatusCode::NOT_FOUND,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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
