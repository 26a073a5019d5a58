//! All SQL of the targets service.

use agon_db::{Db, JsonText, Row, Tx, query, query_as};
use uuid::Uuid;

use crate::{domain::Draft, error::Error};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A target as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Target {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub owner_id: Uuid,
    pub name: String,
    pub description: String,
    pub metric: String,
    pub goal: f64,
    pub current: f64,
    #[sqlx(try_from = "agon_db::TimeText")]
    pub deadline: chrono::DateTime<chrono::Utc>,
    pub time_zone: String,
    #[sqlx(try_from = "JsonText")]
    pub media: serde_json::Value,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Target {
    pub fn draft(&self) -> Draft {
        Draft {
            name: self.name.clone(),
            description: self.description.clone(),
            metric: self.metric.clone(),
            goal: self.goal,
            current: self.current,
            deadline: self.deadline,
            time_zone: self.time_zone.clone(),
            media: serde_json::from_value(self.media.clone()).unwrap_or_default(),
        }
    }
}

/// A target a report completed.
#[derive(Debug, sqlx::FromRow)]
pub struct Completed {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
    pub metric: String,
    pub goal: f64,
    pub completed_at: Option<String>,
}

const COLUMNS: &str = "id, owner_id, name, description, metric, goal, current, deadline, time_zone, media, \
                       completed_at, created_at, updated_at";

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
        owner: Uuid,
        d: &Draft,
        now: &str,
    ) -> Result<(), Error> {
        // A target created at its goal is complete from the start.
        let completed = (d.current >= d.goal).then_some(now);
        query(
            "insert into targets (id, owner_id, name, description, metric, goal, current, deadline, time_zone, \
             media, completed_at, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            (
                id.to_string(),
                owner.to_string(),
                &d.name,
                &d.description,
                &d.metric,
                d.goal,
                d.current,
                agon_db::time_text(d.deadline),
                &d.time_zone,
                serde_json::to_string(&d.media).unwrap_or_default(),
                completed,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Saves an edit; `current` only when the owner set it — otherwise progress stays what the reports made it,
    /// even one that landed since the target was read. A completed target stays completed.
    pub async fn update(
        &self,
        tx: &mut Tx,
        id: Uuid,
        (d, current): (&Draft, Option<f64>),
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update targets set name = $2, description = $3, goal = $4, deadline = $6, time_zone = $7, \
             media = $8, updated_at = $9, \
             current = case when coalesce($5, current) > $4 then $4 else coalesce($5, current) end, \
             completed_at = coalesce(completed_at, case when coalesce($5, current) >= $4 then $9 end) \
             where id = $1 \
             returning case when completed_at = $9 then 1 else 0 end as just",
            (
                id.to_string(),
                &d.name,
                &d.description,
                d.goal,
                agon_db::Float(current),
                agon_db::time_text(d.deadline),
                &d.time_zone,
                serde_json::to_string(&d.media).unwrap_or_default(),
                now,
            ),
        )
        .fetch_optional(&mut **tx)
        .await?;
        Ok(done
            .map(|row| row.try_get::<i64, _>("just"))
            .transpose()?
            .unwrap_or(0)
            == 1)
    }

    pub async fn target(&self, id: Uuid) -> Result<Option<Target>, Error> {
        let sql = format!("select {COLUMNS} from targets where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// The owner's targets, newest first, before the cursor `before` (an id).
    pub async fn list(
        &self,
        owner: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Target>, Error> {
        let sql = format!(
            "select {COLUMNS} from targets where owner_id = $1 and ($2 = '' or id < $2) order by id desc limit $3"
        );
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        Ok(
            query_as(sqlx::AssertSqlSafe(sql), (owner.to_string(), before, limit))
                .fetch_all(self.db.pool())
                .await?,
        )
    }

    pub async fn delete(&self, id: Uuid) -> Result<(), Error> {
        query("delete from targets where id = $1", (id.to_string(),))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Records a report; `false` when the owner sent this client id before (a retry: nothing is applied again).
    pub async fn insert_report(
        &self,
        tx: &mut Tx,
        (id, owner): (Uuid, Uuid),
        client_id: Option<&str>,
        (metric, amount): (&str, f64),
        (at, now): (&str, &str),
    ) -> Result<bool, Error> {
        let done = query(
            "insert into reports (id, owner_id, client_id, metric, amount, at, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
            (
                id.to_string(),
                owner.to_string(),
                client_id,
                metric,
                amount,
                at,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds `amount` to the owner's open targets of `metric` whose deadline is after `at`, saturating at each
    /// goal; returns the targets this completed. One statement: on PostgreSQL concurrent reports queue on the
    /// rows and each sees the other's progress, so a target completes exactly once.
    pub async fn apply(
        &self,
        tx: &mut Tx,
        owner: Uuid,
        (metric, amount): (&str, f64),
        (at, now): (&str, &str),
    ) -> Result<Vec<Completed>, Error> {
        let rows = query_as::<Completed>(
            "update targets set \
             current = case when current + $3 >= goal then goal else current + $3 end, \
             completed_at = case when current + $3 >= goal then $5 else null end, updated_at = $5 \
             where owner_id = $1 and metric = $2 and completed_at is null and deadline > $4 \
             returning id, name, metric, goal, completed_at",
            (owner.to_string(), metric, amount, at, now),
        )
        .fetch_all(&mut **tx)
        .await?;
        // Every target the report moved answers; those it filled now carry their completion.
        Ok(rows
            .into_iter()
            .filter(|t| t.completed_at.is_some())
            .collect())
    }

    /// Sums of the owner's reports per metric with `from <= at < until`.
    pub async fn totals(
        &self,
        owner: Uuid,
        from: &str,
        until: &str,
    ) -> Result<Vec<(String, f64)>, Error> {
        let rows = query(
            "select metric, sum(amount) as total from reports where owner_id = $1 and at >= $2 and at < $3 \
             group by metric",
            (owner.to_string(), from, until),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("metric")?, r.try_get("total")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The owner's reports of `metric` with `from <= at < until`: when, and how much (a chart's raw points;
    /// at most a year of one member's reports).
    pub async fn reports(
        &self,
        owner: Uuid,
        metric: &str,
        from: &str,
        until: &str,
    ) -> Result<Vec<(String, f64)>, Error> {
        let rows = query(
            "select at, amount from reports where owner_id = $1 and metric = $2 and at >= $3 and at < $4",
            (owner.to_string(), metric, from, until),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("at")?, r.try_get("amount")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Forgets a deleted member's targets and reports.
    pub async fn forget(tx: &mut Tx, owner: Uuid) -> Result<(), Error> {
        for sql in [
            "delete from targets where owner_id = $1",
            "delete from reports where owner_id = $1",
        ] {
            query(sql, (owner.to_string(),)).execute(&mut **tx).await?;
        }
        Ok(())
    }
}
