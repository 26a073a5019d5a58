//! All SQL of courses: courses and their lessons, enrolments, progress and completion, certificates.

use agon_db::{Flag, JsonText, ResultExt, Row, Tx, query, query_as};

use uuid::Uuid;

use super::{Store, contains};
use crate::{
    courses::{CourseDraft, LessonDraft, Standing},
    error::Error,
};

/// A course as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Course {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub instructor_id: Uuid,
    pub title: String,
    pub description: String,
    pub level: String,
    pub category: String,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i64,
    #[sqlx(try_from = "Flag")]
    pub active: bool,
    pub enrolled_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Course {
    pub fn draft(&self) -> CourseDraft {
        CourseDraft {
            title: self.title.clone(),
            description: self.description.clone(),
            level: self.level.clone(),
            category: self.category.clone(),
            price_minor: self.price_minor,
            currency: self.currency.clone(),
            duration_minutes: self.duration_minutes,
            active: self.active,
        }
    }
}

const COURSE_COLUMNS: &str = "id, instructor_id, title, description, level, category, price_minor, currency, \
                              duration_minutes, active, enrolled_count, created_at, updated_at";

/// A lesson as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Lesson {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub course_id: Uuid,
    pub position: i64,
    pub title: String,
    pub content: String,
    #[sqlx(try_from = "JsonText")]
    pub media: serde_json::Value,
    pub duration_minutes: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Lesson {
    pub fn draft(&self) -> LessonDraft {
        LessonDraft {
            title: self.title.clone(),
            content: self.content.clone(),
            media: serde_json::from_value(self.media.clone()).unwrap_or_default(),
            duration_minutes: self.duration_minutes,
        }
    }
}

const LESSON_COLUMNS: &str =
    "id, course_id, position, title, content, media, duration_minutes, created_at, updated_at";

/// One step of a course's syllabus: a lesson or an assessment.
#[derive(Debug, sqlx::FromRow)]
pub struct Step {
    /// `lesson` or `assessment`.
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub title: String,
    pub duration_minutes: i64,
}

/// A step the member finished: a lesson done, an assessment passed.
#[derive(Debug, sqlx::FromRow)]
pub struct Done {
    /// `lesson` or `assessment`.
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub id: Uuid,
}

/// A member's enrolment in a course.
#[derive(Debug, sqlx::FromRow)]
pub struct Enrolment {
    #[sqlx(try_from = "String")]
    pub course_id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub certificate_name: Option<String>,
    pub enrolled_at: String,
    pub completed_at: Option<String>,
    pub certificate_id: Option<String>,
}

const ENROLMENT_COLUMNS: &str =
    "course_id, user_id, certificate_name, enrolled_at, completed_at, certificate_id";

/// An issued certificate.
#[derive(Debug, sqlx::FromRow)]
pub struct Certificate {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub course_id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub holder_name: String,
    pub course_title: String,
    #[sqlx(try_from = "String")]
    pub instructor_id: Uuid,
    pub issued_at: String,
}

const CERTIFICATE_COLUMNS: &str =
    "id, course_id, user_id, holder_name, course_title, instructor_id, issued_at";

/// Filters of the course listing.
#[derive(Debug, Default)]
pub struct CourseFilter {
    pub instructor: Option<Uuid>,
    pub level: Option<String>,
    pub category: Option<String>,
    pub text: Option<String>,
    /// Who may see inactive courses: of this instructor only; `None`: every one (administrators).
    pub inactive_of: Option<Uuid>,
}

