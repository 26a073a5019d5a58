use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or blocked and the caller neither its author nor an administrator: the same answer.
    #[error("training {0} not found")]
    NotFound(Uuid),
    #[error("you already have a training titled {0:?}")]
    TitleTaken(String),
    #[error("only the training's author may change it")]
    NotAuthor,
    #[error("authors do not score their own trainings")]
    OwnTraining,
    #[error("no score of yours for training {0}")]
    NoScore(Uuid),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "training_not_found",
            Error::TitleTaken(_) => "title_taken",
            Error::NotAuthor => "not_author",
            Error::OwnTraining => "own_training",
            Error::NoScore(_) => "score_not_found",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) | Error::NoScore(_) => StatusCode::NOT_FOUND,
            Error::TitleTaken(_) | Error::OwnTraining => StatusCode::CONFLICT,
            Error::NotAuthor => StatusCode::FORBIDDEN,
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
