//! All SQL of the notifications service, written once for SQLite and PostgreSQL: the members' inboxes and
//! preferences here, sending and the recipient projection in `outgoing`.

use std::collections::BTreeMap;

use agon_db::{Db, Row, Tx, query, query_as};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Error;

/// Counts for administrators: notifications by read state and type, provider deliveries by channel and state.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Stats {
    pub total: i64,
    /// `read` and `unread`.
    pub by_status: BTreeMap<String, i64>,
    /// By notification type (`session_booked`, `broadcast`, …).
    pub by_type: BTreeMap<String, i64>,
    /// SMS and push messages by state (`pending`, `sent`, `failed`).
    pub deliveries: BTreeMap<String, BTreeMap<String, i64>>,
}

mod outgoing;

pub use outgoing::{DueDelivery, Recipient};

/// A notification as its recipient sees it (over HTTP and the WebSocket).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct View {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Object)]
    #[sqlx(try_from = "agon_db::JsonText")]
    pub data: serde_json::Value,
    /// A security notice: delivered whatever the preferences.
    #[sqlx(try_from = "agon_db::Flag")]
    pub critical: bool,
    pub created_at: String,
    pub read_at: Option<String>,
}

const COLUMNS: &str = "id, type, title, body, link, data, critical, created_at, read_at";

