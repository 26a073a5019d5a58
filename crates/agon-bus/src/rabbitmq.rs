//! The broker of `agon serve`: RabbitMQ, with the guarantees the outbox and inbox rely on.
//!
//! - One durable topic exchange (`agon.events`, like every name here prefixed by the installation's namespace); the routing key is the event's topic. Messages are persistent and
//!   published on a confirm channel: a batch is published in one go (a pipelined window) and [`Broker::publish`]
//!   returns only after the broker confirmed every message of it, so the relay deletes an outbox row only once its
//!   event is on disk. A nack or a lost connection fails the whole batch; republishing is harmless (inbox).
//! - A message no queue is bound for is not dropped: the exchange's alternate exchange routes it to the durable
//!   `agon.unrouted` queue, where an operator can see it.
//! - Each consumer owns a durable queue `agon.<consumer>` bound to its topics. Deliveries are acknowledged manually,
//!   only after the handler committed (or dead-lettered) the event; a crash before that means redelivery, which the
//!   inbox absorbs. Prefetch bounds what one consumer holds unacknowledged.
//! - Connections are re-established after a broker restart or a network failure: the publisher on its next batch,
//!   each consumer in its own loop with back-off.

use std::{sync::Arc, time::Duration};

use futures_util::{FutureExt, StreamExt};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
        BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
        QueueBindOptions, QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};
use tokio::sync::Mutex;

use crate::{Broker, Envelope, Handler, deliver_batch};

/// The broker's object names, under an installation's namespace (its schema prefix): installations sharing a
/// RabbitMQ virtual host never see each other's events.
#[derive(Clone)]
struct Names {
    namespace: String,
    exchange: String,
    unrouted: String,
}

impl Names {
    fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            exchange: format!("{namespace}agon.events"),
            unrouted: format!("{namespace}agon.unrouted"),
        }
    }

    fn queue(&self, consumer: &str) -> String {
        format!("{}agon.{consumer}", self.namespace)
    }
}
/// Unacknowledged deliveries one consumer may hold. Above RabbitMQ's usual 100–300 because deliveries are
/// applied in batches: the next batch is arriving while one is being committed.
const PREFETCH: u16 = 500;
/// Most deliveries handled in one consumer transaction.
const BATCH: usize = 250;
/// How often each side of a connection proves it is alive, unless the URL sets `heartbeat`: a connection that
/// died without a word (a broker restarted under it, a network cut) is noticed within two beats and its consumers
/// reconnect, instead of waiting on a stream that nothing will end (the broker's default is a minute).
const HEARTBEAT_SECONDS: u16 = 10;
/// The longest a consumer waits for the broker to open its channel, declare its queue and start delivering.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// `url` with the heartbeat this module relies on, unless it sets its own.
fn with_heartbeat(url: &str) -> String {
    if url.contains("heartbeat=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}heartbeat={HEARTBEAT_SECONDS}")
}

pub struct RabbitMq {
    url: String,
    names: Names,
    /// False for a topology-only connection (`agon migrate`): subscribing declares the queue and stops there.
    consume: bool,
    connection: Mutex<Option<Arc<Connection>>>,
    publisher: Mutex<Option<Channel>>,
}

impl RabbitMq {
    /// Connects to `url` (`amqp://user:password@host:port/vhost`) and declares the exchanges. Fails when the
    /// broker cannot be reached now; later outages are ridden out by reconnecting.
    pub async fn connect(url: &str, namespace: &str) -> anyhow::Result<Self> {
        Self::open(url, namespace, true).await
    }

    /// A connection that only declares: the exchanges, and each subscriber's queue and bindings without
    /// consuming. `agon migrate` uses it so that every consumer's queue exists before any service publishes —
    /// an event published before its consumer's queue exists would reach only `agon.unrouted`.
    pub async fn topology_only(url: &str, namespace: &str) -> anyhow::Result<Self> {
        Self::open(url, namespace, false).await
    }

    async fn open(url: &str, namespace: &str, consume: bool) -> anyhow::Result<Self> {
        let broker = Self {
            url: with_heartbeat(url),
            names: Names::new(namespace),
            consume,
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
        };
        let channel = broker.channel().await?;
        declare_exchanges(&channel, &broker.names).await?;
        Ok(broker)
    }

