//! Events produced by the trainings service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A trainer published a training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCreated {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub kind: String,
    pub difficulty: i64,
    pub at: DateTime<Utc>,
}

/// Its author changed a training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingUpdated {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A training was deleted, by its author or an administrator (`by`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingDeleted {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// An administrator blocked a training (`blocked`), or lifted the block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingBlocked {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub blocked: bool,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// A member made a training one of their favourites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingFavourited {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A member scored a training (0 to 5), or changed their score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingScored {
    pub training_id: Uuid,
    pub author_id: Uuid,
    pub user_id: Uuid,
    pub score: f64,
    pub at: DateTime<Utc>,
}

/// An instructor published a course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseCreated {
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub title: String,
    pub category: String,
    pub level: String,
    pub at: DateTime<Utc>,
}

/// A member enrolled in a course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseEnrolled {
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    pub at: DateTime<Utc>,
}

/// A member finished a lesson of a course they are enrolled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LessonCompleted {
    pub course_id: Uuid,
    pub lesson_id: Uuid,
    pub user_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A member submitted answers to an assessment (of a course, or standing alone), scored on the spot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentSubmitted {
    pub assessment_id: Uuid,
    pub course_id: Option<Uuid>,
    pub submission_id: Uuid,
    pub user_id: Uuid,
    /// Of the points, 0 to 100 with two decimals.
    pub percentage: f64,
    pub passed: bool,
    pub at: DateTime<Utc>,
}

/// A member finished every lesson and passed every assessment of a course: it is complete (once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseCompleted {
    pub course_id: Uuid,
    pub user_id: Uuid,
    pub certificate_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A certificate was issued to a member for a completed course; anyone holding its id can verify it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateIssued {
    pub certificate_id: Uuid,
    pub course_id: Uuid,
    pub user_id: Uuid,
    pub course_title: String,
    pub at: DateTime<Utc>,
}

impl crate::Event for TrainingCreated {
    const TOPIC: &'static str = "trainings.training_created.v1";
}
impl crate::Event for TrainingUpdated {
    const TOPIC: &'static str = "trainings.training_updated.v1";
}
impl crate::Event for TrainingDeleted {
    const TOPIC: &'static str = "trainings.training_deleted.v1";
}
impl crate::Event for TrainingBlocked {
    const TOPIC: &'static str = "trainings.training_blocked.v1";
}
impl crate::Event for TrainingFavourited {
    const TOPIC: &'static str = "trainings.training_favourited.v1";
}
impl crate::Event for TrainingScored {
    const TOPIC: &'static str = "trainings.training_scored.v1";
}
impl crate::Event for CourseCreated {
    const TOPIC: &'static str = "trainings.course_created.v1";
}
impl crate::Event for CourseEnrolled {
    const TOPIC: &'static str = "trainings.course_enrolled.v1";
}
impl crate::Event for LessonCompleted {
    const TOPIC: &'static str = "trainings.lesson_completed.v1";
}
impl crate::Event for AssessmentSubmitted {
    const TOPIC: &'static str = "trainings.assessment_submitted.v1";
}
impl crate::Event for CourseCompleted {
    const TOPIC: &'static str = "trainings.course_completed.v1";
}
impl crate::Event for CertificateIssued {
    const TOPIC: &'static str = "trainings.certificate_issued.v1";
}
