//! The SQL of sending: notification rows, digests, queued deliveries and the provider worker's leases, and the
//! recipient projection (who exists, their email, roles and push tokens) kept from the auth and users events.

use agon_db::{Tx, query, query_as};
use uuid::Uuid;

use super::{Store, View};
use crate::{domain::Channel, send::Draft};

/// A member as sending sees them.
#[derive(sqlx::FromRow)]
pub struct Recipient {
    #[sqlx(rename = "user_id", try_from = "String")]
    pub user: Uuid,
    /// None for a member who signed up with a username alone.
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A delivery due to a provider, as read before its lease.
#[derive(sqlx::FromRow)]
pub struct DueDelivery {
    pub id: String,
    pub channel: String,
    pub payload: String,
    pub attempts: i64,
    /// The `next_attempt_at` read: the lease moves it from exactly this value.
    #[sqlx(rename = "next_attempt_at")]
    pub seen: String,
}

/// A member's stored choice for one channel of a notification type.
#[derive(sqlx::FromRow)]
pub struct Choice {
    #[sqlx(rename = "user_id", try_from = "String")]
    pub user: Uuid,
    pub channel: String,
    #[sqlx(try_from = "agon_db::Flag")]
    pub enabled: bool,
}

/// A digest whose window closed, with its member's contact details.
#[derive(sqlx::FromRow)]
pub struct DueDigest {
    #[sqlx(rename = "user_id", try_from = "String")]
    pub user: Uuid,
    #[sqlx(rename = "digest_key")]
    pub key: String,
    #[sqlx(rename = "channel")]
    pub channel_text: String,
    pub count: i64,
    pub title: String,
    pub body: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Store {
    /// Stores `view` for `user` inside `tx`; false when it was there already (a redelivered event).
    pub async fn insert_notification(tx: &mut Tx, user: Uuid, view: &View) -> anyhow::Result<bool> {
        let inserted = query(
            "insert into notifications (user_id, id, type, title, body, link, data, critical, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (user_id, id) do nothing",
            (
                user.to_string(),
                view.id.to_string(),
                &view.kind,
                &view.title,
                &view.body,
                view.link.clone(),
                view.data.to_string(),
                i64::from(view.critical),
                &view.created_at,
            ),
        )
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
        query(
            "insert into digests (user_id, digest_key, channel, type, count, title, body, due_at) \
             values ($1, $2, $3, $4, 1, $5, $6, $7) on conflict (user_id, digest_key, channel) \
             do update set count = digests.count + 1, title = excluded.title, body = excluded.body",
            (
                user.to_string(),
                key,
                channel.as_str(),
                draft.kind.name,
                &draft.title,
                &draft.body,
                due,
            ),
        )
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
        let id = Uuid::now_v7().to_string();
        let (user, payload) = (user.to_string(), payload.to_string());
        query(
            "insert into deliveries (id, user_id, channel, destination, payload, status, attempts, \
             next_attempt_at, created_at) values ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
            (id, user, channel.as_str(), destination, payload, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every known member, or those of `users` that are known.
    pub async fn recipients(tx: &mut Tx, users: Option<&[Uuid]>) -> anyhow::Result<Vec<Recipient>> {
        Ok(match users {
            None => {
                query_as(
                    "select user_id, email, phone from recipients order by user_id",
                    (),
                )
                .fetch_all(&mut **tx)
                .await?
            }
            Some(users) => super::recipients_of(tx, users).await?,
        })
    }

    /// Every member's stored choices for the notification type `kind`.
    pub async fn choices(tx: &mut Tx, kind: &str) -> anyhow::Result<Vec<Choice>> {
        let sql = "select user_id, channel, enabled from preferences where type = $1";
        Ok(query_as(sql, (kind,)).fetch_all(&mut **tx).await?)
    }

    /// The member's push tokens.
    pub async fn push_tokens(tx: &mut Tx, user: Uuid) -> anyhow::Result<Vec<String>> {
        let sql = "select token from push_tokens where user_id = $1 order by token";
        let rows: Vec<(String,)> = query_as(sql, (user.to_string(),))
            .fetch_all(&mut **tx)
            .await?;
        Ok(rows.into_iter().map(|(token,)| token).collect())
    }

    /// Up to `limit` pending deliveries due at `now`, the most overdue first.
    pub async fn due_deliveries(&self, now: &str, limit: i64) -> anyhow::Result<Vec<DueDelivery>> {
        Ok(query_as(
            "select id, channel, payload, attempts, next_attempt_at from deliveries \
             where status = 'pending' and next_attempt_at <= $1 order by next_attempt_at limit $2",
            (now, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Takes the lease of a delivery until `until`: whoever moves `next_attempt_at` from what it read owns
    /// this attempt. False when another replica was first.
    pub async fn lease(&self, d: &DueDelivery, until: &str) -> anyhow::Result<bool> {
        let moved = query(
            "update deliveries set next_attempt_at = $3 where id = $1 and next_attempt_at = $2 and \
             status = 'pending'",
            (&d.id, &d.seen, until),
        )
        .execute(self.db.pool())
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    pub async fn delivered(&self, id: &str, attempts: i64, now: &str) -> anyhow::Result<()> {
        query(
            "update deliveries set status = 'sent', attempts = $2, sent_at = $3, last_error = null \
             where id = $1",
            (id, attempts, now),
        )
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
        query(
            "update deliveries set status = $2, attempts = $3, next_attempt_at = $4, last_error = \
             $5 where id = $1",
            (
                id,
                if failed { "failed" } else { "pending" },
                attempts,
                next,
                error,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Up to `limit` digests due at `now`, with their members' contact details.
    pub async fn due_digests(&self, now: &str, limit: i64) -> anyhow::Result<Vec<DueDigest>> {
        Ok(query_as(
            "select d.user_id, d.digest_key, d.channel, d.count, d.title, d.body, r.email, r.phone \
             from digests d join recipients r on r.user_id = d.user_id where d.due_at <= $1 limit $2",
            (now, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Deletes exactly the digest that was read; false when a message was added meanwhile (its count changed),
    /// and it waits for the next round.
    pub async fn take_digest(tx: &mut Tx, d: &DueDigest) -> anyhow::Result<bool> {
        let deleted = query(
            "delete from digests where user_id = $1 and digest_key = $2 and channel = $3 and count \
             = $4",
            (d.user.to_string(), &d.key, &d.channel_text, d.count),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(deleted == 1)
    }

    /// A new member: known from now on (a second delivery changes nothing).
    pub async fn add_recipient(
        tx: &mut Tx,
        user: Uuid,
        email: Option<&str>,
        display_name: Option<&str>,
        roles: &str,
    ) -> anyhow::Result<()> {
        query(
            "insert into recipients (user_id, email, display_name, roles, created_at) values ($1, $2, $3, $4, $5) \
             on conflict (user_id) do nothing",
            (
                user.to_string(),
                email.map(str::to_owned),
                display_name.map(str::to_owned),
                roles,
                agon_db::now_text(),
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn set_roles(tx: &mut Tx, user: Uuid, roles: &str) -> anyhow::Result<()> {
        query(
            "update recipients set roles = $2 where user_id = $1",
            (user.to_string(), roles),
        )
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
        query(
            "insert into push_tokens (token, user_id, platform, created_at) values ($1, $2, $3, $4) \
             on conflict (token) do update set user_id = excluded.user_id, platform = excluded.platform",
            (token, user.to_string(), platform, agon_db::now_text()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn remove_push_token(tx: &mut Tx, user: Uuid, token: &str) -> anyhow::Result<()> {
        query(
            "delete from push_tokens where token = $1 and user_id = $2",
            (token, user.to_string()),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
