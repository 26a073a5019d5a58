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
    #[error("the court {0:?} holds matches: take them off it first")]
    CourtInUse(String),
    #[error("there is nothing to schedule: the tournament is not drawn, or it is over")]
    NotScheduling,
    #[error("the schedule needs courts and play windows first (PUT /tournaments/{{id}}/schedule)")]
    NoVenue,
    #[error("{0}")]
    NoRoom(#[from] crate::schedule::NoRoom),
    #[error("{0}")]
    Conflict(#[from] crate::schedule::Conflict),
    #[error("the match is played (or never will be): its place stays")]
    MatchPlayed,
    #[error("no calendar with this key (it may have been replaced)")]
    CalendarNotFound,
    #[error("only the match's two players report its result")]
    NotYourMatch,
    #[error("the organisers record this tournament's results (its reporting is `organisers`)")]
    OrganisersReport,
    #[error("the tournament is being played: cancel it before deleting it")]
    InPlay,
    #[error("matches are still to be played: record their results, or cancel the tournament")]
    MatchesLeft,
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
            Error::CourtInUse(_) => "court_in_use",
            Error::NotScheduling => "not_scheduling",
            Error::NoVenue => "no_venue",
            Error::NoRoom(_) => "no_room",
            Error::Conflict(_) => "schedule_conflict",
            Error::MatchPlayed => "match_played",
            Error::CalendarNotFound => "calendar_not_found",
            Error::NotYourMatch => "not_your_match",
            Error::OrganisersReport => "reporting_by_organisers",
            Error::InPlay => "tournament_in_play",
            Error::MatchesLeft => "matches_left",
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
            Error::NotFound(_)
            | Error::ParticipantNotFound(_)
            | Error::MatchNotFound(_)
            | Error::CalendarNotFound => StatusCode::NOT_FOUND,
            Error::NotOrganiser | Error::NotYourMatch => StatusCode::FORBIDDEN,
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
            | Error::CourtInUse(_)
            | Error::NotScheduling
            | Error::OrganisersReport
            | Error::InPlay
            | Error::MatchesLeft
            | Error::NoVenue
            | Error::NoRoom(_)
            | Error::Conflict(_)
            | Error::MatchPlayed
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
