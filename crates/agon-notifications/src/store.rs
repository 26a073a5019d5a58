//! All SQL of the notifications service, written once for SQLite and PostgreSQL: the members' inboxes and
//! preferences here, sending and the recipient projection in `outgoing`.

use agon_db::{AnyRow, Db, Row, RowExt, Tx};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Error;

mod outgoing;

pub use outgoing::{DueDelivery, Recipient};

/// A notification as its recipient sees it (over HTTP and the WebSocket).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct View {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// A security notice: delivered whatever the preferences.
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from notifications where user_id = $1 and ($2 = 0 or read_at is null) \
             and ($3 is null or id < $3) order by id desc limit $4"
        )))
        .bind(user.to_string())
        .bind(i64::from(unread_only))
        .bind(before.map(str::to_owned))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(view).collect()
    }

    /// What the member missed since `after` (an id), oldest first: the WebSocket resume.
    pub async fn since(&self, user: Uuid, after: Uuid, limit: i64) -> Result<Vec<View>, Error> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from notifications where user_id = $1 and id > $2 order by id limit $3"
        )))
        .bind(user.to_string())
        .bind(after.to_string())
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(view).collect()
    }

    pub async fn get(&self, user: Uuid, id: Uuid) -> Result<View, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from notifications where user_id = $1 and id = $2"
        )))
        .bind(user.to_string())
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(Error::NotFound)?;
        view(&row)
    }

    pub async fn unread(&self, user: Uuid) -> Result<i64, Error> {
        let row = sqlx::query(
            "select count(*) as n from notifications where user_id = $1 and read_at is null",
        )
        .bind(user.to_string())
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Marks one notification read (keeping the first read time); false if it does not exist.
    pub async fn mark_read(&self, user: Uuid, id: Uuid, now: &str) -> Result<bool, Error> {
        let done = sqlx::query(
            "update notifications set read_at = coalesce(read_at, $3) where user_id = $1 and id = $2",
        )
        .bind(user.to_string())
        .bind(id.to_string())
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn mark_all_read(&self, user: Uuid, now: &str) -> Result<u64, Error> {
        let done = sqlx::query(
            "update notifications set read_at = $2 where user_id = $1 and read_at is null",
        )
        .bind(user.to_string())
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete(&self, user: Uuid, id: Uuid) -> Result<bool, Error> {
        let done = sqlx::query("delete from notifications where user_id = $1 and id = $2")
            .bind(user.to_string())
            .bind(id.to_string())
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The member's stored choices: (type, channel, enabled).
    pub async fn preferences(&self, user: Uuid) -> Result<Vec<(String, String, bool)>, Error> {
        let rows = sqlx::query(
            "select type, channel, enabled from preferences where user_id = $1 order by type, channel",
        )
        .bind(user.to_string())
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
            sqlx::query(
                "insert into preferences (user_id, type, channel, enabled) values ($1, $2, $3, $4) \
                 on conflict (user_id, type, channel) do update set enabled = excluded.enabled",
            )
            .bind(user.to_string())
            .bind(*kind)
            .bind(*channel)
            .bind(i64::from(*enabled))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The SMS number of a member; `None` if the member is unknown here.
    pub async fn phone(&self, user: Uuid) -> Result<Option<Option<String>>, Error> {
        let row = sqlx::query("select phone from recipients where user_id = $1")
            .bind(user.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| r.try_get("phone"))
            .transpose()
            .map_err(Into::into)
    }

    pub async fn set_phone(&self, user: Uuid, phone: Option<&str>) -> Result<bool, Error> {
        let done = sqlx::query("update recipients set phone = $2 where user_id = $1")
            .bind(user.to_string())
            .bind(phone.map(str::to_owned))
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which of `users` are known here.
    pub async fn known(&self, users: &[Uuid]) -> Result<Vec<Uuid>, Error> {
        let mut conn = self.db.pool().acquire().await?;
        recipient_rows(&mut conn, users, "user_id")
            .await?
            .iter()
            .map(|row| Ok(row.id("user_id")?))
            .collect()
    }

    /// Deliveries to the HTTP providers, newest first, optionally by status.
    pub async fn deliveries(
        &self,
        status: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Delivery>, Error> {
        let rows = sqlx::query(
            "select id, user_id, channel, destination, status, attempts, last_error, created_at, sent_at \
             from deliveries where ($1 is null or status = $1) and ($2 is null or id < $2) \
             order by id desc limit $3",
        )
        .bind(status.map(str::to_owned))
        .bind(before.map(str::to_owned))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: r.id("id")?,
                    user_id: r.id("user_id")?,
                    channel: r.try_get("channel")?,
                    destination: r.try_get("destination")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get("attempts")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    sent_at: r.try_get("sent_at")?,
                })
            })
            .collect()
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
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "delete from {table} where user_id = $1"
            )))
            .bind(user.to_string())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// The `recipients` rows (`columns`) of `users`; unknown ones are absent. One query per 500 ids.
async fn recipient_rows(
    conn: &mut sqlx::AnyConnection,
    users: &[Uuid],
    columns: &str,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut rows = Vec::with_capacity(users.len());
    for chunk in users.chunks(500) {
        let list = chunk
            .iter()
            .map(|u| format!("'{u}'"))
            .collect::<Vec<_>>()
            .join(",");
        // Ids are formatted from parsed UUIDs: nothing but hex digits and dashes reaches the SQL.
        rows.extend(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "select {columns} from recipients where user_id in ({list})"
            )))
            .fetch_all(&mut *conn)
            .await?,
        );
    }
    Ok(rows)
}

/// A message to an SMS or push provider and how it went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
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

fn view(row: &AnyRow) -> Result<View, Error> {
    Ok(View {
        id: row.id("id")?,
        kind: row.try_get("type")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        link: row.try_get("link")?,
        data: row.json("data")?,
        critical: row.try_get::<i64, _>("critical")? != 0,
        created_at: row.try_get("created_at")?,
        read_at: row.try_get("read_at")?,
    })
}
