//! The event bus: a per-service outbox written in the same transaction as the change it announces, a relay that
//! hands committed events to a broker, and consumers that record each processed event id (the inbox) in the same
//! transaction as their effect, so a redelivered event has no second effect.
//!
//! Delivery is at least once, effects exactly once. The broker is a process boundary ([`Broker`]): the
//! in-process one ([`InProcess`]) serves `agon up`; a networked one plugs in behind the same trait with the same
//! contract — `publish` returns only once every event is durably handed over, and a consumer's delivery is
//! acknowledged only after the consumer's transaction committed or the event was dead-lettered.
//!
//! Entry points: [`Bus`], [`Outbox`] (with [`enqueue`]), [`Consume`].

mod inprocess;
mod rabbitmq;
mod replay;

use std::{marker::PhantomData, sync::Arc, time::Duration};

use agon_db::{Db, Tx, now_text, query, query_as};
use agon_messages::Event;
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use uuid::Uuid;

pub use inprocess::InProcess;
pub use rabbitmq::RabbitMq;
pub use replay::{INBOX_RETENTION, REPLAY_POLL};

/// Most events one relay round hands to the broker. RabbitMQ confirms persistent messages after its batched
/// fsync (tens to hundreds of milliseconds), so the window must be large for the relay to keep up under load.
pub const RELAY_BATCH: i64 = 2000;

/// Attempts a consumer gets at one event before it is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 5;

/// An event as it travels: the payload plus what a consumer needs to deduplicate and trace it. Read from the
/// outbox and the dead letters, where `created_at` is when it occurred.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Envelope {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub topic: String,
    pub source: String,
    #[sqlx(rename = "created_at", try_from = "agon_db::TimeText")]
    pub occurred_at: DateTime<Utc>,
    #[sqlx(try_from = "agon_db::JsonText")]
    pub payload: serde_json::Value,
}

/// An outbox row: the event and its place in the outbox.
#[derive(sqlx::FromRow)]
struct Queued {
    seq: i64,
    #[sqlx(flatten)]
    envelope: Envelope,
}

/// A broker backend.
#[async_trait::async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Hands the events over; returns once the broker holds them durably (or, in-process, once every
    /// subscriber has processed or dead-lettered them).
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()>;

    /// Routes every event whose topic is in `topics` to `handler` under the durable consumer name `consumer`.
    async fn subscribe(
        &self,
        consumer: &str,
        topics: &[&str],
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<()>;

    /// True when the broker can take events now.
    async fn ready(&self) -> bool;

    /// True when publishes may overlap (the broker keeps their order and confirms asynchronously), so the relay
    /// can send the next batch while one awaits its confirms. The in-process broker delivers inside `publish`:
    /// overlapping would reorder deliveries.
    fn pipelined(&self) -> bool {
        false
    }

    /// Lets go of the handlers. The in-process broker holds every consumer's state, and each state holds an
    /// outbox that holds the broker: without this, a platform built and dropped in one process (a test) keeps
    /// its database connections open until the process ends.
    fn close(&self) {}
}

/// What a broker calls for each delivery. Implemented by the bus around a [`Consume`]; brokers retry a failing
/// call with back-off and call [`Handler::dead_letter`] after [`MAX_ATTEMPTS`].
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, envelope: &Envelope) -> anyhow::Result<()>;
    /// Handles several deliveries at once — in one transaction, so an error means none took effect. One commit
    /// for many events is what lets a consumer keep up with a busy broker.
    async fn handle_batch(&self, envelopes: &[Envelope]) -> anyhow::Result<()> {
        for envelope in envelopes {
            self.handle(envelope).await?;
        }
        Ok(())
    }
    async fn dead_letter(
        &self,
        envelope: &Envelope,
        error: &anyhow::Error,
        attempts: u32,
    ) -> anyhow::Result<()>;
}

