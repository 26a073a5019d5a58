//! Members following courses: enrolment, progress per lesson, and completion with its certificate.

use agon_db::Tx;
use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::courses::{teaches, visible};
use crate::{
    State, courses,
    error::Error,
    store::{Course, Enrolment},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(progress, enrol, leave))
        .routes(routes!(enrolments))
        .routes(routes!(complete_lesson))
}

/// Enrolling, optionally with the name to print on the certificate.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// At most 100 characters; the name the member registered with when absent. Enrolling again changes it
    /// until the certificate is issued.
    pub certificate_name: Option<String>,
}

/// Where a member stands in a course.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub course_id: Uuid,
    pub user_id: Uuid,
    pub certificate_name: Option<String>,
    pub enrolled_at: String,
    pub lessons_total: i64,
    /// The lessons finished, in no particular order.
    pub lessons_completed: Vec<Uuid>,
    pub assessments_total: i64,
    /// The assessments passed at least once.
    pub assessments_passed: Vec<Uuid>,
    /// Steps done of all steps, 0 to 100.
    pub percent: f64,
    pub completed_at: Option<String>,
    pub certificate_id: Option<String>,
}

/// Enrols the caller in an active course; enrolling again is harmless (201 the first time, 200 after).
#[utoipa::path(post, path = "/courses/{id}/enrolment", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body(content = Enrol, description = "Optional: no body enrols with the registered name."),
    responses((status = 201, body = Progress), (status = 200, body = Progress), (status = 404), (status = 409),
        (status = 422)))]
async fn enrol(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    body: Option<Json<Enrol>>,
) -> Result<(StatusCode, Json<Progress>), Error> {
    let course = visible(&state, &auth, id).await?;
    let name = courses::check_name(body.map(|b| b.0).unwrap_or_default().certificate_name)
        .map_err(Error::invalid_fields)?;
    if course.instructor_id == auth.user_id {
        return Err(Error::OwnCourse);
    }
    if !course.active {
        return Err(Error::CourseInactive);
    }
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    let at = agon_db::time_text(now);
    let new = state
        .store
        .enrol(&mut tx, (id, auth.user_id), name.as_deref(), &at)
        .await?;
    if new {
        let event = agon_messages::trainings::CourseEnrolled {
            course_id: id,
            instructor_id: course.instructor_id,
            user_id: auth.user_id,
            title: course.title.clone(),
            at: now,
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    tx.commit().await?;
    state.outbox.wake();
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(standing(&state, id, auth.user_id).await?)))
}

/// The caller's progress in a course.
#[utoipa::path(get, path = "/courses/{id}/enrolment", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Progress), (status = 403), (status = 404)))]
async fn progress(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<Progress>, Error> {
    visible(&state, &auth, id).await?;
    Ok(Json(standing(&state, id, auth.user_id).await?))
}

/// Leaves a course not yet completed, with the progress made in it (assessment attempts stay).
#[utoipa::path(delete, path = "/courses/{id}/enrolment", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
async fn leave(auth: AuthUser, state: State, Path(id): Path<Uuid>) -> Result<StatusCode, Error> {
    visible(&state, &auth, id).await?;
    let enrolment = state
        .store
        .enrolment(id, auth.user_id)
        .await?
        .ok_or(Error::NotEnrolled)?;
    if enrolment.completed_at.is_some() {
        return Err(Error::CourseCompleted);
    }
    let mut tx = state.store.db().begin().await?;
    if !state.store.leave(&mut tx, id, auth.user_id).await? {
        // Completed (or left) since it was read.
        let now = state.store.enrolment(id, auth.user_id).await?;
        return Err(match now {
            Some(_) => Error::CourseCompleted,
            None => Error::NotEnrolled,
        });
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everyone's progress in a course, by member (the course's instructor, or an administrator).
#[utoipa::path(get, path = "/courses/{id}/enrolments", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Progress>), (status = 403), (status = 404)))]
async fn enrolments(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Query(page): Query<PageParams>,
) -> Result<Json<Page<Progress>>, Error> {
    let course = visible(&state, &auth, id).await?;
    if !teaches(&auth, &course) {
        return Err(Error::NotInstructor);
    }
    let rows = state
        .store
        .enrolments(id, page.after::<Uuid>()?, page.fetch())
        .await?;
    let steps = state.store.syllabus(None, id).await?;
    let mut views = Vec::with_capacity(rows.len());
    for enrolment in rows {
        let done = state.store.progress(None, id, enrolment.user_id).await?;
        views.push(view(enrolment, &steps, &done));
    }
    Ok(Json(page.page(views, |p| p.user_id)))
}

/// Marks a lesson finished for the caller, who must be enrolled; finishing the course's last step completes it
/// and issues the certificate. Finishing a lesson again changes nothing.
#[utoipa::path(post, path = "/courses/{id}/lessons/{lesson_id}/completion", tag = "courses",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("lesson_id" = Uuid, Path)),
    responses((status = 200, body = Progress), (status = 403), (status = 404)))]
