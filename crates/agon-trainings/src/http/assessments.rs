//! Assessments — of a course or standing alone — and members' scored submissions.

use std::collections::HashMap;

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::courses::{teaches, visible};
use crate::{
    State,
    courses::{self, AssessmentInput, Question},
    error::Error,
    store::{Assessment, Course, Submission},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, replace, delete_one))
        .routes(routes!(submissions, submit))
}

/// An assessment. Correct answers show to its author, the course's instructor and administrators only.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssessmentView {
    pub id: Uuid,
    /// The course it is a step of; none for an assessment standing alone.
    pub course_id: Option<Uuid>,
    pub author_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub difficulty: String,
    pub duration_minutes: i64,
    /// Percent of the points needed to pass.
    pub pass_mark: i64,
    pub questions: Vec<QuestionView>,
    pub total_points: i64,
    pub submission_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A question; answer it by its `id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionView {
    pub id: Uuid,
    pub question: String,
    /// `multiple_choice`, `true_false` or `text`.
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Vec<String>,
    pub points: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_answer: Option<String>,
}

impl AssessmentView {
    fn of(a: Assessment, with_answers: bool) -> Self {
        let questions: Vec<QuestionView> = a
            .questions()
            .into_iter()
            .map(|q: Question| QuestionView {
                id: q.id,
                question: q.question,
                kind: q.kind,
                options: q.options,
                points: q.points,
                correct_answer: with_answers.then_some(q.correct_answer),
            })
            .collect();
        Self {
            id: a.id,
            course_id: a.course_id,
            author_id: a.author_id,
            title: a.title,
            description: a.description,
            category: a.category,
            difficulty: a.difficulty,
            duration_minutes: a.duration_minutes,
            pass_mark: a.pass_mark,
            total_points: questions.iter().map(|q| q.points).sum(),
            questions,
            submission_count: a.submission_count,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A member's answers: question id → answer. Unanswered questions score nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub answers: HashMap<Uuid, String>,
}

/// A scored attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: Uuid,
    pub assessment_id: Uuid,
    pub user_id: Uuid,
    pub answers: serde_json::Value,
    /// Points earned.
    pub score: i64,
    pub total: i64,
    /// Of the points, 0 to 100 with two decimals.
    pub percentage: f64,
    pub passed: bool,
    pub submitted_at: String,
}

impl From<Submission> for SubmissionView {
    fn from(s: Submission) -> Self {
        Self {
            id: s.id,
            assessment_id: s.assessment_id,
            user_id: s.user_id,
            answers: s.answers,
            score: s.score,
            total: s.total,
            percentage: courses::percentage(s.score, s.total),
            passed: s.passed,
            submitted_at: s.submitted_at,
        }
    }
}

/// Filters of the assessment listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssessmentParams {
    pub course: Option<Uuid>,
    /// An author's id, or `me`.
    pub author: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Whose submissions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubmissionParams {
    /// A member's id, or `me`. Members other than the assessment's author, the course's instructor and
    /// administrators always see only their own.
    pub user: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The assessment `id` as `auth` may see it, with its course, and whether `auth` may change it.
async fn visible_assessment(
    state: &State,
    auth: &AuthUser,
    id: Uuid,
) -> Result<(Assessment, Option<Course>, bool), Error> {
    let assessment = state
        .store
        .assessment(id)
        .await?
        .ok_or(Error::AssessmentNotFound(id))?;
    let course = match assessment.course_id {
        Some(course) => Some(visible(state, auth, course).await.map_err(|e| match e {
            Error::CourseNotFound(_) => Error::AssessmentNotFound(id),
            other => other,
        })?),
        None => None,
    };
    let owns = owns(auth, &assessment);
    Ok((assessment, course, owns))
}

/// Whether `auth` may change the assessment and see its answers: its author, the course's instructor, or an
/// administrator.
fn owns(auth: &AuthUser, a: &Assessment) -> bool {
    a.author_id == auth.user_id || a.instructor_id == Some(auth.user_id) || auth.has(Role::Admin)
}

/// Creates an assessment (trainers, coaches and administrators; for a course, its instructor).
#[utoipa::path(post, path = "/assessments", tag = "assessments", security(("bearer" = [])),
    request_body = AssessmentInput,
    responses((status = 201, body = AssessmentView), (status = 403), (status = 404), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<AssessmentInput>,
) -> Result<(StatusCode, Json<AssessmentView>), Error> {
    if !auth.has(Role::Trainer) && !auth.has(Role::Coach) {
        auth.require(Role::Admin)?;
    }
    if let Some(course) = body.course_id
        && !teaches(&auth, &visible(&state, &auth, course).await?)
    {
        return Err(Error::NotInstructor);
    }
    let course_id = body.course_id;
    let draft = courses::check_assessment(body).map_err(Error::invalid_fields)?;
    let id = Uuid::now_v7();
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    let place = match course_id {
        Some(course) => {
            state.store.lock_course(&mut tx, course).await?;
            Some((course, state.store.next_position(&mut tx, course).await?))
        }
        None => None,
    };
    state
        .store
        .insert_assessment(&mut tx, (id, auth.user_id), place, &draft, &now)
        .await?;
    tx.commit().await?;
    let created = state
        .store
        .assessment(id)
        .await?
        .ok_or(Error::AssessmentNotFound(id))?;
    Ok((StatusCode::CREATED, Json(AssessmentView::of(created, true))))
}

/// Assessments, newest first: of a course, of an author, or all that stand alone or belong to a visible course.
#[utoipa::path(get, path = "/assessments", tag = "assessments", security(("bearer" = [])),
    params(AssessmentParams), responses((status = 200, body = Page<AssessmentView>), (status = 401), (status = 422)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(params): Query<AssessmentParams>,
) -> Result<Json<Page<AssessmentView>>, Error> {
    let page = PageParams::new(params.limit, params.cursor.clone());
    let author = match params.author.as_deref() {
        None => None,
        Some("me") => Some(auth.user_id),
        Some(id) => Some(
            id.parse()
                .map_err(|_| Error::invalid("author", "must be a user id or me"))?,
        ),
    };
    if let Some(course) = params.course {
        visible(&state, &auth, course).await?;
    }
    let viewer = (!auth.has(Role::Admin)).then_some(auth.user_id);
    let rows = state
        .store
        .assessments(
            (params.course, author, viewer),
            page.after::<Uuid>()?,
            page.fetch(),
        )
        .await?;
    let views: Vec<AssessmentView> = rows
        .into_iter()
        .map(|a| {
            let owns = owns(&auth, &a);
            AssessmentView::of(a, owns)
        })
        .collect();
    Ok(Json(page.page(views, |a| a.id)))
}

/// One assessment.
#[utoipa::path(get, path = "/assessments/{id}", tag = "assessments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = AssessmentView), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<AssessmentView>, Error> {
    let (assessment, _, owns) = visible_assessment(&state, &auth, id).await?;
    Ok(Json(AssessmentView::of(assessment, owns)))
}

/// Replaces an assessment's content, until the first submission (its author, the course's instructor, or an
/// administrator). Its place — course and position — stays.
#[utoipa::path(put, path = "/assessments/{id}", tag = "assessments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = AssessmentInput,
    responses((status = 200, body = AssessmentView), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn replace(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<AssessmentInput>,
) -> Result<Json<AssessmentView>, Error> {
    let (assessment, _, owns) = visible_assessment(&state, &auth, id).await?;
    if !owns {
        return Err(Error::NotAssessmentAuthor);
    }
    if body
        .course_id
        .is_some_and(|c| Some(c) != assessment.course_id)
    {
        return Err(Error::invalid(
            "course_id",
            "an assessment stays in its course",
        ));
    }
    let draft = courses::check_assessment(body).map_err(Error::invalid_fields)?;
    let mut tx = state.store.db().begin().await?;
    if !state
        .store
        .replace_assessment(&mut tx, id, &draft, &agon_db::now_text())
        .await?
    {
        return Err(Error::AssessmentTaken);
    }
    tx.commit().await?;
    let replaced = state
        .store
        .assessment(id)
        .await?
        .ok_or(Error::AssessmentNotFound(id))?;
    Ok(Json(AssessmentView::of(replaced, true)))
}

/// Deletes an assessment with its submissions (its author, the course's instructor, or an administrator).
#[utoipa::path(delete, path = "/assessments/{id}", tag = "assessments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    let (_, course, owns) = visible_assessment(&state, &auth, id).await?;
    if !owns {
        return Err(Error::NotAssessmentAuthor);
    }
    let mut tx = state.store.db().begin().await?;
    if let Some(course) = &course {
        state.store.lock_course(&mut tx, course.id).await?;
    }
    state.store.delete_assessment(&mut tx, id).await?;
    if let Some(course) = &course {
        super::learning::step_removed(&state, &mut tx, course).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Submits answers, scored at once; attempts are unlimited. A course's assessment needs an enrolment, and
/// passing its last step completes the course.
#[utoipa::path(post, path = "/assessments/{id}/submissions", tag = "assessments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Answers,
    responses((status = 201, body = SubmissionView), (status = 403), (status = 404), (status = 422)))]
async fn submit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Answers>,
) -> Result<(StatusCode, Json<SubmissionView>), Error> {
    let (assessment, course, _) = visible_assessment(&state, &auth, id).await?;
    // Before anything else: a map of many unknown ids would otherwise be checked, and reported, one by one.
    if body.answers.len() > assessment.questions().len() {
        return Err(Error::invalid(
            "answers",
            "holds more answers than the assessment has questions",
        ));
    }
    let submission = Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    if let Some(course) = &course
        && !state
            .store
            .lock_enrolment(&mut tx, course.id, auth.user_id)
            .await?
    {
        return Err(Error::NotEnrolled);
    }
    // Scored against the questions as they are while the attempt is counted: an edit cannot slip in between.
    let (questions, pass_mark) = state
        .store
        .take_assessment(&mut tx, id)
        .await?
        .ok_or(Error::AssessmentNotFound(id))?;
    courses::check_answers(&questions, &body.answers).map_err(Error::invalid_fields)?;
    let outcome = courses::score(&questions, &body.answers, pass_mark);
    let answers = serde_json::to_value(&body.answers).unwrap_or_default();
    let key = (submission, id, auth.user_id);
    let at = agon_db::time_text(now);
    state
        .store
        .insert_submission(&mut tx, key, &answers, outcome, &at)
        .await?;
    let event = agon_messages::trainings::AssessmentSubmitted {
        assessment_id: id,
        course_id: assessment.course_id,
        submission_id: submission,
        user_id: auth.user_id,
        percentage: outcome.percentage(),
        passed: outcome.passed,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    if let Some(course) = &course
        && outcome.passed
    {
        super::learning::finish(&state, &mut tx, course, auth.user_id).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let view = SubmissionView {
        id: submission,
        assessment_id: id,
        user_id: auth.user_id,
        answers,
        score: outcome.score,
        total: outcome.total,
        percentage: outcome.percentage(),
        passed: outcome.passed,
        submitted_at: at,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Submissions to an assessment, newest first.
#[utoipa::path(get, path = "/assessments/{id}/submissions", tag = "assessments", security(("bearer" = [])),
    params(("id" = Uuid, Path), SubmissionParams),
    responses((status = 200, body = Page<SubmissionView>), (status = 404), (status = 422)))]
async fn submissions(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(params): Query<SubmissionParams>,
) -> Result<Json<Page<SubmissionView>>, Error> {
    let page = PageParams::new(params.limit, params.cursor.clone());
    let (_, _, owns) = visible_assessment(&state, &auth, id).await?;
    let user = match params.user.as_deref() {
        Some("me") => Some(auth.user_id),
        Some(id) => Some(
            id.parse()
                .map_err(|_| Error::invalid("user", "must be a user id or me"))?,
        ),
        None => None,
    };
    let user = if owns { user } else { Some(auth.user_id) };
    let rows = state
        .store
        .submissions((id, user), page.after::<Uuid>()?, page.fetch())
        .await?;
    let views: Vec<SubmissionView> = rows.into_iter().map(SubmissionView::from).collect();
    Ok(Json(page.page(views, |s| s.id)))
}
