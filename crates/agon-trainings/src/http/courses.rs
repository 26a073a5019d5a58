//! Courses and their lessons: authoring, listing and reading, and the order of a course's steps.

use agon_kit::{AuthUser, Json, Page, PageParams, Path, Query, Role};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    State,
    courses::{self, CourseDraft, CourseEdit, LessonDraft, LessonEdit},
    error::Error,
    store::{Course, CourseFilter, Lesson, Step},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, edit, delete_one))
        .routes(routes!(add_lesson))
        .routes(routes!(get_lesson, edit_lesson, delete_lesson))
        .routes(routes!(reorder))
}

/// A course as members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseView {
    pub id: Uuid,
    pub instructor_id: Uuid,
    pub title: String,
    pub description: String,
    /// `beginner`, `intermediate` or `advanced`.
    pub level: String,
    /// One of `fitness`, `nutrition`, `health`, `coaching`, `technical`, `business`, `personal`, `other`.
    pub category: String,
    /// In the currency's minor units; 0 is free.
    pub price_minor: i64,
    /// ISO 4217; empty when free.
    pub currency: String,
    pub duration_minutes: i64,
    /// Inactive courses take no enrolments and show only to their instructor and administrators.
    pub active: bool,
    pub enrolled_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Course> for CourseView {
    fn from(c: Course) -> Self {
        Self {
            id: c.id,
            instructor_id: c.instructor_id,
            title: c.title,
            description: c.description,
            level: c.level,
            category: c.category,
            price_minor: c.price_minor,
            currency: c.currency,
            duration_minutes: c.duration_minutes,
            active: c.active,
            enrolled_count: c.enrolled_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A course with its steps in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseDetail {
    #[serde(flatten)]
    pub course: CourseView,
    pub syllabus: Vec<StepView>,
}

/// One step of a course: a lesson or an assessment.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// `lesson` or `assessment`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    /// 1, 2, … in the course's order.
    pub position: i64,
    pub title: String,
    pub duration_minutes: i64,
}

impl StepView {
    fn numbered(steps: Vec<Step>) -> Vec<StepView> {
        (1..)
            .zip(steps)
            .map(|(position, s)| StepView {
                kind: s.kind,
                id: s.id,
                position,
                title: s.title,
                duration_minutes: s.duration_minutes,
            })
            .collect()
    }
}

/// A new course.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCourse {
    /// 1 to 100 characters.
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub level: String,
    pub category: String,
    /// In minor units; 0 (free) when absent.
    #[serde(default)]
    pub price_minor: i64,
    /// ISO 4217, required when the course has a price.
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    pub duration_minutes: i64,
    /// `true` when absent.
    pub active: Option<bool>,
}

/// Filters of the course listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CourseParams {
    /// An instructor's id, or `me`.
    pub instructor: Option<String>,
    pub level: Option<String>,
    pub category: Option<String>,
    /// Text in the title or the description, without case.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A new lesson, added at the end of the course.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLesson {
    pub title: String,
    /// Markdown, at most 50,000 characters.
    #[serde(default)]
    pub content: String,
    /// At most 8 http(s) URLs.
    #[serde(default)]
    pub media: Vec<String>,
    #[serde(default)]
    pub duration_minutes: i64,
}

