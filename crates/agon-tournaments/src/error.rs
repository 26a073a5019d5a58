use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

use crate::{bracket::ResultError, lifecycle::Refused};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or a draft and the caller not an organiser: the same answer.
    #[error("tournament {0} not found")]
    NotFound(Uuid),
    #[error("participant {0} not found in this tournament")]
    ParticipantNotFound(Uuid),
    #[error("match {0} not found in this tournament")]
    MatchNotFound(i64),
    #[error("only the tournament's organisers may do this")]
    NotOrganiser,
    #[error("you already have an entry in this tournament")]
    AlreadyEntered,
    #[error("the entry is not waiting for approval")]
    NotPending,
    #[error("the entry was withdrawn already")]
    Withdrawn,
    #[error("rounds are paired in Swiss tournaments only")]
    NotSwiss,
    #[error("the current round still has matches without a result")]
    RoundUnfinished,
    #[error("every round has been paired")]
    RoundsDone,
    #[error("no pairing without a rematch is left")]
    NoPairing,
    #[error("{0}")]
    Refused(#[from] Refused),
    #[error("{0}")]
    Result(#[from] ResultError),
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "tournament_not_found",
            Error::ParticipantNotFound(_) => "participant_not_found",
            Error::MatchNotFound(_) => "match_not_found",
            Error::NotOrganiser => "not_organiser",
            Error::AlreadyEntered => "already_entered",
            Error::NotPending => "not_pending",
            Error::Withdrawn => "already_withdrawn",
            Error::NotSwiss => "not_swiss",
            Error::RoundUnfinished => "round_unfinished",
            Error::RoundsDone => "rounds_done",
            Error::NoPairing => "no_pairing",
            Error::Refused(r) => match r {
                Refused::Transition(..) => "wrong_status",
                Refused::RegistrationClosed => "registration_closed",
                Refused::DeadlinePassed => "deadline_passed",
                Refused::Full => "tournament_full",
                Refused::TooFew => "too_few_participants",
                Refused::NotAPermutation => "bad_seed_order",
                Refused::NotRunning => "not_running",
                Refused::PlayBegun => "play_begun",
            },
            Error::Result(r) => match r {
                ResultError::NoMatch => "match_not_found",
                ResultError::NotReady => "match_not_ready",
                ResultError::BadSide => "not_in_match",
                ResultError::DependentPlayed => "result_locked",
                ResultError::NoDraw => "no_draw",
            },
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) | Error::ParticipantNotFound(_) | Error::MatchNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            Error::NotOrganiser => StatusCode::FORBIDDEN,
            Error::Refused(Refused::NotAPermutation) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Result(ResultError::NoMatch) => StatusCode::NOT_FOUND,
            Error::Result(ResultError::BadSide | ResultError::NoDraw) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Error::AlreadyEntered
            | Error::NotPending
            | Error::Withdrawn
            | Error::NotSwiss
            | Error::RoundUnfinished
            | Error::RoundsDone
            | Error::NoPairing
            | Error::Refused(_)
            | Error::Result(_) => StatusCode::CONFLICT,
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
