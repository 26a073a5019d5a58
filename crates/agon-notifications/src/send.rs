//! Sending: one notification to some members or to everyone, on the channels its kind, the sender and each
//! member's preferences allow — all inside the caller's transaction, so a notification exists with every
//! delivery it implies or not at all. Email goes through the kit's mail queue; SMS and push become rows in
//! `deliveries` for the provider worker; bursts with a digest key become one row in `digests` per member.

use std::collections::{HashMap, HashSet};

use agon_db::Tx;
use uuid::Uuid;

use crate::{
    State,
    domain::{Channel, Kind},
    hub::Push,
    store::{Recipient, Store, View},
};

/// What is sent.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The notification's id, the same for every recipient (an event's id when an event caused it, so a
    /// redelivered event finds it already there).
    pub id: Uuid,
    pub kind: &'static Kind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub data: serde_json::Value,
    /// Channels asked for; a member's preferences add or remove non-critical ones.
    pub channels: Vec<Channel>,
    /// External channels merge this key's bursts into one message per member and digest window.
    pub digest_key: Option<String>,
}

pub enum Audience {
    Users(Vec<Uuid>),
    Everyone,
}

/// Stores and schedules `draft` for `audience` inside `tx`; returns the live push for connected members (to send
/// once `tx` committed) and how many members got it.
pub async fn notify(
    state: &State,
    tx: &mut Tx,
    audience: &Audience,
    draft: &Draft,
) -> anyhow::Result<(Option<Push>, usize)> {
    let recipients = recipients(tx, audience).await?;
    let choices = preferences(tx, draft.kind.name, audience).await?;
    let now = agon_db::now_text();
    let view = View {
        id: draft.id,
        kind: draft.kind.name.to_owned(),
        title: draft.title.clone(),
        body: draft.body.clone(),
        link: draft.link.clone(),
        data: draft.data.clone(),
        critical: draft.kind.critical,
        created_at: now.clone(),
        read_at: None,
    };
    let wants = |user: Uuid, channel: Channel| -> bool {
        let asked = draft.channels.contains(&channel);
        if draft.kind.critical {
            return asked;
        }
        choices.get(&(user, channel)).copied().unwrap_or(asked)
    };
    let mut in_app = Vec::new();
    for r in &recipients {
        if wants(r.user, Channel::InApp) && Store::insert_notification(tx, r.user, &view).await? {
            in_app.push(r.user);
        }
        if wants(r.user, Channel::Email) {
            match &r.email {
                Some(email) => external(state, tx, r, Channel::Email, email, draft, &now).await?,
                None => tracing::debug!(user = %r.user, "no email address; email skipped"),
            }
        }
        if wants(r.user, Channel::Sms) {
            match (&r.phone, &state.config.sms_url) {
                (Some(phone), Some(_)) => {
                    external(state, tx, r, Channel::Sms, phone, draft, &now).await?;
                }
                _ => tracing::debug!(user = %r.user, "no SMS number or provider; SMS skipped"),
            }
        }
        if wants(r.user, Channel::Push) && state.config.push_url.is_some() {
            for token in Store::push_tokens(tx, r.user).await? {
                external(state, tx, r, Channel::Push, &token, draft, &now).await?;
            }
        }
    }
    let push = (!in_app.is_empty()).then(|| Push {
        users: match audience {
            Audience::Everyone => None,
            Audience::Users(_) => Some(in_app.clone()),
        },
        frame: frame(&view),
    });
    Ok((push, recipients.len()))
}

/// The WebSocket text frame carrying one notification.
pub fn frame(view: &View) -> String {
    serde_json::json!({"type": "notification", "notification": view}).to_string()
}

/// One message on an external channel: now, or merged into the member's open digest for the key.
async fn external(
    state: &State,
    tx: &mut Tx,
    r: &Recipient,
    channel: Channel,
    destination: &str,
    draft: &Draft,
    now: &str,
) -> anyhow::Result<()> {
    if let Some(key) = &draft.digest_key {
        let due = agon_db::time_text(
            chrono::Utc::now() + chrono::Duration::seconds(state.config.digest_window_secs as i64),
        );
        return Store::add_to_digest(tx, r.user, key, channel, draft, &due).await;
    }
    let message = (
        draft.title.as_str(),
        draft.body.as_str(),
        draft.link.as_deref(),
    );
    dispatch(tx, r.user, channel, destination, message, draft.id, now).await
}

/// Queues one message — (title, body, link) — on `channel` to `destination` (an address, a number or a push
/// token).
pub async fn dispatch(
    tx: &mut Tx,
    user: Uuid,
    channel: Channel,
    destination: &str,
    (title, body, link): (&str, &str, Option<&str>),
    notification: Uuid,
    now: &str,
) -> anyhow::Result<()> {
    if channel == Channel::Email {
        let mut text = body.to_owned();
        if let Some(link) = link {
            text.push_str(&format!("\n\n{link}"));
        }
        agon_kit::Mail::enqueue(
            tx,
            &agon_kit::Email {
                to: destination.to_owned(),
                subject: title.to_owned(),
                text,
            },
        )
        .await?;
        return Ok(());
    }
    let payload = match channel {
        Channel::Sms => serde_json::json!({"to": destination, "text": format!("{title}: {body}")}),
        _ => serde_json::json!({
            "token": destination, "title": title, "body": body,
            "data": {"notification_id": notification, "link": link},
        }),
    };
    Store::queue_delivery(tx, user, channel, destination, &payload, now).await
}

async fn recipients(tx: &mut Tx, audience: &Audience) -> anyhow::Result<Vec<Recipient>> {
    match audience {
        Audience::Everyone => Store::recipients(tx, None).await,
        Audience::Users(users) => {
            let unique: Vec<Uuid> = users
                .iter()
                .copied()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            Store::recipients(tx, Some(&unique)).await
        }
    }
}

/// Stored choices for one kind: (member, channel) → enabled.
async fn preferences(
    tx: &mut Tx,
    kind: &str,
    audience: &Audience,
) -> anyhow::Result<HashMap<(Uuid, Channel), bool>> {
    let wanted: Option<HashSet<&Uuid>> = match audience {
        Audience::Users(users) => Some(users.iter().collect()),
        Audience::Everyone => None,
    };
    let mut choices = HashMap::new();
    for choice in Store::choices(tx, kind).await? {
        if wanted.as_ref().is_some_and(|w| !w.contains(&choice.user)) {
            continue;
        }
        if let Some(channel) = Channel::parse(&choice.channel) {
            choices.insert((choice.user, channel), choice.enabled);
        }
    }
    Ok(choices)
}