/// A lesson, for those who may follow the course.
#[derive(Debug, Serialize, ToSchema)]
pub struct LessonView {
    pub id: Uuid,
    pub course_id: Uuid,
    pub position: i64,
    pub title: String,
    pub content: String,
    pub media: Vec<String>,
    pub duration_minutes: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Lesson> for LessonView {
    fn from(l: Lesson) -> Self {
        let draft = l.draft();
        Self {
            id: l.id,
            course_id: l.course_id,
            position: l.position,
            title: draft.title,
            content: draft.content,
            media: draft.media,
            duration_minutes: draft.duration_minutes,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// The course's steps in their new order: every lesson and assessment id of the course, once each.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub steps: Vec<Uuid>,
}

/// The course `id` as `auth` may see it: an inactive one only by its instructor and administrators.
pub(crate) async fn visible(state: &State, auth: &AuthUser, id: Uuid) -> Result<Course, Error> {
    let course = state
        .store
        .course(id)
        .await?
        .ok_or(Error::CourseNotFound(id))?;
    if !course.active && !teaches(auth, &course) {
        return Err(Error::CourseNotFound(id));
    }
    Ok(course)
}

/// Whether `auth` may change the course: its instructor, or an administrator.
pub(crate) fn teaches(auth: &AuthUser, course: &Course) -> bool {
    course.instructor_id == auth.user_id || auth.has(Role::Admin)
}

/// The course `id`, for a change by its instructor or an administrator.
async fn taught(state: &State, auth: &AuthUser, id: Uuid) -> Result<Course, Error> {
    let course = visible(state, auth, id).await?;
    if !teaches(auth, &course) {
        return Err(Error::NotInstructor);
    }
    Ok(course)
}

/// Creates a course (trainers, coaches and administrators); the caller is its instructor.
#[utoipa::path(post, path = "/courses", tag = "courses", security(("bearer" = [])), request_body = NewCourse,
    responses((status = 201, body = CourseDetail), (status = 403), (status = 422)))]
async fn create(
    auth: AuthUser,
    state: State,
    Json(body): Json<NewCourse>,
) -> Result<(StatusCode, Json<CourseDetail>), Error> {
    if !auth.has(Role::Trainer) && !auth.has(Role::Coach) {
        auth.require(Role::Admin)?;
    }
    let draft = courses::check_course(CourseDraft {
        title: body.title,
        description: body.description,
        level: body.level,
        category: body.category,
        price_minor: body.price_minor,
        currency: body.currency,
        duration_minutes: body.duration_minutes,
        active: body.active.unwrap_or(true),
    })
    .map_err(Error::invalid_fields)?;
    let id = Uuid::now_v7();
    let now = chrono::Utc::now();
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .insert_course(
            &mut tx,
            (id, auth.user_id),
            &draft,
            &agon_db::time_text(now),
        )
        .await?;
    let event = agon_messages::trainings::CourseCreated {
        course_id: id,
        instructor_id: auth.user_id,
        title: draft.title,
        category: draft.category,
        level: draft.level,
        at: now,
    };
    agon_bus::enqueue(&mut tx, crate::SERVICE, &event).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok((StatusCode::CREATED, Json(detail(&state, id).await?)))
}

async fn detail(state: &State, id: Uuid) -> Result<CourseDetail, Error> {
    let course = state
        .store
        .course(id)
        .await?
        .ok_or(Error::CourseNotFound(id))?;
    let syllabus = StepView::numbered(state.store.syllabus(None, id).await?);
    Ok(CourseDetail {
        course: course.into(),
        syllabus,
    })
}

/// Courses matching the filters, newest first.
#[utoipa::path(get, path = "/courses", tag = "courses", security(("bearer" = [])), params(CourseParams),
    responses((status = 200, body = Page<CourseView>), (status = 401), (status = 422)))]
async fn list(
    auth: AuthUser,
    state: State,
    Query(params): Query<CourseParams>,
) -> Result<Json<Page<CourseView>>, Error> {
    let page = PageParams::new(params.limit, params.cursor.clone());
    let instructor = match params.instructor.as_deref() {
        None => None,
        Some("me") => Some(auth.user_id),
        Some(id) => Some(
            id.parse()
                .map_err(|_| Error::invalid("instructor", "must be a user id or me"))?,
        ),
    };
    let name = |field: &str, value: &Option<String>, allowed: &[&str]| {
        let value = value.as_deref().map(|v| v.trim().to_lowercase());
        match value {
            Some(v) if !allowed.contains(&v.as_str()) => Err(Error::invalid(
                field,
                &format!("must be one of {}", allowed.join(", ")),
            )),
            v => Ok(v),
        }
    };
    let filter = CourseFilter {
        instructor,
        level: name("level", &params.level, courses::LEVELS)?,
        category: name("category", &params.category, courses::CATEGORIES)?,
        text: super::search_text(params.q.as_deref())?,
        inactive_of: (!auth.has(Role::Admin)).then_some(auth.user_id),
    };
    let rows = state
        .store
        .courses(&filter, page.after::<Uuid>()?, page.fetch())
        .await?;
    let views: Vec<CourseView> = rows.into_iter().map(CourseView::from).collect();
    Ok(Json(page.page(views, |c| c.id)))
}

/// One course with its steps.
#[utoipa::path(get, path = "/courses/{id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = CourseDetail), (status = 404)))]
async fn get_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<Json<CourseDetail>, Error> {
    visible(&state, &auth, id).await?;
    Ok(Json(detail(&state, id).await?))
}

/// Changes a course (its instructor, or an administrator).
#[utoipa::path(patch, path = "/courses/{id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = CourseEdit,
    responses((status = 200, body = CourseDetail), (status = 403), (status = 404), (status = 422)))]
async fn edit(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<CourseEdit>,
) -> Result<Json<CourseDetail>, Error> {
    let course = taught(&state, &auth, id).await?;
    let draft = course.draft().edited(body).map_err(Error::invalid_fields)?;
    let mut tx = state.store.db().begin().await?;
    let now = agon_db::now_text();
    state.store.update_course(&mut tx, id, &draft, &now).await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?))
}