    /// The process's connection, reconnected if the previous one failed.
    async fn connection(&self) -> anyhow::Result<Arc<Connection>> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref()
            && connection.status().connected()
        {
            return Ok(connection.clone());
        }
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            Connection::connect(&self.url, ConnectionProperties::default()),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to RabbitMQ timed out"))??;
        let connection = Arc::new(connection);
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(self.connection().await?.create_channel().await?)
    }

    /// Consumes `queue` until the channel or connection fails.
    async fn consume(
        &self,
        consumer: &str,
        topics: &[String],
        handler: &Arc<dyn Handler>,
    ) -> anyhow::Result<()> {
        let setup = async {
            let channel = self.channel().await?;
            let queue = declare_queue(&channel, &self.names, consumer, topics).await?;
            channel
                .basic_qos(PREFETCH, BasicQosOptions::default())
                .await?;
            let deliveries = channel
                .basic_consume(
                    queue.as_str().into(),
                    consumer.into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            anyhow::Ok((channel, queue, deliveries))
        };
        // A connection that looks open but is not answers nothing: give up on it after a while.
        let (_channel, queue, mut deliveries) =
            tokio::time::timeout(SETUP_TIMEOUT, setup)
                .await
                .map_err(|_| anyhow::anyhow!("opening the consumer timed out"))??;
        tracing::info!(consumer, queue, "consuming from RabbitMQ");
        while let Some(first) = deliveries.next().await {
            // What has already arrived is handled together: one transaction for up to BATCH events.
            let mut arrived = vec![first?];
            while arrived.len() < BATCH {
                match deliveries.next().now_or_never() {
                    Some(Some(delivery)) => arrived.push(delivery?),
                    _ => break,
                }
            }
            let mut batch = Vec::with_capacity(arrived.len());
            let mut envelopes = Vec::with_capacity(arrived.len());
            for delivery in arrived {
                match serde_json::from_slice::<Envelope>(&delivery.data) {
                    Ok(envelope) => {
                        envelopes.push(envelope);
                        batch.push(delivery);
                    }
                    Err(error) => {
                        // Not an event of ours: nothing can ever handle it, and requeueing would loop forever.
                        tracing::error!(consumer, %error, payload = %String::from_utf8_lossy(&delivery.data),
                            "undecodable message discarded");
                        delivery.ack(BasicAckOptions::default()).await?;
                    }
                }
            }
            let done = deliver_batch(consumer, handler.as_ref(), &envelopes).await;
            if done.contains(&false) {
                // Some were neither handled nor dead-lettered (the consumer's database is down): wait a little,
                // then give those back.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if done.iter().all(|d| *d) {
                // One acknowledgement for the whole batch: `multiple` covers every earlier delivery tag, and
                // all of them on this channel are settled by now.
                if let Some(last) = batch.last() {
                    last.ack(BasicAckOptions { multiple: true }).await?;
                }
                continue;
            }
            for (delivery, done) in batch.into_iter().zip(done) {
                if done {
                    delivery.ack(BasicAckOptions::default()).await?;
                } else {
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await?;
                }
            }
        }
        anyhow::bail!("the consumer was cancelled by the broker")
    }
}

impl RabbitMq {
    /// Publishes again what sits in `agon.unrouted` (events that had no queue when they were published — say, a
    /// consumer deployed without `agon migrate`): each goes back to the topic exchange with its routing key,
    /// confirmed before it is removed from `agon.unrouted`. Still unroutable, it returns there. Handles at most
    /// the messages present when it starts; returns how many were published again.
    pub async fn replay_unrouted(&self) -> anyhow::Result<u32> {
        let channel = self.channel().await?;
        declare_exchanges(&channel, &self.names).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let present = channel
            .queue_declare(
                self.names.unrouted.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?
            .message_count();
        let mut replayed = 0;
        while replayed < present {
            let Some(message) = channel
                .basic_get(
                    self.names.unrouted.as_str().into(),
                    BasicGetOptions::default(),
                )
                .await?
            else {
                break;
            };
            let delivery = message.delivery;
            let confirm = channel
                .basic_publish(
                    self.names.exchange.as_str().into(),
                    delivery.routing_key.clone(),
                    BasicPublishOptions::default(),
                    &delivery.data,
                    delivery.properties.clone(),
                )
                .await?
                .await?;
            if !matches!(confirm, Confirmation::Ack(_)) {
                anyhow::bail!("RabbitMQ refused a replayed event");
            }
            delivery.ack(BasicAckOptions::default()).await?;
            replayed += 1;
        }
        Ok(replayed)
    }
}

async fn declare_exchanges(channel: &Channel, names: &Names) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            names.unrouted.as_str().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            names.unrouted.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            names.unrouted.as_str().into(),
            names.unrouted.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut arguments = FieldTable::default();
    arguments.insert(
        "alternate-exchange".into(),
        AMQPValue::LongString(names.unrouted.as_str().into()),
    );
    channel
        .exchange_declare(
            names.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            arguments,
        )
        .await?;
    Ok(())
}

