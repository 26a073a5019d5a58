//! Events the notifications service consumes: each keeps the recipient projection current (who exists, their
//! email, roles and push tokens) and, when [`crate::domain::TEMPLATES`] has a row for its topic, becomes a
//! notification. One generic consumer serves every topic.

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::Event;
use uuid::Uuid;

use crate::{
    State, domain,
    send::{Audience, Draft, notify},
    store::Store,
};

/// Every topic the service subscribes to: the projection first, then the template's notification if any.
impl<E: Event> Consume<E> for State {
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
        let recipient = match envelope.payload.get(template.recipient) {
            // Concerns nobody with an account (a tournament's guest entry): nothing to tell anyone.
            Some(serde_json::Value::Null) => return Ok(()),
            value => value
                .and_then(|v| v.as_str())
                .ok_or_else(|| anyhow::anyhow!("{} has no {}", E::TOPIC, template.recipient))?
                .parse::<Uuid>()?,
        };
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
        let (push, _) = notify(self, tx, &Audience::Users(vec![recipient]), &draft).await?;
        // Pushed before the bus commits this transaction: were the commit to fail, the event comes again with
        // the same notification id, which clients deduplicate.
        if let Some(push) = push {
            self.hub.publish(push).await;
        }
        self.wake.notify_one();
        self.mail.wake();
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
            .unwrap_or_default()
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
    let user = || -> anyhow::Result<Uuid> { Ok(text("user_id").parse()?) };
    match topic {
        t if t == auth::UserRegistered::TOPIC => {
            let name = payload.get("display_name").and_then(|v| v.as_str());
            let email = payload.get("email").and_then(|v| v.as_str());
            Store::add_recipient(tx, user()?, email, name, &roles()).await
        }
        t if t == users::RolesChanged::TOPIC => Store::set_roles(tx, user()?, &roles()).await,
        t if t == users::DeviceRegistered::TOPIC => {
            Store::put_push_token(tx, user()?, text("token"), text("platform")).await
        }
        t if t == users::DeviceRemoved::TOPIC => {
            Store::remove_push_token(tx, user()?, text("token")).await
        }
        t if t == users::UserDeleted::TOPIC => Store::forget_in(tx, user()?).await,
        _ => Ok(()),
    }
}