/// Deletes a course with its lessons, assessments and enrolments (its instructor, or an administrator).
/// Certificates already issued stay verifiable.
#[utoipa::path(delete, path = "/courses/{id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)))]
async fn delete_one(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Error> {
    taught(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    state.store.delete_course(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a lesson at the end of the course (its instructor, or an administrator).
#[utoipa::path(post, path = "/courses/{id}/lessons", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewLesson,
    responses((status = 201, body = LessonView), (status = 403), (status = 404), (status = 422)))]
async fn add_lesson(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<NewLesson>,
) -> Result<(StatusCode, Json<LessonView>), Error> {
    taught(&state, &auth, id).await?;
    let draft = courses::check_lesson(LessonDraft {
        title: body.title,
        content: body.content,
        media: body.media,
        duration_minutes: body.duration_minutes,
    })
    .map_err(Error::invalid_fields)?;
    let lesson = Uuid::now_v7();
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    state.store.lock_course(&mut tx, id).await?;
    let position = state.store.next_position(&mut tx, id).await?;
    state
        .store
        .insert_lesson(&mut tx, (lesson, id), position, &draft, &now)
        .await?;
    tx.commit().await?;
    let created = state
        .store
        .lesson(id, lesson)
        .await?
        .ok_or(Error::LessonNotFound(lesson))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// A lesson: for members enrolled in the course, its instructor and administrators.
#[utoipa::path(get, path = "/courses/{id}/lessons/{lesson_id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("lesson_id" = Uuid, Path)),
    responses((status = 200, body = LessonView), (status = 403), (status = 404)))]
async fn get_lesson(
    auth: AuthUser,
    state: State,
    Path((id, lesson)): Path<(Uuid, Uuid)>,
) -> Result<Json<LessonView>, Error> {
    let course = visible(&state, &auth, id).await?;
    if !teaches(&auth, &course) && state.store.enrolment(id, auth.user_id).await?.is_none() {
        return Err(Error::NotEnrolled);
    }
    let lesson = state
        .store
        .lesson(id, lesson)
        .await?
        .ok_or(Error::LessonNotFound(lesson))?;
    Ok(Json(lesson.into()))
}

/// Changes a lesson (the course's instructor, or an administrator).
#[utoipa::path(patch, path = "/courses/{id}/lessons/{lesson_id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("lesson_id" = Uuid, Path)), request_body = LessonEdit,
    responses((status = 200, body = LessonView), (status = 403), (status = 404), (status = 422)))]
async fn edit_lesson(
    auth: AuthUser,
    state: State,
    Path((id, lesson_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<LessonEdit>,
) -> Result<Json<LessonView>, Error> {
    taught(&state, &auth, id).await?;
    let lesson = state
        .store
        .lesson(id, lesson_id)
        .await?
        .ok_or(Error::LessonNotFound(lesson_id))?;
    let draft = lesson.draft().edited(body).map_err(Error::invalid_fields)?;
    let mut tx = state.store.db().begin().await?;
    state
        .store
        .update_lesson(&mut tx, lesson_id, &draft, &agon_db::now_text())
        .await?;
    tx.commit().await?;
    let lesson = state
        .store
        .lesson(id, lesson_id)
        .await?
        .ok_or(Error::LessonNotFound(lesson_id))?;
    Ok(Json(lesson.into()))
}

/// Removes a lesson, and members' progress on it (the course's instructor, or an administrator).
#[utoipa::path(delete, path = "/courses/{id}/lessons/{lesson_id}", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("lesson_id" = Uuid, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_lesson(
    auth: AuthUser,
    state: State,
    Path((id, lesson)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let course = taught(&state, &auth, id).await?;
    if state.store.lesson(id, lesson).await?.is_none() {
        return Err(Error::LessonNotFound(lesson));
    }
    let mut tx = state.store.db().begin().await?;
    state.store.lock_course(&mut tx, id).await?;
    state.store.delete_lesson(&mut tx, lesson).await?;
    super::learning::step_removed(&state, &mut tx, &course).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(StatusCode::NO_CONTENT)
}

/// Puts the course's lessons and assessments in a new order (its instructor, or an administrator).
#[utoipa::path(put, path = "/courses/{id}/syllabus", tag = "courses", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewOrder,
    responses((status = 200, body = CourseDetail), (status = 403), (status = 404), (status = 422)))]
async fn reorder(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<NewOrder>,
) -> Result<Json<CourseDetail>, Error> {
    taught(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    state.store.lock_course(&mut tx, id).await?;
    let mut steps = state.store.syllabus(Some(&mut tx), id).await?;
    let distinct: std::collections::HashSet<&Uuid> = body.steps.iter().collect();
    if distinct.len() != body.steps.len() || body.steps.len() != steps.len() {
        return Err(Error::SyllabusMismatch);
    }
    let mut ordered = Vec::with_capacity(steps.len());
    for step in &body.steps {
        let at = steps
            .iter()
            .position(|s| s.id == *step)
            .ok_or(Error::SyllabusMismatch)?;
        ordered.push(steps.swap_remove(at));
    }
    state.store.reorder(&mut tx, id, &ordered).await?;
    tx.commit().await?;
    Ok(Json(detail(&state, id).await?))
}