#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The member's notifications, newest first, after the cursor `before` (an id).
    pub async fn list(
        &self,
        user: Uuid,
        unread_only: bool,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<View>, Error> {
        let sql = format!(
            "select {COLUMNS} from notifications where user_id = $1 and ($2 = 0 or read_at is null) \
             and ($3 is null or id < $3) order by id desc limit $4"
        );
        let params = (user.to_string(), i64::from(unread_only), before, limit);
        Ok(query_as(AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// What the member missed since `after` (an id), oldest first: the WebSocket resume.
    pub async fn since(&self, user: Uuid, after: Uuid, limit: i64) -> Result<Vec<View>, Error> {
        let sql = format!(
            "select {COLUMNS} from notifications where user_id = $1 and id > $2 order by id limit \
             $3"
        );
        let params = (user.to_string(), after.to_string(), limit);
        Ok(query_as(AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    pub async fn get(&self, user: Uuid, id: Uuid) -> Result<View, Error> {
        let sql = format!("select {COLUMNS} from notifications where user_id = $1 and id = $2");
        query_as(AssertSqlSafe(sql), (user.to_string(), id.to_string()))
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(Error::NotFound)
    }

    pub async fn unread(&self, user: Uuid) -> Result<i64, Error> {
        let row = query(
            "select count(*) as n from notifications where user_id = $1 and read_at is null",
            (user.to_string(),),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Counts over every member's notifications and the providers' deliveries (administrators' stats): one
    /// grouped scan of each table.
    pub async fn stats(&self) -> Result<Stats, Error> {
        let pool = self.db.pool();
        let mut stats = Stats::default();
        let rows = query(
            "select type, case when read_at is null then 'unread' else 'read' end as status, count(*) as n \
             from notifications group by 1, 2",
            (),
        )
        .fetch_all(pool)
        .await?;
        for row in rows {
            let (kind, status, n): (String, String, i64) = (
                row.try_get("type")?,
                row.try_get("status")?,
                row.try_get("n")?,
            );
            stats.total += n;
            *stats.by_status.entry(status).or_default() += n;
            *stats.by_type.entry(kind).or_default() += n;
        }
        let rows = query(
            "select channel, status, count(*) as n from deliveries group by channel, status",
            (),
        )
        .fetch_all(pool)
        .await?;
        for row in rows {
            let (channel, status): (String, String) =
                (row.try_get("channel")?, row.try_get("status")?);
            let by_status = stats.deliveries.entry(channel).or_default();
            by_status.insert(status, row.try_get("n")?);
        }
        Ok(stats)
    }

    /// Marks one notification read (keeping the first read time); false if it does not exist.
    pub async fn mark_read(&self, user: Uuid, id: Uuid, now: &str) -> Result<bool, Error> {
        let done = query(
            "update notifications set read_at = coalesce(read_at, $3) where user_id = $1 and id = \
             $2",
            (user.to_string(), id.to_string(), now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn mark_all_read(&self, user: Uuid, now: &str) -> Result<u64, Error> {
        let done = query(
            "update notifications set read_at = $2 where user_id = $1 and read_at is null",
            (user.to_string(), now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete(&self, user: Uuid, id: Uuid) -> Result<bool, Error> {
        let done = query(
            "delete from notifications where user_id = $1 and id = $2",
            (user.to_string(), id.to_string()),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The member's stored choices: (type, channel, enabled).
    pub async fn preferences(&self, user: Uuid) -> Result<Vec<(String, String, bool)>, Error> {
        let rows = query(
            "select type, channel, enabled from preferences where user_id = $1 order by type, \
             channel",
            (user.to_string(),),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("type")?,
                    r.try_get("channel")?,
                    r.try_get::<i64, _>("enabled")? != 0,
                ))
            })
            .collect()
    }

    pub async fn set_preferences(
        &self,
        user: Uuid,
        choices: &[(&str, &str, bool)],
    ) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        for (kind, channel, enabled) in choices {
            query(
                "insert into preferences (user_id, type, channel, enabled) values ($1, $2, $3, $4) \
                 on conflict (user_id, type, channel) do update set enabled = excluded.enabled",
                (user.to_string(), *kind, *channel, i64::from(*enabled)),
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The SMS number of a member; `None` if the member is unknown here.
    pub async fn phone(&self, user: Uuid) -> Result<Option<Option<String>>, Error> {
        let row = query(
            "select phone from recipients where user_id = $1",
            (user.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| r.try_get("phone"))
            .transpose()
            .map_err(Into::into)
    }

    pub async fn set_phone(&self, user: Uuid, phone: Option<&str>) -> Result<bool, Error> {
        let done = query(
            "update recipients set phone = $2 where user_id = $1",
            (user.to_string(), phone.map(str::to_owned)),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which of `users` are known here.
    pub async fn known(&self, users: &[Uuid]) -> Result<Vec<Uuid>, Error> {
        let mut conn = self.db.pool().acquire().await?;
        let known = recipients_of(&mut conn, users).await?;
        Ok(known.into_iter().map(|r| r.user).collect())
    }

    /// Deliveries to the HTTP providers, newest first, optionally by status.
    pub async fn deliveries(
        &self,
        status: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, Error> {
        Ok(query_as(
            "select id, user_id, channel, destination, status, attempts, last_error, created_at, sent_at \
             from deliveries where ($1 is null or status = $1) and ($2 is null or id < $2) \
             order by id desc limit $3",
            (status, before, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Forgets everything about a deleted member.
    pub async fn forget_in(tx: &mut Tx, user: Uuid) -> anyhow::Result<()> {
        for table in [
            "notifications",
            "preferences",
            "push_tokens",
            "deliveries",
            "digests",
            "recipients",
        ] {
            query(
                sqlx::AssertSqlSafe(format!("delete from {table} where user_id = $1")),
                (user.to_string(),),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// The known members among `users`; unknown ones are absent. One query per 500 ids.
async fn recipients_of(
    conn: &mut sqlx::AnyConnection,
    users: &[Uuid],
) -> Result<Vec<Recipient>, sqlx::Error> {
    let mut found = Vec::with_capacity(users.len());
    for chunk in users.chunks(500) {
        let list = chunk
            .iter()
            .map(|u| format!("'{u}'"))
            .collect::<Vec<_>>()
            .join(",");
        // Ids are formatted from parsed UUIDs: nothing but hex digits and dashes reaches the SQL.
        let sql = format!("select user_id, email, phone from recipients where user_id in ({list})");
        found.extend(
            query_as(AssertSqlSafe(sql), ())
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(found)
}

/// A message to an SMS or push provider and how it went.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    pub channel: String,
    pub destination: String,
    /// `pending`, `sent` or `failed` (gave up after the last attempt).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}