/// A service's reaction to events of type `E`: one implementation per topic it consumes, usually on the
/// service's state (`impl Consume<UserBanned> for State`). Runs inside the transaction that also records the event
/// id, so everything it writes through `tx` happens once per event.
pub trait Consume<E: Event>: Send + Sync + 'static {
    fn consume(
        &self,
        tx: &mut Tx,
        event: E,
        envelope: &Envelope,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The bus handle every service receives.
#[derive(Clone)]
pub struct Bus {
    broker: Arc<dyn Broker>,
    /// The dead-letter replay loops of this process, one per service database.
    replays: Arc<replay::Replays>,
    /// Each service database's relay wake-up, shared by its outbox and its consumers: an event a consumer
    /// enqueues (the next step of a saga) is relayed when the consumer commits, not at the relay's next poll.
    wakes: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Notify>>>>,
}

/// A service's outbox: where its transactions put events, and the wake-up signal for its relay.
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    broker: Arc<dyn Broker>,
    wake: Arc<Notify>,
}

impl Bus {
    pub fn new(broker: Arc<dyn Broker>) -> Self {
        Self {
            broker,
            replays: Arc::default(),
            wakes: Arc::default(),
        }
    }

    /// The relay wake-up of `db`'s outbox.
    fn wake_of(&self, db: &Db) -> Arc<Notify> {
        let mut wakes = self
            .wakes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        wakes.entry(db.name().to_owned()).or_default().clone()
    }

    /// Drops the subscriptions (see [`Broker::close`]); publishing afterwards reaches nobody.
    pub fn close(&self) {
        self.broker.close();
    }

    /// The embedded bus of `agon up`.
    pub fn in_process() -> Self {
        Self::new(Arc::new(InProcess::default()))
    }

    /// The durable bus on RabbitMQ for services in separate processes; `namespace` prefixes the exchange and
    /// queue names (the installation's schema prefix).
    pub async fn rabbitmq(url: &str, namespace: &str) -> anyhow::Result<Self> {
        Ok(Self::new(Arc::new(
            RabbitMq::connect(url, namespace).await?,
        )))
    }

    /// RabbitMQ for declaring the topology only (see [`RabbitMq::topology_only`]).
    pub async fn rabbitmq_topology(url: &str, namespace: &str) -> anyhow::Result<Self> {
        Ok(Self::new(Arc::new(
            RabbitMq::topology_only(url, namespace).await?,
        )))
    }

    /// Creates the bus tables in `db` (beside the service's own, with their own history) and returns the outbox.
    pub async fn outbox(&self, db: &Db) -> anyhow::Result<Outbox> {
        install(db).await?;
        Ok(Outbox {
            db: db.clone(),
            broker: self.broker.clone(),
            wake: self.wake_of(db),
        })
    }

    /// Subscribes `consumer` (a durable name such as `users.create_profile`) to the events of type `E`
    /// (`bus.subscribe::<UserRegistered>(…)`); its effects and the inbox record share `db`.
    pub async fn subscribe<E: Event>(
        &self,
        db: &Db,
        consumer: &str,
        c: impl Consume<E>,
    ) -> anyhow::Result<()> {
        install(db).await?;
        let handler: Arc<dyn Handler> = Arc::new(InboxHandler {
            db: db.clone(),
            wake: self.wake_of(db),
            consumer: consumer.to_owned(),
            inner: c,
            event: PhantomData::<fn() -> E>,
        });
        self.broker
            .subscribe(consumer, &[E::TOPIC], handler.clone())
            .await?;
        self.replays.register(db, consumer, handler);
        Ok(())
    }

    pub async fn ready(&self) -> bool {
        self.broker.ready().await
    }
}

/// Writes `event` to the outbox inside `tx`: it is published if and only if `tx` commits.
/// Call [`Outbox::wake`] after the commit so the relay does not wait for its next poll.
pub async fn enqueue<E: Event>(tx: &mut Tx, source: &str, event: &E) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_string(event)?;
    query(
        "insert into outbox (id, topic, source, payload, created_at) values ($1, $2, $3, $4, $5)",
        (id.to_string(), E::TOPIC, source, payload, now_text()),
    )
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