async fn complete_lesson(
    auth: AuthUser,
    state: State,
    Path((id, lesson)): Path<(Uuid, Uuid)>,
) -> Result<Json<Progress>, Error> {
    let course = visible(&state, &auth, id).await?;
    if state.store.lesson(id, lesson).await?.is_none() {
        return Err(Error::LessonNotFound(lesson));
    }
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    if !state
        .store
        .lock_enrolment(&mut tx, id, auth.user_id)
        .await?
    {
        return Err(Error::NotEnrolled);
    }
    let key = (id, lesson, auth.user_id);
    if state
        .store
        .complete_lesson(&mut tx, key, &agon_db::time_text(now))
        .await?
    {
        let event = agon_messages::trainings::LessonCompleted {
            course_id: id,
            lesson_id: lesson,
            user_id: auth.user_id,
            at: now,
        };
        agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    }
    // Also when the lesson was done before: a step removed since may have left nothing else to do.
    finish(&state, &mut tx, &course, auth.user_id).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Json(standing(&state, id, auth.user_id).await?))
}

/// After a step of `course` was done by `user` (whose enrolment `tx` holds): completes the course when it was
/// the last one — once, whatever races — issuing the certificate and telling the rest of the platform.
pub(crate) async fn finish(
    state: &State,
    tx: &mut Tx,
    course: &Course,
    user: Uuid,
) -> Result<(), Error> {
    if !state.store.standing(tx, course.id, user).await?.complete() {
        return Ok(());
    }
    let certificate = Uuid::now_v7();
    let now = chrono::Utc::now();
    let at = agon_db::time_text(now);
    if !state
        .store
        .complete_course(tx, course, user, certificate, &at)
        .await?
    {
        return Ok(());
    }
    let completed = agon_messages::trainings::CourseCompleted {
        course_id: course.id,
        user_id: user,
        certificate_id: certificate,
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &completed).await?;
    let issued = agon_messages::trainings::CertificateIssued {
        certificate_id: certificate,
        course_id: course.id,
        user_id: user,
        course_title: course.title.clone(),
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &issued).await?;
    Ok(())
}

/// After a lesson or assessment of `course` was removed (the course's row held by `tx`): the remaining steps
/// are numbered 1…n again, and members for whom nothing is left to do complete the course.
pub(crate) async fn step_removed(state: &State, tx: &mut Tx, course: &Course) -> Result<(), Error> {
    let steps = state.store.syllabus(Some(tx), course.id).await?;
    state.store.reorder(tx, course.id, &steps).await?;
    for member in state.store.unfinished(tx, course.id).await? {
        if state.store.lock_enrolment(tx, course.id, member).await? {
            finish(state, tx, course, member).await?;
        }
    }
    Ok(())
}

/// The member's progress, read after the change that led here.
async fn standing(state: &State, course: Uuid, user: Uuid) -> Result<Progress, Error> {
    let enrolment = state
        .store
        .enrolment(course, user)
        .await?
        .ok_or(Error::NotEnrolled)?;
    let steps = state.store.syllabus(None, course).await?;
    let done = state.store.progress(None, course, user).await?;
    Ok(view(enrolment, &steps, &done))
}

fn view(e: Enrolment, steps: &[crate::store::Step], done: &[crate::store::Done]) -> Progress {
    let of = |kind: &str| {
        done.iter()
            .filter(|d| d.kind == kind)
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    let (lessons_completed, assessments_passed) = (of("lesson"), of("assessment"));
    let total = |kind: &str| steps.iter().filter(|s| s.kind == kind).count() as i64;
    let all = steps.len() as i64;
    let finished = (lessons_completed.len() + assessments_passed.len()) as i64;
    Progress {
        course_id: e.course_id,
        user_id: e.user_id,
        certificate_name: e.certificate_name,
        enrolled_at: e.enrolled_at,
        lessons_total: total("lesson"),
        lessons_completed,
        assessments_total: total("assessment"),
        assessments_passed,
        percent: if e.completed_at.is_some() {
            100.0
        } else {
            courses::percentage(finished.min(all), all)
        },
        completed_at: e.completed_at,
        certificate_id: e.certificate_id,
    }
}
