use agon_kit::{ApiError, ErrorCode, FieldError};
use axum::http::StatusCode;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, authentication, cursors and faults, as every service has them.
    #[error(transparent)]
    Api(ApiError),
    /// Unknown, or not offering sessions (and the caller not the coach): the same answer.
    #[error("coach {0} not found")]
    CoachNotFound(Uuid),
    /// Unknown, or neither the caller's session nor their coaching: the same answer.
    #[error("booking {0} not found")]
    BookingNotFound(Uuid),
    #[error("exception {0} not found")]
    ExceptionNotFound(Uuid),
    #[error("only the coach (or an administrator) may do this")]
    NotCoach,
    #[error("coach profiles are for members with the coach or trainer role")]
    NotACoachRole,
    #[error("you can't book your own session")]
    OwnSession,
    #[error("the coach offers no session starting at that time")]
    NotAvailable,
    #[error("that time is taken: the coach or you already have a session then")]
    SlotTaken,
    #[error("sessions are booked at least {0} hours ahead")]
    TooSoon(i64),
    #[error("the booking can no longer be changed by you: the cut-off was {0} hours before it")]
    CutoffPassed(i64),
    #[error("the booking is {0}, not confirmed")]
    NotConfirmed(String),
    #[error("attendance is recorded once the session has started")]
    NotStarted,
    #[error("this Idempotency-Key was used for a different booking")]
    KeyReused,
    #[error("no calendar has this key")]
    CalendarNotFound,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::CoachNotFound(_) => "coach_not_found",
            Error::BookingNotFound(_) => "booking_not_found",
            Error::ExceptionNotFound(_) => "exception_not_found",
            Error::NotCoach => "not_coach",
            Error::NotACoachRole => "coach_role_required",
            Error::OwnSession => "own_session",
            Error::NotAvailable => "slot_not_available",
            Error::SlotTaken => "slot_taken",
            Error::TooSoon(_) => "too_soon",
            Error::CutoffPassed(_) => "cutoff_passed",
            Error::NotConfirmed(_) => "booking_not_confirmed",
            Error::NotStarted => "session_not_started",
            Error::KeyReused => "idempotency_key_reused",
            Error::CalendarNotFound => "calendar_not_found",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::CoachNotFound(_)
            | Error::BookingNotFound(_)
            | Error::ExceptionNotFound(_)
            | Error::CalendarNotFound => StatusCode::NOT_FOUND,
            Error::NotCoach | Error::NotACoachRole => StatusCode::FORBIDDEN,
            Error::OwnSession
            | Error::SlotTaken
            | Error::CutoffPassed(_)
            | Error::NotConfirmed(_)
            | Error::NotStarted => StatusCode::CONFLICT,
            Error::NotAvailable | Error::TooSoon(_) | Error::KeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
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
