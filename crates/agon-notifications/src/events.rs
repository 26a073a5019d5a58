//! Events the notifications service consumes: each keeps the recipient projection current (who exists, their
//! email, roles and push tokens) and, when [`crate::domain::TEMPLATES`] has a row for its topic, becomes a
//! notification. One generic consumer serves every topic.

use std::marker::PhantomData;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::Event;
use uuid::Uuid;

use crate::{
    State, domain,
    send::{Audience, Draft, notify},
};

pub struct OnEvent<E> {
    state: State,
    event: PhantomData<fn() -> E>,
}

impl<E> OnEvent<E> {
    pub fn new(state: State) -> Self {
        Self {
            state,
            event: PhantomData,
        }
    }
}

#[async_trait::async_trait]
impl<E: Event> Consume for OnEvent<E> {
    type Event = E;

    async fn consume(&self, tx: &mut Tx, _event: E, envelope: &Envelope) -> anyhow::Result<()> {
        project(tx, E::TOPIC, &envelope.payload).await?;
        let Some(template) = domain::template(E::TOPIC) else {
            return Ok(());
        };
        if let Some(flag) = template.only_if
            && envelope.payload.get(flag) != Some(&serde_json::Value::Bool(true))
        {
            return Ok(());
        }
        let recipient: Uuid = envelope
            .payload
            .get(template.recipient)
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow::anyhow!("{} has no {}", E::TOPIC, template.recipient))?
            .parse()?;
        let kind = domain::kind(template.kind)
            .ok_or_else(|| anyhow::anyhow!("template kind {} unknown", template.kind))?;
        let draft = Draft {
            // The event's id: a redelivered event finds its notification already there.
            id: envelope.id,
            kind,
            title: domain::render(template.title, &envelope.payload),
            body: domain::render(template.body, &envelope.payload),
            link: template.link.map(|l| domain::render(l, &envelope.payload)),
            data: serde_json::json!({"event": E::TOPIC}),
            channels: kind.channels.to_vec(),
            digest_key: kind.digest.then(|| kind.name.to_owned()),
        };
        let (push, _) = notify(&self.state, tx, &Audience::Users(vec![recipient]), &draft).await?;
        // Pushed before the bus commits this transaction: were the commit to fail, the event comes again with
        // the same notification id, which clients deduplicate.
        if let Some(push) = push {
            self.state.hub.publish(push).await;
        }
        self.state.wake.notify_one();
        self.state.mail.wake();
        Ok(())
    }
}

/// Keeps `recipients` and `push_tokens` in step with the auth and users services.
async fn project(tx: &mut Tx, topic: &str, payload: &serde_json::Value) -> anyhow::Result<()> {
    use agon_messages::{auth, users};
    let text = |field: &str| {
        payload
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let roles = || {
        payload
            .get("roles")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let user = text("user_id");
    match topic {
        t if t == auth::UserRegistered::TOPIC => {
            sqlx::query(
                "insert into recipients (user_id, email, display_name, roles, created_at) values ($1, $2, $3, $4, $5) \
                 on conflict (user_id) do nothing",
            )
            .bind(user)
            .bind(text("email").unwrap_or_default())
            .bind(text("display_name"))
            .bind(roles())
            .bind(agon_bus::now_text())
            .execute(&mut **tx)
            .await?;
        }
        t if t == users::RolesChanged::TOPIC => {
            sqlx::query("update recipients set roles = $2 where user_id = $1")
                .bind(user)
                .bind(roles())
                .execute(&mut **tx)
                .await?;
        }
        t if t == users::DeviceRegistered::TOPIC => {
            sqlx::query(
                "insert into push_tokens (token, user_id, platform, created_at) values ($1, $2, $3, $4) \
                 on conflict (token) do update set user_id = excluded.user_id, platform = excluded.platform",
            )
            .bind(text("token"))
            .bind(user)
            .bind(text("platform").unwrap_or_default())
            .bind(agon_bus::now_text())
            .execute(&mut **tx)
            .await?;
        }
        t if t == users::DeviceRemoved::TOPIC => {
            sqlx::query("delete from push_tokens where token = $1 and user_id = $2")
                .bind(text("token"))
                .bind(user)
                .execute(&mut **tx)
                .await?;
        }
        t if t == users::UserDeleted::TOPIC => {
            let user: Uuid = user.unwrap_or_default().parse()?;
            crate::store::Store::forget_in(tx, user).await?;
        }
        _ => {}
    }
    Ok(())
}