async fn declare_queue(
    channel: &Channel,
    names: &Names,
    consumer: &str,
    topics: &[String],
) -> anyhow::Result<String> {
    declare_exchanges(channel, names).await?;
    let queue = names.queue(consumer);
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    for topic in topics {
        channel
            .queue_bind(
                queue.as_str().into(),
                names.exchange.as_str().into(),
                topic.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(queue)
}

#[async_trait::async_trait]
impl Broker for RabbitMq {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        // Sending holds the channel (batches go out whole and in order); waiting for confirms does not, so the
        // relay's next batch is sent meanwhile.
        let confirms = {
            let mut slot = self.publisher.lock().await;
            let channel = match slot.as_ref() {
                Some(channel) if channel.status().connected() => channel.clone(),
                _ => {
                    let channel = self.channel().await?;
                    channel
                        .confirm_select(ConfirmSelectOptions::default())
                        .await?;
                    *slot = Some(channel.clone());
                    channel
                }
            };
            let sent = async {
                let mut confirms = Vec::with_capacity(batch.len());
                for envelope in batch {
                    let properties = BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_content_type("application/json".into())
                        .with_message_id(envelope.id.to_string().into())
                        .with_timestamp(envelope.occurred_at.timestamp().try_into().unwrap_or(0));
                    let confirm = channel
                        .basic_publish(
                            self.names.exchange.as_str().into(),
                            envelope.topic.as_str().into(),
                            BasicPublishOptions::default(),
                            &serde_json::to_vec(envelope)?,
                            properties,
                        )
                        .await?;
                    confirms.push(confirm);
                }
                anyhow::Ok(confirms)
            }
            .await;
            match sent {
                Ok(confirms) => confirms,
                Err(error) => {
                    // The channel may be half-broken; the next batch starts on a fresh one.
                    *slot = None;
                    return Err(error);
                }
            }
        };
        let outcome = async {
            for confirm in confirms {
                match confirm.await? {
                    Confirmation::Ack(_) => {}
                    Confirmation::Nack(_) => anyhow::bail!("RabbitMQ refused an event (nack)"),
                    Confirmation::NotRequested => {
                        anyhow::bail!("the publishing channel is not in confirm mode")
                    }
                }
            }
            Ok(())
        }
        .await;
        if outcome.is_err() {
            *self.publisher.lock().await = None;
        }
        outcome
    }

    fn pipelined(&self) -> bool {
        true
    }

    async fn subscribe(
        &self,
        consumer: &str,
        topics: &[&str],
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<()> {
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        // Declared now, so events published from here on are kept for this consumer even before it runs.
        declare_queue(&self.channel().await?, &self.names, consumer, &topics).await?;
        if !self.consume {
            return Ok(());
        }
        let me = Self {
            url: self.url.clone(),
            names: self.names.clone(),
            consume: true,
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
        };
        let consumer = consumer.to_owned();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let started = tokio::time::Instant::now();
                if let Err(error) = me.consume(&consumer, &topics, &handler).await {
                    tracing::warn!(
                        consumer,
                        error = format!("{error:#}"),
                        "RabbitMQ consumer stopped; reconnecting"
                    );
                    // The next attempt opens a connection of its own: this one may look open and be dead.
                    me.connection.lock().await.take();
                }
                if started.elapsed() > Duration::from_secs(10) {
                    backoff = Duration::from_millis(100);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        Ok(())
    }

    async fn ready(&self) -> bool {
        self.connection().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_beat_every_ten_seconds_unless_the_url_says_otherwise() {
        assert_eq!(
            with_heartbeat("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=10"
        );
        assert_eq!(
            with_heartbeat("amqp://h/v?frame_max=8192"),
            "amqp://h/v?frame_max=8192&heartbeat=10"
        );
        assert_eq!(
            with_heartbeat("amqp://h/v?heartbeat=30"),
            "amqp://h/v?heartbeat=30"
        );
    }
}
