//! All SQL of the trainings service.

use agon_db::{Db, Flag, JsonText, ResultExt, Row, Tx, query, query_as};
use uuid::Uuid;

use crate::{
    domain::{Draft, Goal},
    error::Error,
};

mod assessments;
mod courses;

pub use assessments::{Assessment, Submission};
pub use courses::{Certificate, Course, CourseFilter, Done, Enrolment, Lesson, Step};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A training as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Training {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub author_id: Uuid,
    pub title: String,
    pub description: String,
    pub kind: String,
    pub difficulty: i64,
    #[sqlx(try_from = "JsonText")]
    pub media: serde_json::Value,
    #[sqlx(try_from = "JsonText")]
    pub goals: serde_json::Value,
    #[sqlx(try_from = "Flag")]
    pub blocked: bool,
    pub score_total: i64,
    pub score_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Training {
    /// Its fields as its author wrote them.
    pub fn draft(&self) -> Draft {
        Draft {
            title: self.title.clone(),
            description: self.description.clone(),
            kind: self.kind.clone(),
            difficulty: self.difficulty,
            media: serde_json::from_value(self.media.clone()).unwrap_or_default(),
            goals: serde_json::from_value::<Vec<Goal>>(self.goals.clone()).unwrap_or_default(),
        }
    }
}

const COLUMNS: &str = "id, author_id, title, description, kind, difficulty, media, goals, blocked, score_total, \
                       score_count, created_at, updated_at";

/// Filters of a listing; `None` is "any".
#[derive(Debug, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub min_difficulty: i64,
    pub max_difficulty: i64,
    pub author: Option<Uuid>,
    /// Lowercased text the title or description contains.
    pub text: Option<String>,
    /// `Some(b)`: only blocked (`true`) or only unblocked (`false`); `None`: both.
    pub blocked: Option<bool>,
    /// Who may see blocked trainings: of this author only; `None`: every one (administrators).
    pub blocked_of: Option<Uuid>,
}

impl Filter {
    /// The conditions on `$2`…`$8` (`$1` is the listing's cursor). A filter that is set is written as a plain
    /// comparison, so the planner can use the `kind` and `author_id` indexes; one that is not still names its
    /// parameter (bound to a neutral value), so every statement binds the same eight.
    fn conditions(&self) -> String {
        let pick = |set: bool, on: &str, off: &str| if set { on } else { off }.to_owned();
        [
            pick(self.kind.is_some(), "kind = $2", "$2 = ''"),
            "difficulty >= $3 and difficulty <= $4".to_owned(),
            pick(self.author.is_some(), "author_id = $5", "$5 = ''"),
            pick(
                self.text.is_some(),
                "search_text like $6 escape '\\'",
                "$6 = ''",
            ),
            pick(self.blocked.is_some(), "blocked = $7", "$7 = -1"),
            pick(
                self.blocked_of.is_some(),
                "(blocked = 0 or author_id = $8)",
                "$8 = ''",
            ),
        ]
        .join(" and ")
    }

    fn params(&self) -> (String, i64, i64, String, String, i64, String) {
        (
            self.kind.clone().unwrap_or_default(),
            self.min_difficulty,
            self.max_difficulty,
            self.author.map(|a| a.to_string()).unwrap_or_default(),
            self.text.as_deref().map(contains).unwrap_or_default(),
            self.blocked.map_or(-1, i64::from),
            self.blocked_of.map(|v| v.to_string()).unwrap_or_default(),
        )
    }
}

/// What text search looks in: title and description, lowercased here so both engines compare alike (SQLite's
/// `lower` knows only ASCII).
fn search_text(d: &Draft) -> String {
    format!("{}\n{}", d.title, d.description).to_lowercase()
}

