//! The delivery worker: sends queued SMS and push messages to the configured HTTP providers with retries, and
//! closes due digests into one message each. Any number of replicas run it: a replica leases a row before sending
//! it, so each message is offered to its provider by one replica at a time; the provider also gets the delivery
//! id as `Idempotency-Key`, so a retry after a lost answer is recognisable.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use crate::{
    State,
    domain::Channel,
    send,
    store::{DueDelivery, Store},
};

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
    agon_db::time_text(Utc::now() + chrono::Duration::seconds(offset_secs))
}

/// Sends the due deliveries; returns how many were tried.
async fn deliver_due(state: &State, client: &reqwest::Client) -> anyhow::Result<usize> {
    let mut tried = 0;
    for due in state.store.due_deliveries(&at(0), 50).await? {
        if !state.store.lease(&due, &at(LEASE)).await? {
            continue;
        }
        tried += 1;
        let attempts = due.attempts + 1;
        match offer(state, client, &due).await {
            Ok(()) => state.store.delivered(&due.id, attempts, &at(0)).await?,
            Err(error) => {
                let failed = attempts >= MAX_ATTEMPTS;
                tracing::warn!(delivery = %due.id, attempts, failed, %error, "provider delivery failed");
                // Back-off: 2, 4, 8 … seconds, at most an hour.
                let delay = 2_i64.pow(attempts.clamp(1, 11) as u32).min(3600);
                state
                    .store
                    .not_delivered(&due.id, failed, attempts, &at(delay), &error)
                    .await?;
            }
        }
    }
    Ok(tried)
}

/// One attempt at handing a delivery to its provider, with its id as `Idempotency-Key`.
async fn offer(state: &State, client: &reqwest::Client, due: &DueDelivery) -> Result<(), String> {
    let url = match Channel::parse(&due.channel) {
        Some(Channel::Sms) => state.config.sms_url.as_deref(),
        Some(Channel::Push) => state.config.push_url.as_deref(),
        _ => None,
    };
    let Some(url) = url else {
        return Err("no provider configured for this channel".to_owned());
    };
    match client
        .post(url)
        .header("content-type", "application/json")
        .header("idempotency-key", &due.id)
        .body(due.payload.clone())
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("provider answered {}", response.status())),
        Err(error) => Err(error.to_string()),
    }
}

/// Turns each due digest into one message; returns how many were closed.
async fn close_due_digests(state: &State) -> anyhow::Result<usize> {
    let mut closed = 0;
    for digest in state.store.due_digests(&at(0), 50).await? {
        let mut tx = state.store.db().begin().await?;
        if !Store::take_digest(&mut tx, &digest).await? {
            continue;
        }
        let more = digest.count - 1;
        let (title, body) = if more == 0 {
            (digest.title.clone(), digest.body.clone())
        } else {
            (
                format!("{} (and {more} more)", digest.title),
                format!("{}\n\n…and {more} more like this.", digest.body),
            )
        };
        let channel = Channel::parse(&digest.channel_text);
        let destinations: Vec<String> = match channel {
            Some(Channel::Email) => digest.email.clone().into_iter().collect(),
            Some(Channel::Sms) => digest.phone.clone().into_iter().collect(),
            Some(Channel::Push) => Store::push_tokens(&mut tx, digest.user).await?,
            _ => Vec::new(),
        };
        if let Some(channel) = channel {
            for destination in destinations {
                let now = at(0);
                let message = (title.as_str(), body.as_str(), None);
                send::dispatch(
                    &mut tx,
                    digest.user,
                    channel,
                    &destination,
                    message,
                    Uuid::nil(),
                    &now,
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
