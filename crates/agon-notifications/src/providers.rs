//! The delivery worker: sends queued SMS and push messages to the configured HTTP providers with retries, and
//! closes due digests into one message each. Any number of replicas run it: a replica leases a row before sending
//! it, so each message is offered to its provider by one replica at a time; the provider also gets the delivery
//! id as `Idempotency-Key`, so a retry after a lost answer is recognisable.

use std::time::Duration;

use agon_db::Row;
use chrono::Utc;
use uuid::Uuid;

use crate::{State, domain::Channel, send};

/// Attempts before a delivery is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a replica owns a delivery it is sending.
const LEASE: i64 = 60;

pub async fn deliver_forever(state: State) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    loop {
        let mut busy = false;
        match close_due_digests(&state).await {
            Ok(n) => busy |= n > 0,
            Err(error) => tracing::warn!(error = format!("{error:#}"), "closing digests failed"),
        }
        match deliver_due(&state, &client).await {
            Ok(n) => busy |= n > 0,
            Err(error) => tracing::warn!(error = format!("{error:#}"), "delivery round failed"),
        }
        if !busy {
            let _ = tokio::time::timeout(Duration::from_millis(500), state.wake.notified()).await;
        }
    }
}

fn at(offset_secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Sends the due deliveries; returns how many were tried.
async fn deliver_due(state: &State, client: &reqwest::Client) -> anyhow::Result<usize> {
    let db = state.store.db();
    let rows = sqlx::query(
        "select id, channel, payload, attempts, next_attempt_at from deliveries \
         where status = 'pending' and next_attempt_at <= $1 order by next_attempt_at limit 50",
    )
    .bind(at(0))
    .fetch_all(db.pool())
    .await?;
    let mut tried = 0;
    for row in rows {
        let id: String = row.try_get("id")?;
        let seen: String = row.try_get("next_attempt_at")?;
        // The lease: whoever moves next_attempt_at from what it read owns this attempt.
        let leased = sqlx::query(
            "update deliveries set next_attempt_at = $3 where id = $1 and next_attempt_at = $2 and status = 'pending'",
        )
        .bind(&id)
        .bind(&seen)
        .bind(at(LEASE))
        .execute(db.pool())
        .await?
        .rows_affected()
            == 1;
        if !leased {
            continue;
        }
        tried += 1;
        let channel = Channel::parse(&row.try_get::<String, _>("channel")?);
        let url = match channel {
            Some(Channel::Sms) => state.config.sms_url.as_deref(),
            Some(Channel::Push) => state.config.push_url.as_deref(),
            _ => None,
        };
        let attempts = row.try_get::<i64, _>("attempts")? + 1;
        let outcome = match url {
            None => Err("no provider configured for this channel".to_owned()),
            Some(url) => {
                let payload: String = row.try_get("payload")?;
                match client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &id)
                    .body(payload)
                    .send()
                    .await
                {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) => Err(format!("provider answered {}", response.status())),
                    Err(error) => Err(error.to_string()),
                }
            }
        };
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "update deliveries set status = 'sent', attempts = $2, sent_at = $3, last_error = null where id = $1",
                )
                .bind(&id)
                .bind(attempts)
                .bind(at(0))
                .execute(db.pool())
                .await?;
            }
            Err(error) => {
                let failed = attempts >= MAX_ATTEMPTS;
                tracing::warn!(delivery = %id, attempts, failed, %error, "provider delivery failed");
                // Back-off: 2, 4, 8 … seconds, at most an hour.
                let delay = 2_i64.pow(attempts.clamp(1, 11) as u32).min(3600);
                sqlx::query(
                    "update deliveries set status = $2, attempts = $3, next_attempt_at = $4, last_error = $5 where id = $1",
                )
                .bind(&id)
                .bind(if failed { "failed" } else { "pending" })
                .bind(attempts)
                .bind(at(delay))
                .bind(error)
                .execute(db.pool())
                .await?;
            }
        }
    }
    Ok(tried)
}

/// Turns each due digest into one message; returns how many were closed.
async fn close_due_digests(state: &State) -> anyhow::Result<usize> {
    let db = state.store.db();
    let rows = sqlx::query(
        "select d.user_id, d.digest_key, d.channel, d.count, d.title, d.body, d.due_at, r.email, r.phone \
         from digests d join recipients r on r.user_id = d.user_id where d.due_at <= $1 limit 50",
    )
    .bind(at(0))
    .fetch_all(db.pool())
    .await?;
    let mut closed = 0;
    for row in rows {
        let user: String = row.try_get("user_id")?;
        let channel_text: String = row.try_get("channel")?;
        let count: i64 = row.try_get("count")?;
        let mut tx = db.begin().await?;
        // Deleting exactly what was read: a message added meanwhile (count changed) waits for the next round.
        let mine = sqlx::query(
            "delete from digests where user_id = $1 and digest_key = $2 and channel = $3 and count = $4",
        )
        .bind(&user)
        .bind(row.try_get::<String, _>("digest_key")?)
        .bind(&channel_text)
        .bind(count)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !mine {
            continue;
        }
        let (title, body): (String, String) = (row.try_get("title")?, row.try_get("body")?);
        let (title, body) = if count == 1 {
            (title, body)
        } else {
            (
                format!("{title} (and {} more)", count - 1),
                format!("{body}\n\n…and {} more like this.", count - 1),
            )
        };
        let user_id: Uuid = user.parse()?;
        let destinations: Vec<String> = match Channel::parse(&channel_text) {
            Some(Channel::Email) => vec![row.try_get("email")?],
            Some(Channel::Sms) => row
                .try_get::<Option<String>, _>("phone")?
                .into_iter()
                .collect(),
            Some(Channel::Push) => sqlx::query("select token from push_tokens where user_id = $1")
                .bind(&user)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("token"))
                .collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        if let Some(channel) = Channel::parse(&channel_text) {
            for destination in destinations {
                send::dispatch(
                    &mut tx,
                    user_id,
                    channel,
                    &destination,
                    &title,
                    &body,
                    None,
                    Uuid::nil(),
                    &at(0),
                )
                .await?;
            }
        }
        tx.commit().await?;
        closed += 1;
    }
    if closed > 0 {
        state.mail.wake();
    }
    Ok(closed)
}