/// A `like` pattern for text containing `needle` literally.
pub(crate) fn contains(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn insert(
        &self,
        tx: &mut Tx,
        id: Uuid,
        author: Uuid,
        d: &Draft,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into trainings (id, author_id, title, title_key, description, kind, difficulty, media, goals, \
             created_at, updated_at, search_text) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            (
                id.to_string(),
                author.to_string(),
                &d.title,
                crate::domain::title_key(&d.title),
                &d.description,
                &d.kind,
                d.difficulty,
                serde_json::to_string(&d.media).unwrap_or_default(),
                serde_json::to_string(&d.goals).unwrap_or_default(),
                now,
                search_text(d),
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::TitleTaken(d.title.clone()))?;
        Ok(())
    }

    pub async fn update(&self, tx: &mut Tx, id: Uuid, d: &Draft, now: &str) -> Result<(), Error> {
        query(
            "update trainings set title = $2, title_key = $3, description = $4, kind = $5, difficulty = $6, \
             media = $7, goals = $8, updated_at = $9, search_text = $10 where id = $1",
            (
                id.to_string(),
                &d.title,
                crate::domain::title_key(&d.title),
                &d.description,
                &d.kind,
                d.difficulty,
                serde_json::to_string(&d.media).unwrap_or_default(),
                serde_json::to_string(&d.goals).unwrap_or_default(),
                now,
                search_text(d),
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::TitleTaken(d.title.clone()))?;
        Ok(())
    }

    pub async fn training(&self, id: Uuid) -> Result<Option<Training>, Error> {
        let sql = format!("select {COLUMNS} from trainings where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// A page of trainings matching `filter`, newest first, before the cursor `before` (an id).
    pub async fn search(
        &self,
        filter: &Filter,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Training>, Error> {
        let sql = format!(
            "select {COLUMNS} from trainings where {} and {} order by id desc limit $9",
            // As the filters: a plain range when there is a cursor, so a deep page starts where it should.
            if before.is_some() {
                "id < $1"
            } else {
                "$1 = ''"
            },
            filter.conditions()
        );
        let (kind, min, max, author, text, blocked, viewer) = filter.params();
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let params = (before, kind, min, max, author, text, blocked, viewer, limit);
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// How many trainings match `filter`.
    pub async fn count(&self, filter: &Filter) -> Result<i64, Error> {
        let sql = format!(
            "select count(*) as n from trainings where $1 = '' and {}",
            filter.conditions()
        );
        let (kind, min, max, author, text, blocked, viewer) = filter.params();
        let row = query(
            sqlx::AssertSqlSafe(sql),
            ("", kind, min, max, author, text, blocked, viewer),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn delete(&self, tx: &mut Tx, id: Uuid) -> Result<bool, Error> {
        let done = query("delete from trainings where id = $1", (id.to_string(),))
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the block; true when it changed.
    pub async fn set_blocked(
        &self,
        tx: &mut Tx,
        id: Uuid,
        blocked: bool,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update trainings set blocked = $2, updated_at = $3 where id = $1 and blocked <> $2",
            (id.to_string(), i64::from(blocked), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a favourite; true when it is new.
    pub async fn favourite(
        &self,
        tx: &mut Tx,
        user: Uuid,
        id: Uuid,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into favourites (user_id, training_id, created_at) values ($1, $2, $3) \
             on conflict (user_id, training_id) do nothing",
            (user.to_string(), id.to_string(), now),
        )
        .execute(&mut **tx)
        .await
        .on_foreign_key(|| Error::NotFound(id))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unfavourite(&self, user: Uuid, id: Uuid) -> Result<(), Error> {
        query(
            "delete from favourites where user_id = $1 and training_id = $2",
            (user.to_string(), id.to_string()),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The member's favourites that they may see (blocked ones only when theirs, or for an administrator), newest
    /// training first, before the training `before`.
    pub async fn favourites(
        &self,
        (user, admin): (Uuid, bool),
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Training>, Error> {
        let columns = COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "select {columns} from favourites f join trainings t on t.id = f.training_id \
             where f.user_id = $1 and ($2 = '' or t.id < $2) and (t.blocked = 0 or t.author_id = $1 or $4 = 1) \
             order by t.id desc limit $3"
        );
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (user.to_string(), before, limit, i64::from(admin)),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Removes a member's scores (taking them out of the averages), favourites and trainings; their enrolments
    /// (out of the courses' counts), progress, submissions and certificates; the courses and assessments they wrote.
    pub async fn forget(tx: &mut Tx, user: Uuid) -> Result<(), Error> {
        let user = user.to_string();
        // The enrolments go first, and the counts follow from exactly the rows that went.
        let left = query(
            "delete from enrolments where user_id = $1 returning course_id",
            (user.as_str(),),
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in left {
            let course: String = row.try_get("course_id")?;
            query(
                "update courses set enrolled_count = enrolled_count - 1 where id = $1",
                (course,),
            )
            .execute(&mut **tx)
            .await?;
        }
        query(
            "update trainings set \
             score_total = score_total - (select coalesce(sum(s.score), 0) from scores s \
                                          where s.training_id = trainings.id and s.user_id = $1), \
             score_count = score_count - (select count(*) from scores s \
                                          where s.training_id = trainings.id and s.user_id = $1) \
             where id in (select training_id from scores where user_id = $1)",
            (user.as_str(),),
        )
        .execute(&mut **tx)
        .await?;
        for sql in [
            "delete from scores where user_id = $1",
            "delete from favourites where user_id = $1",
            "delete from trainings where author_id = $1",
            "delete from lesson_progress where user_id = $1",
            "delete from submissions where user_id = $1",
            "delete from certificates where user_id = $1",
            "delete from members where user_id = $1",
            "delete from courses where instructor_id = $1",
            "delete from assessments where author_id = $1",
        ] {
            query(sql, (user.as_str(),)).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The member's score of a training, in hundredths, with its comment.
    pub async fn score(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<Option<(i64, Option<String>)>, Error> {
        let row = query(
            "select score, comment from scores where training_id = $1 and user_id = $2",
            (id.to_string(), user.to_string()),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("score")?, r.try_get("comment")?)))
            .transpose()?)
    }

    /// Sets the member's score (replacing theirs) and keeps the training's total and count with it.
    pub async fn put_score(
        &self,
        tx: &mut Tx,
        (user, id): (Uuid, Uuid),
        score: i64,
        comment: Option<&str>,
        now: &str,
    ) -> Result<(), Error> {
        // Takes the training's row first: on PostgreSQL two scores of one member for one training then queue
        // here instead of both reading the same previous score (SQLite transactions already write one at a time).
        let locked = query(
            "update trainings set score_count = score_count where id = $1",
            (id.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        if locked.rows_affected() == 0 {
            return Err(Error::NotFound(id));
        }
        let previous = query(
            "select score from scores where training_id = $1 and user_id = $2",
            (id.to_string(), user.to_string()),
        )
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<i64, _>("score"))
        .transpose()?;
        query(
            "insert into scores (training_id, user_id, score, comment, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5) on conflict (training_id, user_id) \
             do update set score = excluded.score, comment = excluded.comment, updated_at = excluded.updated_at",
            (id.to_string(), user.to_string(), score, comment, now),
        )
        .execute(&mut **tx)
        .await?;
        let (delta, added) = match previous {
            Some(old) => (score - old, 0_i64),
            None => (score, 1),
        };
        query(
            "update trainings set score_total = score_total + $2, score_count = score_count + $3 where id = $1",
            (id.to_string(), delta, added),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
