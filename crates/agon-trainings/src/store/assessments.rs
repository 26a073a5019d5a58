//! All SQL of assessments and their submissions.

use agon_db::{Flag, JsonText, Row, Tx, query, query_as};
use uuid::Uuid;

use super::Store;
use crate::{
    courses::{AssessmentDraft, Outcome, Question},
    error::Error,
};

/// An assessment as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Assessment {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub course_id: Option<Uuid>,
    /// The course's instructor, for an assessment of a course.
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub instructor_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub author_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub difficulty: String,
    pub duration_minutes: i64,
    pub pass_mark: i64,
    #[sqlx(try_from = "JsonText")]
    pub questions: serde_json::Value,
    pub submission_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Assessment {
    pub fn questions(&self) -> Vec<Question> {
        serde_json::from_value(self.questions.clone()).unwrap_or_default()
    }
}

/// An assessment with its course's instructor: `from assessments a left join courses c on c.id = a.course_id`.
const COLUMNS: &str = "a.id, a.course_id, c.instructor_id, a.author_id, a.title, a.description, a.category, \
                       a.difficulty, a.duration_minutes, a.pass_mark, a.questions, a.submission_count, a.created_at, \
                       a.updated_at";
const FROM: &str = "assessments a left join courses c on c.id = a.course_id";

/// A scored attempt.
#[derive(Debug, sqlx::FromRow)]
pub struct Submission {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub assessment_id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    #[sqlx(try_from = "JsonText")]
    pub answers: serde_json::Value,
    pub score: i64,
    pub total: i64,
    #[sqlx(try_from = "Flag")]
    pub passed: bool,
    pub submitted_at: String,
}

const SUBMISSION_COLUMNS: &str =
    "id, assessment_id, user_id, answers, score, total, passed, submitted_at";

impl Store {
    pub async fn insert_assessment(
        &self,
        tx: &mut Tx,
        (id, author): (Uuid, Uuid),
        place: Option<(Uuid, i64)>,
        d: &AssessmentDraft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into assessments (id, course_id, position, author_id, title, description, category, difficulty, \
             duration_minutes, pass_mark, questions, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            (
                id.to_string(),
                place.map(|p| p.0.to_string()),
                place.map(|p| p.1),
                author.to_string(),
                &d.title,
                &d.description,
                &d.category,
                &d.difficulty,
                d.duration_minutes,
                d.pass_mark,
                serde_json::to_string(&d.questions).unwrap_or_default(),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Replaces an assessment's content while nobody has submitted to it; false once someone has (their scores
    /// would no longer match the questions).
    pub async fn replace_assessment(
        &self,
        tx: &mut Tx,
        id: Uuid,
        d: &AssessmentDraft,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update assessments set title = $2, description = $3, category = $4, difficulty = $5, \
             duration_minutes = $6, pass_mark = $7, questions = $8, updated_at = $9 \
             where id = $1 and submission_count = 0",
            (
                id.to_string(),
                &d.title,
                &d.description,
                &d.category,
                &d.difficulty,
                d.duration_minutes,
                d.pass_mark,
                serde_json::to_string(&d.questions).unwrap_or_default(),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn assessment(&self, id: Uuid) -> Result<Option<Assessment>, Error> {
        let sql = format!("select {COLUMNS} from {FROM} where a.id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of assessments, newest first — of one course, of one author, or all — that `viewer` may see:
    /// standing alone, or of a course that is active or theirs (`None`: every one, for administrators).
    pub async fn assessments(
        &self,
        (course, author, viewer): (Option<Uuid>, Option<Uuid>, Option<Uuid>),
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Assessment>, Error> {
        let sql = format!(
            "select {COLUMNS} from {FROM} where ($1 = '' or a.id < $1) and ($2 = '' or a.course_id = $2) \
             and ($3 = '' or a.author_id = $3) \
             and ($5 = '' or a.course_id is null or c.active = 1 or c.instructor_id = $5) \
             order by a.id desc limit $4"
        );
        let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (id(before), id(course), id(author), limit, id(viewer)),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Takes the assessment for a submission: counts the attempt (freezing the questions) while holding its row,
    /// and returns the questions and pass mark as they are now; none when it is gone.
    pub async fn take_assessment(
        &self,
        tx: &mut Tx,
        id: Uuid,
    ) -> Result<Option<(Vec<Question>, i64)>, Error> {
        let row = query(
            "update assessments set submission_count = submission_count + 1 where id = $1 \
             returning questions, pass_mark",
            (id.to_string(),),
        )
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let questions: String = row.try_get("questions")?;
        let questions = serde_json::from_str(&questions).map_err(anyhow::Error::from)?;
        Ok(Some((questions, row.try_get("pass_mark")?)))
    }

    pub async fn delete_assessment(&self, tx: &mut Tx, id: Uuid) -> Result<(), Error> {
        query("delete from assessments where id = $1", (id.to_string(),))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Records a scored attempt (after [`Store::take_assessment`] in the same transaction).
    pub async fn insert_submission(
        &self,
        tx: &mut Tx,
        (id, assessment, user): (Uuid, Uuid, Uuid),
        answers: &serde_json::Value,
        outcome: Outcome,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into submissions (id, assessment_id, user_id, answers, score, total, passed, submitted_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
            (
                id.to_string(),
                assessment.to_string(),
                user.to_string(),
                answers.to_string(),
                outcome.score,
                outcome.total,
                i64::from(outcome.passed),
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A page of an assessment's submissions, newest first: everyone's, or one member's.
    pub async fn submissions(
        &self,
        (assessment, user): (Uuid, Option<Uuid>),
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Submission>, Error> {
        let sql = format!(
            "select {SUBMISSION_COLUMNS} from submissions where assessment_id = $1 and ($2 = '' or user_id = $2) \
             and ($3 = '' or id < $3) order by id desc limit $4"
        );
        let id = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (assessment.to_string(), id(user), id(before), limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }
}
