//! Outgoing email, durable: a message is queued in the sending service's database in the same transaction as
//! the change it announces (a reset token, a new account), and a delivery task hands it to the SMTP server,
//! retrying with back-off until the server accepts it. Nothing is dropped when the server is down.
//!
//! Without an SMTP URL (a fresh `agon up`), the task writes each message to the log instead, saying so: the
//! platform still works end to end on one machine, and nobody mistakes it for delivery.

use std::{sync::Arc, time::Duration};

use agon_db::{Db, Row, Tx, query};
use anyhow::Context;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::Mailbox};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// Where mail goes (`[mail]` in agon.toml).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `smtp://host:25`, `smtp://user:pass@host:587?tls=required`, `smtps://user:pass@host:465`.
    /// Absent: messages are written to the log.
    pub smtp_url: Option<String>,
    /// The sender, as `Name <address>`.
    pub from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Agon <no-reply@agon.localhost>".into(),
        }
    }
}

/// A plain-text message.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// One service's mail queue and its delivery.
#[derive(Clone)]
pub struct Mail {
    db: Db,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    wake: Arc<Notify>,
}

impl Mail {
    /// Creates the queue table in `db` (with its own migration history) and the transport.
    pub async fn new(db: &Db, config: &MailConfig) -> anyhow::Result<Self> {
        db.migrate_component("_agon_mail_migrations", &agon_db::migrations!())
            .await?;
        let from: Mailbox = config
            .from
            .parse()
            .with_context(|| format!("mail.from {:?} is not a mailbox", config.from))?;
        let transport = match &config.smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| {
                        format!(
                            "mail.smtp_url {:?} is not an SMTP URL",
                            agon_db::redact(url)
                        )
                    })?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            ),
            None => None,
        };
        Ok(Self {
            db: db.clone(),
            transport,
            from,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Queues `email` inside `tx`: it is sent if and only if `tx` commits. Call [`Mail::wake`] after the commit.
    pub async fn enqueue(tx: &mut Tx, email: &Email) -> anyhow::Result<()> {
        let now = agon_db::now_text();
        query(
            "insert into mail_queue (id, recipient, subject, body, next_attempt_at, created_at) \
             values ($1, $2, $3, $4, $5, $5)",
            (
                uuid::Uuid::now_v7().to_string(),
                &email.to,
                &email.subject,
                &email.text,
                now,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers due messages forever: on the wake-up signal, and every 2 s for retries.
    pub async fn deliver_forever(self) -> anyhow::Result<()> {
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::warn!(error = format!("{error:#}"), "mail delivery pass failed");
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), self.wake.notified()).await;
        }
    }

    /// Tries every due message once; returns how many were delivered.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let now = agon_db::now_text();
        let rows = query(
            "select id, recipient, subject, body, attempts from mail_queue where next_attempt_at <= $1 \
             order by created_at limit 50",
            (&now,),
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut delivered = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            let attempts: i64 = row.try_get("attempts")?;
            let email = Email {
                to: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                text: row.try_get("body")?,
            };
            match self.send(&email).await {
                Ok(()) => {
                    query("delete from mail_queue where id = $1", (&id,))
                        .execute(self.db.pool())
                        .await?;
                    delivered += 1;
                }
                Err(error) => {
                    // 10 s, 20 s, 40 s … capped at an hour; the message stays until the server takes it.
                    let delay = chrono::Duration::seconds((10_i64 << attempts.min(9)).min(3600));
                    let next = agon_db::time_text(chrono::Utc::now() + delay);
                    tracing::warn!(to = %email.to, attempts = attempts + 1, error = format!("{error:#}"), "mail not delivered; will retry");
                    let sql = "update mail_queue set attempts = attempts + 1, next_attempt_at = $2, \
                               last_error = $3 where id = $1";
                    query(sql, (&id, next, format!("{error:#}")))
                        .execute(self.db.pool())
                        .await?;
                }
            }
        }
        Ok(delivered)
    }

    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let Some(transport) = &self.transport else {
            tracing::info!(
                to = %email.to, subject = %email.subject, body = %email.text,
                "no SMTP server configured (mail.smtp_url): message written to the log instead of sent"
            );
            return Ok(());
        };
        let to: Mailbox = email
            .to
            .parse()
            .with_context(|| format!("recipient {:?}", email.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(email.text.clone())?;
        transport.send(message).await?;
        Ok(())
    }
}
