//! A durable broker on PostgreSQL, for `agon serve` until a deployment points the bus at RabbitMQ: a queue table
//! in its own `bus` schema, one row per (event, subscribed consumer). Consumers claim rows with
//! `for update skip locked`, so any number of replicas share the work and a row is deleted only after its
//! handler committed or dead-lettered it. A failed attempt is retried later with exponential back-off.

use std::{sync::Arc, time::Duration};

use agon_db::{Databases, Db, Row};
use anyhow::Context;
use chrono::Utc;

use crate::{Broker, Envelope, Handler, MAX_ATTEMPTS, now_text};

pub struct PostgresBroker {
    db: Db,
    poll: Duration,
}

const SCHEMA: &[&str] = &[
    "create table if not exists bus_subscriptions (consumer text not null, topic text not null, \
     created_at text not null, primary key (consumer, topic))",
    "create table if not exists bus_queue (seq bigint generated always as identity primary key, \
     consumer text not null, envelope text not null, attempts bigint not null default 0, \
     not_before text not null, last_error text, created_at text not null)",
    "create index if not exists bus_queue_consumer on bus_queue (consumer, not_before, seq)",
];

impl PostgresBroker {
    /// Connects to the `bus` schema of the database `databases` points at and creates its tables.
    pub async fn connect(databases: &Databases) -> anyhow::Result<Self> {
        let db = databases.open("bus").await?;
        for ddl in SCHEMA {
            sqlx::query(*ddl)
                .execute(db.pool())
                .await
                .context("creating the bus tables")?;
        }
        Ok(Self {
            db,
            poll: Duration::from_millis(100),
        })
    }
}

#[async_trait::async_trait]
impl Broker for PostgresBroker {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        let now = now_text();
        for envelope in batch {
            sqlx::query(
                "insert into bus_queue (consumer, envelope, not_before, created_at) \
                 select consumer, $1, $2, $2 from bus_subscriptions where topic = $3",
            )
            .bind(serde_json::to_string(envelope)?)
            .bind(&now)
            .bind(&envelope.topic)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        topics: &[&str],
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<()> {
        for topic in topics {
            sqlx::query(
                "insert into bus_subscriptions (consumer, topic, created_at) values ($1, $2, $3) \
                 on conflict (consumer, topic) do nothing",
            )
            .bind(consumer)
            .bind(*topic)
            .bind(now_text())
            .execute(self.db.pool())
            .await?;
        }
        let worker = Worker {
            db: self.db.clone(),
            consumer: consumer.to_owned(),
            handler,
            poll: self.poll,
        };
        tokio::spawn(worker.run());
        Ok(())
    }

    async fn ready(&self) -> bool {
        self.db.ping().await
    }
}

struct Worker {
    db: Db,
    consumer: String,
    handler: Arc<dyn Handler>,
    poll: Duration,
}

impl Worker {
    async fn run(self) {
        loop {
            match self.step().await {
                Ok(true) => {}
                Ok(false) => tokio::time::sleep(self.poll).await,
                Err(error) => {
                    tracing::warn!(consumer = %self.consumer, error = format!("{error:#}"), "bus consumer failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Handles the oldest due delivery; false when there was none.
    async fn step(&self) -> anyhow::Result<bool> {
        let mut tx = self.db.begin().await?;
        let now = now_text();
        let row = sqlx::query(
            "select seq, envelope, attempts from bus_queue where consumer = $1 and not_before <= $2 \
             order by seq limit 1 for update skip locked",
        )
        .bind(&self.consumer)
        .bind(&now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let seq: i64 = row.try_get("seq")?;
        let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX) + 1;
        let envelope: Envelope = serde_json::from_str(&row.try_get::<String, _>("envelope")?)?;
        match self.handler.handle(&envelope).await {
            Ok(()) => {
                sqlx::query("delete from bus_queue where seq = $1")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(error) if attempts >= MAX_ATTEMPTS => {
                self.handler
                    .dead_letter(&envelope, &error, attempts)
                    .await?;
                sqlx::query("delete from bus_queue where seq = $1")
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            }
            Err(error) => {
                let delay = chrono::Duration::milliseconds(100 * (1 << attempts.min(10)));
                let retry_at =
                    (Utc::now() + delay).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                sqlx::query("update bus_queue set attempts = $2, not_before = $3, last_error = $4 where seq = $1")
                    .bind(seq)
                    .bind(i64::from(attempts))
                    .bind(retry_at)
                    .bind(format!("{error:#}"))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