impl Store {
    pub async fn insert_course(
        &self,
        tx: &mut Tx,
        (id, instructor): (Uuid, Uuid),
        d: &CourseDraft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into courses (id, instructor_id, title, description, search_text, level, category, price_minor, \
             currency, duration_minutes, active, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            (
                id.to_string(),
                instructor.to_string(),
                &d.title,
                &d.description,
                search_text(d),
                &d.level,
                &d.category,
                d.price_minor,
                &d.currency,
                d.duration_minutes,
                i64::from(d.active),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn update_course(
        &self,
        tx: &mut Tx,
        id: Uuid,
        d: &CourseDraft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update courses set title = $2, description = $3, search_text = $4, level = $5, category = $6, \
             price_minor = $7, currency = $8, duration_minutes = $9, active = $10, updated_at = $11 where id = $1",
            (
                id.to_string(),
                &d.title,
                &d.description,
                search_text(d),
                &d.level,
                &d.category,
                d.price_minor,
                &d.currency,
                d.duration_minutes,
                i64::from(d.active),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn course(&self, id: Uuid) -> Result<Option<Course>, Error> {
        let sql = format!("select {COURSE_COLUMNS} from courses where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of courses, newest first, before the course `before`.
    pub async fn courses(
        &self,
        f: &CourseFilter,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Course>, Error> {
        let sql = format!(
            "select {COURSE_COLUMNS} from courses where ($1 = '' or id < $1) and ($2 = '' or instructor_id = $2) \
             and ($3 = '' or level = $3) and ($4 = '' or category = $4) \
             and ($5 = '' or search_text like $5 escape '\\') and ($6 = '' or active = 1 or instructor_id = $6) \
             order by id desc limit $7"
        );
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
        let params = (
            id(before),
            id(f.instructor),
            text(&f.level),
            text(&f.category),
            f.text.as_deref().map(contains).unwrap_or_default(),
            id(f.inactive_of),
            limit,
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    pub async fn delete_course(&self, tx: &mut Tx, id: Uuid) -> Result<bool, Error> {
        let done = query("delete from courses where id = $1", (id.to_string(),))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the course's row for the rest of the transaction: syllabus changes queue behind each other on
    /// PostgreSQL (SQLite writes one transaction at a time anyway). `course_not_found` when the course is gone.
    pub async fn lock_course(&self, tx: &mut Tx, id: Uuid) -> Result<(), Error> {
        let done = query(
            "update courses set updated_at = $2 where id = $1",
            (id.to_string(), agon_db::now_text()),
        )
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::CourseNotFound(id));
        }
        Ok(())
    }

    /// The course's lessons and assessments in order.
    pub async fn syllabus(&self, tx: Option<&mut Tx>, course: Uuid) -> Result<Vec<Step>, Error> {
        let sql = "select 'lesson' as kind, id, position, title, duration_minutes from lessons where course_id = $1 \
                   union all select 'assessment' as kind, id, position, title, duration_minutes from assessments \
                   where course_id = $1 order by position, kind, id";
        let q = query_as(sql, (course.to_string(),));
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// The next free position at the end of a course's syllabus (call with the course locked).
    pub async fn next_position(&self, tx: &mut Tx, course: Uuid) -> Result<i64, Error> {
        let row = query(
            "select coalesce(max(p), 0) + 1 as next from (select max(position) as p from lessons where course_id = $1 \
             union all select max(position) as p from assessments where course_id = $1) steps",
            (course.to_string(),),
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get("next")?)
    }

    /// Puts the steps in the given order (positions 1…n); call with the course locked.
    pub async fn reorder(&self, tx: &mut Tx, course: Uuid, steps: &[Step]) -> Result<(), Error> {
        for (i, step) in steps.iter().enumerate() {
            let table = if step.kind == "lesson" {
                "lessons"
            } else {
                "assessments"
            };
            let sql = format!("update {table} set position = $3 where id = $1 and course_id = $2");
            query(
                sqlx::AssertSqlSafe(sql),
                (step.id.to_string(), course.to_string(), i as i64 + 1),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    pub async fn insert_lesson(
        &self,
        tx: &mut Tx,
        (id, course): (Uuid, Uuid),
        position: i64,
        d: &LessonDraft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into lessons (id, course_id, position, title, content, media, duration_minutes, created_at, \
             updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            (
                id.to_string(),
                course.to_string(),
                position,
                &d.title,
                &d.content,
                serde_json::to_string(&d.media).unwrap_or_default(),
                d.duration_minutes,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn update_lesson(
        &self,
        tx: &mut Tx,
        id: Uuid,
        d: &LessonDraft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update lessons set title = $2, content = $3, media = $4, duration_minutes = $5, updated_at = $6 \
             where id = $1",
            (
                id.to_string(),
                &d.title,
                &d.content,
                serde_json::to_string(&d.media).unwrap_or_default(),
                d.duration_minutes,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The lesson `id` of the course `course`.
    pub async fn lesson(&self, course: Uuid, id: Uuid) -> Result<Option<Lesson>, Error> {
        let sql = format!("select {LESSON_COLUMNS} from lessons where id = $1 and course_id = $2");
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (id.to_string(), course.to_string()),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    pub async fn delete_lesson(&self, tx: &mut Tx, id: Uuid) -> Result<(), Error> {
        query("delete from lessons where id = $1", (id.to_string(),))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn enrolment(&self, course: Uuid, user: Uuid) -> Result<Option<Enrolment>, Error> {
        let sql = format!(
            "select {ENROLMENT_COLUMNS} from enrolments where course_id = $1 and user_id = $2"
        );
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (course.to_string(), user.to_string()),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    /// Enrols the member; true when the enrolment is new. Enrolling again only changes the certificate's name
    /// (when one is given).
    pub async fn enrol(
        &self,
        tx: &mut Tx,
        (course, user): (Uuid, Uuid),
        name: Option<&str>,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into enrolments (course_id, user_id, certificate_name, enrolled_at) values ($1, $2, $3, $4) \
             on conflict (course_id, user_id) do nothing",
            (course.to_string(), user.to_string(), name, now),
        )
        .execute(&mut **tx)
        .await
        .on_foreign_key(|| Error::CourseNotFound(course))?;
        if done.rows_affected() == 1 {
            query(
                "update courses set enrolled_count = enrolled_count + 1 where id = $1",
                (course.to_string(),),
            )
            .execute(&mut **tx)
            .await?;
            return Ok(true);
        }
        if name.is_some() {
            query(
                "update enrolments set certificate_name = $3 \
                 where course_id = $1 and user_id = $2 and completed_at is null",
                (course.to_string(), user.to_string(), name),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(false)
    }

    /// Ends an unfinished enrolment with its lesson progress; false when there was none to end.
    pub async fn leave(&self, tx: &mut Tx, course: Uuid, user: Uuid) -> Result<bool, Error> {
        let ids = (course.to_string(), user.to_string());
        let done = query(
            "delete from enrolments where course_id = $1 and user_id = $2 and completed_at is null",
            ids.clone(),
        )
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        query(
            "delete from lesson_progress where course_id = $1 and user_id = $2",
            ids,
        )
        .execute(&mut **tx)
        .await?;
        query(
            "update courses set enrolled_count = enrolled_count - 1 where id = $1",
            (course.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    /// A page of a course's enrolments, by member id after `after`.
    pub async fn enrolments(
        &self,
        course: Uuid,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Enrolment>, Error> {
        let sql = format!(
            "select {ENROLMENT_COLUMNS} from enrolments where course_id = $1 and ($2 = '' or user_id > $2) \
             order by user_id limit $3"
        );
        let after = after.map(|a| a.to_string()).unwrap_or_default();
        Ok(
            query_as(sqlx::AssertSqlSafe(sql), (course.to_string(), after, limit))
                .fetch_all(self.db.pool())
                .await?,
        )
    }

    /// The members enrolled in the course who have not completed it.
    pub async fn unfinished(&self, tx: &mut Tx, course: Uuid) -> Result<Vec<Uuid>, Error> {
        let rows = query(
            "select user_id from enrolments where course_id = $1 and completed_at is null",
            (course.to_string(),),
        )
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("user_id")?;
                Ok(id.parse().map_err(anyhow::Error::from)?)
            })
            .collect()
    }

    /// Takes the member's enrolment row for the rest of the transaction, so two steps finished at once are counted
    /// one after the other (and the course completes exactly once). False when not enrolled.
    pub async fn lock_enrolment(
        &self,
        tx: &mut Tx,
        course: Uuid,
        user: Uuid,
    ) -> Result<bool, Error> {
        let done = query(
            "update enrolments set enrolled_at = enrolled_at where course_id = $1 and user_id = $2",
            (course.to_string(), user.to_string()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a finished lesson; true when it is new.
    pub async fn complete_lesson(
        &self,
        tx: &mut Tx,
        (course, lesson, user): (Uuid, Uuid, Uuid),
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into lesson_progress (lesson_id, course_id, user_id, completed_at) values ($1, $2, $3, $4) \
             on conflict (lesson_id, user_id) do nothing",
            (lesson.to_string(), course.to_string(), user.to_string(), now),
        )
        .execute(&mut **tx)
        .await
        .on_foreign_key(|| Error::LessonNotFound(lesson))?;
        Ok(done.rows_affected() == 1)
    }

    /// The lessons the member finished and the assessments they passed, of one course.
    pub async fn progress(
        &self,
        tx: Option<&mut Tx>,
        course: Uuid,
        user: Uuid,
    ) -> Result<Vec<Done>, Error> {
        let sql = "select 'lesson' as kind, p.lesson_id as id from lesson_progress p \
                   join lessons l on l.id = p.lesson_id where p.course_id = $1 and p.user_id = $2 \
                   union select 'assessment' as kind, s.assessment_id as id from submissions s \
                   join assessments a on a.id = s.assessment_id \
                   where a.course_id = $1 and s.user_id = $2 and s.passed = 1";
        let q = query_as(sql, (course.to_string(), user.to_string()));
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// Where the member stands in the course, read inside the transaction that holds their enrolment.
    pub async fn standing(&self, tx: &mut Tx, course: Uuid, user: Uuid) -> Result<Standing, Error> {
        let steps = self.syllabus(Some(tx), course).await?;
        let done = self.progress(Some(tx), course, user).await?;
        let count = |kind: &str| steps.iter().filter(|s| s.kind == kind).count() as i64;
        let done_of = |kind: &str| done.iter().filter(|d| d.kind == kind).count() as i64;
        Ok(Standing {
            lessons: count("lesson"),
            lessons_done: done_of("lesson"),
            assessments: count("assessment"),
            assessments_passed: done_of("assessment"),
        })
    }

    /// Marks the enrolment complete and issues its certificate; false when it was complete already.
    pub async fn complete_course(
        &self,
        tx: &mut Tx,
        course: &Course,
        user: Uuid,
        certificate: Uuid,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update enrolments set completed_at = $3, certificate_id = $4 \
             where course_id = $1 and user_id = $2 and completed_at is null",
            (
                course.id.to_string(),
                user.to_string(),
                now,
                certificate.to_string(),
            ),
        )
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // The holder's chosen name, else their name as registered, else a neutral one.
        query(
            "insert into certificates (id, course_id, user_id, holder_name, course_title, instructor_id, issued_at) \
             select $1, $2, $3, coalesce(e.certificate_name, m.name, 'Club member'), $4, $5, $6 \
             from enrolments e left join members m on m.user_id = e.user_id \
             where e.course_id = $2 and e.user_id = $3",
            (
                certificate.to_string(),
                course.id.to_string(),
                user.to_string(),
                &course.title,
                course.instructor_id.to_string(),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    pub async fn certificate(&self, id: Uuid) -> Result<Option<Certificate>, Error> {
        let sql = format!("select {CERTIFICATE_COLUMNS} from certificates where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of the member's certificates, newest first.
    pub async fn certificates(
        &self,
        user: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Certificate>, Error> {
        let sql = format!(
            "select {CERTIFICATE_COLUMNS} from certificates where user_id = $1 and ($2 = '' or id < $2) \
             order by id desc limit $3"
        );
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        Ok(
            query_as(sqlx::AssertSqlSafe(sql), (user.to_string(), before, limit))
                .fetch_all(self.db.pool())
                .await?,
        )
    }

    /// Keeps a member's registered name, for their certificates.
    pub async fn remember_member(tx: &mut Tx, user: Uuid, name: &str) -> Result<(), Error> {
        query(
            "insert into members (user_id, name) values ($1, $2) \
             on conflict (user_id) do update set name = excluded.name",
            (user.to_string(), name),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

fn search_text(d: &CourseDraft) -> String {
    format!("{}\n{}", d.title, d.description).to_lowercase()
}
