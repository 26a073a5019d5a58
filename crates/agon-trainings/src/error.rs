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
    /// Unknown, or inactive and the caller neither its instructor nor an administrator: the same answer.
    #[error("course {0} not found")]
    CourseNotFound(Uuid),
    #[error("lesson {0} not found in this course")]
    LessonNotFound(Uuid),
    #[error("assessment {0} not found")]
    AssessmentNotFound(Uuid),
    #[error("certificate {0} not found")]
    CertificateNotFound(String),
    #[error("only the course's instructor may change it")]
    NotInstructor,
    #[error("only the assessment's author may change it")]
    NotAssessmentAuthor,
    #[error("the course takes no enrolments while inactive")]
    CourseInactive,
    #[error("instructors do not enrol in their own courses")]
    OwnCourse,
    #[error("enrol in the course first")]
    NotEnrolled,
    #[error("a completed course stays completed: its certificate stands on the enrolment")]
    CourseCompleted,
    #[error("members have submitted answers to this assessment, so its questions no longer change")]
    AssessmentTaken,
    #[error("the new order must name every step of the course exactly once")]
    SyllabusMismatch,
}

impl ErrorCode for Error {
    fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "training_not_found",
            Error::TitleTaken(_) => "title_taken",
            Error::NotAuthor => "not_author",
            Error::OwnTraining => "own_training",
            Error::NoScore(_) => "score_not_found",
            Error::CourseNotFound(_) => "course_not_found",
            Error::LessonNotFound(_) => "lesson_not_found",
            Error::AssessmentNotFound(_) => "assessment_not_found",
            Error::CertificateNotFound(_) => "certificate_not_found",
            Error::NotInstructor => "not_instructor",
            Error::NotAssessmentAuthor => "not_assessment_author",
            Error::CourseInactive => "course_inactive",
            Error::OwnCourse => "own_course",
            Error::NotEnrolled => "not_enrolled",
            Error::CourseCompleted => "course_completed",
            Error::AssessmentTaken => "assessment_taken",
            Error::SyllabusMismatch => "syllabus_mismatch",
            Error::Api(e) => e.code(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_)
            | Error::NoScore(_)
            | Error::CourseNotFound(_)
            | Error::LessonNotFound(_)
            | Error::AssessmentNotFound(_)
            | Error::CertificateNotFound(_) => StatusCode::NOT_FOUND,
            Error::TitleTaken(_)
            | Error::OwnTraining
            | Error::CourseInactive
            | Error::OwnCourse
            | Error::CourseCompleted
            | Error::AssessmentTaken => StatusCode::CONFLICT,
            Error::NotAuthor
            | Error::NotInstructor
            | Error::NotAssessmentAuthor
            | Error::NotEnrolled => StatusCode::FORBIDDEN,
            Error::SyllabusMismatch => StatusCode::UNPROCESSABLE_ENTITY,
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
