//! The SQL of sending: notification rows, digests, queued deliveries and the provider worker's leases, and the
//! recipient projection (who exists, their email, roles and push tokens) kept from the auth and users events.

use agon_db::{Row, RowExt, Tx};
use uuid::Uuid;

use super::{Store, View};
use crate::{domain::Channel, send::Draft};

/// A member as sending sees them.
pub struct Recipient {
    pub user: Uuid,
    pub email: String,
    pub phone: Option<String>,
}

/// A delivery due to a provider, as read before its lease.
pub struct DueDelivery {
    pub id: String,
    pub channel: Option<Channel>,
    pub payload: String,
    pub attempts: i64,
    /// The `next_attempt_at` read: the lease moves it from exactly this value.
    pub seen: String,
}

/// A digest whose window closed, with its member's contact details.
pub struct DueDigest {
    pub user: Uuid,
    pub key: String,
    pub channel_text: String,
    pub count: i64,
    pub title: String,
    pub body: String,
    pub email: String,
    pub phone: Option<String>,
}

impl Store {
    /// Stores `view` for `user` inside `tx`; false when it was there already (a redelivered event).
    pub async fn insert_notification(tx: &mut Tx, user: Uuid, view: &View) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "insert into notifications (user_id, id, type, title, body, link, data, critical, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (user_id, id) do nothing",
        )
        .bind(user.to_string())
        .bind(view.id.to_string())
        .bind(&view.kind)
        .bind(&view.title)
        .bind(&view.body)
        .bind(view.link.clone())
        .bind(view.data.to_string())
        .bind(i64::from(view.critical))
        .bind(&view.created_at)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Adds `draft` to the member's open digest for its key and `channel`, due at `due` when it opens it.
    /// One row per member, key and channel: concurrent senders add to the same row.
    pub async fn add_to_digest(
        tx: &mut Tx,
        user: Uuid,
        key: &str,
        channel: Channel,
        draft: &Draft,
        due: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "insert into digests (user_id, digest_key, channel, type, count, title, body, due_at) \
             values ($1, $2, $3, $4, 1, $5, $6, $7) on conflict (user_id, digest_key, channel) \
             do update set count = digests.count + 1, title = excluded.title, body = excluded.body",
        )
        .bind(user.to_string())
        .bind(key)
        .bind(channel.as_str())
        .bind(draft.kind.name)
        .bind(&draft.title)
        .bind(&draft.body)
        .bind(due)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Queues one message for a provider.
    pub async fn queue_delivery(
        tx: &mut Tx,
        user: Uuid,
        channel: Channel,
        destination: &str,
        payload: &serde_json::Value,
        now: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "insert into deliveries (id, user_id, channel, destination, payload, status, attempts, next_attempt_at, created_at) \
             values ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(user.to_string())
        .bind(channel.as_str())
        .bind(destination)
        .bind(payload.to_string())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every known member, or those of `users` that are known.
    pub async fn recipients(tx: &mut Tx, users: Option<&[Uuid]>) -> anyhow::Result<Vec<Recipient>> {
        let rows = match users {
            None => {
                sqlx::query("select user_id, email, phone from recipients order by user_id")
                    .fetch_all(&mut **tx)
                    .await?
            }
            Some(users) => super::recipient_rows(tx, users, "user_id, email, phone").await?,
        };
        rows.iter()
            .map(|row| {
                Ok(Recipient {
                    user: row.id("user_id")?,
                    email: row.try_get("email")?,
                    phone: row.try_get("phone")?,
                })
            })
            .collect()
    }

    /// Every member's stored choices for the notification type `kind`: (member, channel, enabled).
    pub async fn choices(tx: &mut Tx, kind: &str) -> anyhow::Result<Vec<(Uuid, String, bool)>> {
        let rows = sqlx::query("select user_id, channel, enabled from preferences where type = $1")
            .bind(kind)
            .fetch_all(&mut **tx)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.id("user_id")?,
                    row.try_get("channel")?,
                    row.try_get::<i64, _>("enabled")? != 0,
                ))
            })
            .collect()
    }

    /// The member's push tokens.
    pub async fn push_tokens(tx: &mut Tx, user: Uuid) -> anyhow::Result<Vec<String>> {
        let rows = sqlx::query("select token from push_tokens where user_id = $1 order by token")
            .bind(user.to_string())
            .fetch_all(&mut **tx)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("token")?)).collect()
    }

    /// Up to `limit` pending deliveries due at `now`, the most overdue first.
    pub async fn due_deliveries(&self, now: &str, limit: i64) -> anyhow::Result<Vec<DueDelivery>> {
        let rows = sqlx::query(
            "select id, channel, payload, attempts, next_attempt_at from deliveries \
             where status = 'pending' and next_attempt_at <= $1 order by next_attempt_at limit $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    id: row.try_get("id")?,
                    channel: Channel::parse(&row.try_get::<String, _>("channel")?),
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                    seen: row.try_get("next_attempt_at")?,
                })
            })
            .collect()
    }

    /// Takes the lease of a delivery until `until`: whoever moves `next_attempt_at` from what it read owns
    /// this attempt. False when another replica was first.
    pub async fn lease(&self, d: &DueDelivery, until: &str) -> anyhow::Result<bool> {
        let moved = sqlx::query(
            "update deliveries set next_attempt_at = $3 where id = $1 and next_attempt_at = $2 and status = 'pending'",
        )
        .bind(&d.id)
        .bind(&d.seen)
        .bind(until)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    pub async fn delivered(&self, id: &str, attempts: i64, now: &str) -> anyhow::Result<()> {
        sqlx::query(
            "update deliveries set status = 'sent', attempts = $2, sent_at = $3, last_error = null where id = $1",
        )
        .bind(id)
        .bind(attempts)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `next`, or `failed` for good.
    pub async fn not_delivered(
        &self,
        id: &str,
        failed: bool,
        attempts: i64,
        next: &str,
        error: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "update deliveries set status = $2, attempts = $3, next_attempt_at = $4, last_error = $5 where id = $1",
        )
        .bind(id)
        .bind(if failed { "failed" } else { "pending" })
        .bind(attempts)
        .bind(next)
        .bind(error)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Up to `limit` digests due at `now`, with their members' contact details.
    pub async fn due_digests(&self, now: &str, limit: i64) -> anyhow::Result<Vec<DueDigest>> {
        let rows = sqlx::query(
            "select d.user_id, d.digest_key, d.channel, d.count, d.title, d.body, r.email, r.phone \
             from digests d join recipients r on r.user_id = d.user_id where d.due_at <= $1 limit $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DueDigest {
                    user: row.id("user_id")?,
                    key: row.try_get("digest_key")?,
                    channel_text: row.try_get("channel")?,
                    count: row.try_get("count")?,
                    title: row.try_get("title")?,
                    body: row.try_get("body")?,
                    email: row.try_get("email")?,
                    phone: row.try_get("phone")?,
                })
            })
            .collect()
    }

    /// Deletes exactly the digest that was read; false when a message was added meanwhile (its count changed),
    /// and it waits for the next round.
    pub async fn take_digest(tx: &mut Tx, d: &DueDigest) -> anyhow::Result<bool> {
        let deleted = sqlx::query(
            "delete from digests where user_id = $1 and digest_key = $2 and channel = $3 and count = $4",
        )
        .bind(d.user.to_string())
        .bind(&d.key)
        .bind(&d.channel_text)
        .bind(d.count)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(deleted == 1)
    }

    /// A new member: known from now on (a second delivery changes nothing).
    pub async fn add_recipient(
        tx: &mut Tx,
        user: Uuid,
        email: &str,
        display_name: Option<&str>,
        roles: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "insert into recipients (user_id, email, display_name, roles, created_at) values ($1, $2, $3, $4, $5) \
             on conflict (user_id) do nothing",
        )
        .bind(user.to_string())
        .bind(email)
        .bind(display_name.map(str::to_owned))
        .bind(roles)
        .bind(agon_db::now_text())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn set_roles(tx: &mut Tx, user: Uuid, roles: &str) -> anyhow::Result<()> {
        sqlx::query("update recipients set roles = $2 where user_id = $1")
            .bind(user.to_string())
            .bind(roles)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The member's device: its push token, taken from any earlier owner.
    pub async fn put_push_token(
        tx: &mut Tx,
        user: Uuid,
        token: &str,
        platform: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "insert into push_tokens (token, user_id, platform, created_at) values ($1, $2, $3, $4) \
             on conflict (token) do update set user_id = excluded.user_id, platform = excluded.platform",
        )
        .bind(token)
        .bind(user.to_string())
        .bind(platform)
        .bind(agon_db::now_text())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn remove_push_token(tx: &mut Tx, user: Uuid, token: &str) -> anyhow::Result<()> {
        sqlx::query("delete from push_tokens where token = $1 and user_id = $2")
            .bind(token)
            .bind(user.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