impl Outbox {
    /// Tells the relay that a transaction with events just committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The relay loop: publishes committed events in order and deletes them once the broker holds them.
    /// Runs until the process stops; a broker failure is retried with back-off, never dropped.
    ///
    /// With a broker that confirms asynchronously ([`Broker::pipelined`]), the next batch is read and sent while
    /// the previous one waits for its confirms: reads continue after the highest sequence number in flight. A
    /// lower number can commit late (PostgreSQL assigns them at insert), so whenever nothing is in flight the
    /// relay reads from the start again, and a late row waits at most one burst.
    pub async fn relay(self) -> anyhow::Result<()> {
        use futures_util::StreamExt;
        let depth = if self.broker.pipelined() { 2 } else { 1 };
        let mut in_flight = futures_util::stream::FuturesOrdered::new();
        let mut after = 0_i64;
        let mut backoff = Duration::from_millis(50);
        loop {
            if in_flight.len() < depth {
                match self.read(after, RELAY_BATCH).await {
                    Ok((batch, seqs)) if !batch.is_empty() => {
                        after = seqs.iter().copied().max().unwrap_or(after);
                        // Outbox lag: how long the oldest event read now has waited since its commit.
                        let lag =
                            (Utc::now() - batch[0].occurred_at).num_milliseconds() as f64 / 1000.0;
                        metrics::gauge!("agon_bus_outbox_lag_seconds").set(lag.max(0.0));
                        let broker = self.broker.clone();
                        in_flight
                            .push_back(async move { broker.publish(&batch).await.map(|()| seqs) });
                        continue;
                    }
                    Ok(_) if in_flight.is_empty() => {
                        after = 0;
                        metrics::gauge!("agon_bus_outbox_lag_seconds").set(0.0);
                        backoff = Duration::from_millis(50);
                        // Polling as well as waking covers events committed by another replica of this service.
                        let _ = tokio::time::timeout(Duration::from_secs(1), self.wake.notified())
                            .await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(
                            error = format!("{error:#}"),
                            "outbox read failed; retrying"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                }
            }
            let Some(published) = in_flight.next().await else {
                continue;
            };
            match published {
                Ok(seqs) => {
                    metrics::counter!("agon_bus_published_total").increment(seqs.len() as u64);
                    if let Err(error) = self.delete(&seqs).await {
                        // Still in the outbox: published again later, and the inbox absorbs the copy.
                        tracing::warn!(error = format!("{error:#}"), "outbox cleanup failed");
                    }
                    backoff = Duration::from_millis(50);
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "outbox relay failed; retrying"
                    );
                    // Whatever else was in flight is read and sent again from the start.
                    in_flight.clear();
                    after = 0;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Publishes up to `limit` pending events; returns how many.
    pub async fn relay_once(&self, limit: i64) -> anyhow::Result<usize> {
        let (batch, seqs) = self.read(0, limit).await?;
        if batch.is_empty() {
            return Ok(0);
        }
        self.broker.publish(&batch).await?;
        self.delete(&seqs).await?;
        Ok(batch.len())
    }

    /// Up to `limit` outbox rows after sequence number `after`, in order, with their sequence numbers.
    async fn read(&self, after: i64, limit: i64) -> anyhow::Result<(Vec<Envelope>, Vec<i64>)> {
        let sql = "select seq, id, topic, source, payload, created_at from outbox \
                   where seq > $1 order by seq limit $2";
        let rows: Vec<Queued> = query_as(sql, (after, limit))
            .fetch_all(self.db.pool())
            .await?;
        Ok(rows.into_iter().map(|q| (q.envelope, q.seq)).unzip())
    }

    /// Deletes exactly the rows that were published: a lower sequence number may still be uncommitted.
    async fn delete(&self, seqs: &[i64]) -> anyhow::Result<()> {
        let list = seqs
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        query(
            sqlx::AssertSqlSafe(format!("delete from outbox where seq in ({list})")),
            (),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Events written but not yet handed to the broker.
    pub async fn pending(&self) -> anyhow::Result<i64> {
        use sqlx::Row;
        let row = query("select count(*) as n from outbox", ())
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// One delivery to one consumer, as every broker does it: retried with exponential back-off, then dead-lettered
/// after [`MAX_ATTEMPTS`]. An error means the event was neither handled nor dead-lettered (the consumer's database
/// is down): the broker must keep it and offer it again later.
pub(crate) async fn deliver(
    consumer: &str,
    handler: &dyn Handler,
    envelope: &Envelope,
) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(20);
    for attempt in 1..=MAX_ATTEMPTS {
        match handler.handle(envelope).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt == MAX_ATTEMPTS => {
                return handler.dead_letter(envelope, &error, attempt).await;
            }
            Err(error) => {
                tracing::warn!(
                    event_id = %envelope.id, consumer, attempt,
                    error = format!("{error:#}"), "event handling failed; retrying"
                );
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    Ok(())
}

/// Several deliveries to one consumer: together in one transaction when that works, else one by one (each
/// retried and perhaps dead-lettered by [`deliver`]), so one poison event never holds up the others for long.
/// Returns, per envelope, whether it is done (handled or dead-lettered) or must be offered again.
pub(crate) async fn deliver_batch(
    consumer: &str,
    handler: &dyn Handler,
    envelopes: &[Envelope],
) -> Vec<bool> {
    if envelopes.len() > 1 {
        match handler.handle_batch(envelopes).await {
            Ok(()) => return vec![true; envelopes.len()],
            Err(error) => tracing::debug!(
                consumer,
                error = format!("{error:#}"),
                "batch failed; delivering one by one"
            ),
        }
    }
    let mut done = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        done.push(match deliver(consumer, handler, envelope).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(consumer, event_id = %envelope.id, error = format!("{error:#}"),
                    "event neither handled nor dead-lettered");
                false
            }
        });
    }
    done
}

struct InboxHandler<C, E> {
    db: Db,
    /// The relay of `db`'s outbox, woken after each commit: what the handler enqueued goes out at once.
    wake: Arc<Notify>,
    consumer: String,
    inner: C,
    event: PhantomData<fn() -> E>,
}

impl<E: Event, C: Consume<E>> InboxHandler<C, E> {
    /// Records the event in the inbox and applies it, inside `tx`; a known event is skipped.
    async fn apply(&self, tx: &mut Tx, envelope: &Envelope) -> anyhow::Result<()> {
        let fresh = query(
            "insert into inbox (event_id, consumer, processed_at) values ($1, $2, $3) \
             on conflict (event_id, consumer) do nothing",
            (envelope.id.to_string(), &self.consumer, now_text()),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            tracing::debug!(event_id = %envelope.id, consumer = %self.consumer, "duplicate delivery ignored");
            metrics::counter!("agon_bus_duplicates_skipped_total", "consumer" => self.consumer.clone()).increment(1);
            return Ok(());
        }
        let event: E = serde_json::from_value(envelope.payload.clone())
            .with_context(|| format!("event {} does not match {}", envelope.id, E::TOPIC))?;
        self.inner.consume(tx, event, envelope).await
    }
}

#[async_trait::async_trait]
impl<E: Event, C: Consume<E>> Handler for InboxHandler<C, E> {
    async fn handle(&self, envelope: &Envelope) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        self.apply(&mut tx, envelope).await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(())
    }

    async fn handle_batch(&self, envelopes: &[Envelope]) -> anyhow::Result<()> {
        use sqlx::Row;
        let mut tx = self.db.begin().await?;
        // One statement records the whole batch in the inbox and says which events are new.
        let values = (0..envelopes.len())
            .map(|i| format!("(${}, $1, $2)", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "insert into inbox (event_id, consumer, processed_at) values {values} \
             on conflict (event_id, consumer) do nothing returning event_id"
        );
        let mut query = query(sqlx::AssertSqlSafe(sql), (&self.consumer, now_text()));
        for envelope in envelopes {
            query = query.bind(envelope.id.to_string());
        }
        let mut fresh: std::collections::HashSet<String> = query
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("event_id"))
            .collect::<Result<_, _>>()?;
        let mut skipped = 0_u64;
        for envelope in envelopes {
            // Taken out of `fresh` when applied: a second copy within the same batch is skipped as well.
            if !fresh.remove(&envelope.id.to_string()) {
                skipped += 1;
                continue;
            }
            let event: E = serde_json::from_value(envelope.payload.clone())
                .with_context(|| format!("event {} does not match {}", envelope.id, E::TOPIC))?;
            self.inner.consume(&mut tx, event, envelope).await?;
        }
        tx.commit().await?;
        self.wake.notify_one();
        if skipped > 0 {
            metrics::counter!("agon_bus_duplicates_skipped_total", "consumer" => self.consumer.clone())
                .increment(skipped);
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        envelope: &Envelope,
        error: &anyhow::Error,
        attempts: u32,
    ) -> anyhow::Result<()> {
        tracing::error!(
            event_id = %envelope.id, topic = %envelope.topic, consumer = %self.consumer,
            error = format!("{error:#}"), "event dead-lettered"
        );
        metrics::counter!("agon_bus_dead_lettered_total", "consumer" => self.consumer.clone())
            .increment(1);
        query(
            "insert into dead_letters (id, consumer, topic, source, payload, error, attempts, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (id, consumer) do update \
             set error = excluded.error, attempts = dead_letters.attempts + excluded.attempts, \
             created_at = excluded.created_at, replay_requested_at = null",
            (
                envelope.id.to_string(),
                &self.consumer,
                &envelope.topic,
                &envelope.source,
                envelope.payload.to_string(),
                format!("{error:#}"),
                i64::from(attempts),
                now_text(),
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

/// An event a consumer gave up on, kept in the consumer's database until it is replayed.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeadLetter {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub consumer: String,
    pub topic: String,
    pub source: String,
    #[sqlx(try_from = "agon_db::JsonText")]
    pub payload: serde_json::Value,
    pub error: String,
    pub attempts: i64,
    #[sqlx(rename = "created_at")]
    pub dead_lettered_at: String,
    pub replay_requested_at: Option<String>,
}

/// The dead letters in `db` (one service's database), oldest first, at most `limit`.
pub async fn dead_letters(db: &Db, limit: i64) -> anyhow::Result<Vec<DeadLetter>> {
    install(db).await?;
    Ok(query_as(
        "select id, consumer, topic, source, payload, error, attempts, created_at, replay_requested_at \
         from dead_letters order by created_at, id limit $1",
        (limit,),
    )
    .fetch_all(db.pool())
    .await?)
}

/// Marks dead letters in `db` for replay: one event (`Some(id)`, for every consumer that gave up on it) or all.
/// The consumer's running process picks them up within [`REPLAY_POLL`]; returns how many were marked.
pub async fn request_replay(db: &Db, id: Option<Uuid>) -> anyhow::Result<u64> {
    install(db).await?;
    let query = match id {
        Some(id) => query(
            "update dead_letters set replay_requested_at = $1 where id = $2",
            (now_text(), id.to_string()),
        ),
        None => query(
            "update dead_letters set replay_requested_at = $1",
            (now_text(),),
        ),
    };
    Ok(query.execute(db.pool()).await?.rows_affected())
}

async fn install(db: &Db) -> anyhow::Result<()> {
    db.migrate_component("_agon_bus_migrations", &agon_db::migrations!())
        .await
}
