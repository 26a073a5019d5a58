//! Shop events relayed to another system's RabbitMQ, in the message contract of a shop notifier: an item put on
//! sale and an item bought, each `{"email", "item", "price"}` (the member's email, the item's name, the price in
//! major units) as persistent JSON on a durable topic exchange, under a routing key per kind. little-ecom's
//! notifier reads exactly these (`ecom-exchange`, `ecom.item.add`, `ecom.item.buy`: its profile's defaults).
//!
//! Each event is published from its consumer and confirmed by the broker before the consumer commits, so an
//! event is relayed at least once: a broker that is down is retried with back-off, then dead-lettered (`agon bus
//! dlq`), never dropped quietly.

use std::sync::Arc;

use agon_bus::{Consume, Envelope};
use agon_db::Tx;
use agon_messages::shop::{ItemAdded, OrderCompleted};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::store::Store;

/// Where shop events are relayed (`[notifications.relay]`); without a `url`, nowhere.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// The other system's RabbitMQ (`amqp://user:password@host:5672/`).
    pub url: Option<String>,
    /// Its topic exchange, declared durable when absent.
    pub exchange: String,
    /// The routing key of an item put on sale; empty: not relayed.
    pub item_added: String,
    /// The routing key of an item bought (an order completed); empty: not relayed.
    pub item_bought: String,
}

#[derive(Clone)]
pub struct Relay {
    url: String,
    config: Arc<RelayConfig>,
    /// One confirming channel, opened on first use and again after a failure.
    channel: Arc<Mutex<Option<Channel>>>,
}

/// Subscribes the relay's consumers when it is configured.
pub async fn subscribe(
    skeleton: &mut agon_kit::Skeleton,
    config: &RelayConfig,
) -> anyhow::Result<()> {
    let Some(url) = config.url.clone() else {
        return Ok(());
    };
    anyhow::ensure!(
        !config.exchange.is_empty(),
        "notifications.relay.exchange is empty"
    );
    let relay = Relay {
        url,
        config: Arc::new(config.clone()),
        channel: Arc::new(Mutex::new(None)),
    };
    if !config.item_added.is_empty() {
        skeleton
            .consume::<ItemAdded>("notifications.relay.item_added", relay.clone())
            .await?;
    }
    if !config.item_bought.is_empty() {
        skeleton
            .consume::<OrderCompleted>("notifications.relay.item_bought", relay)
            .await?;
    }
    Ok(())
}

impl Relay {
    /// Publishes `{email, item, price}` for `member` under `key`, confirmed; nothing for a member with no email.
    async fn send(
        &self,
        tx: &mut Tx,
        key: &str,
        member: Uuid,
        item: &str,
        minor: i64,
    ) -> anyhow::Result<()> {
        let recipients = Store::recipients(tx, Some(&[member])).await?;
        // The recipient projection follows registrations; a member it does not know yet is retried.
        let recipient = recipients
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("member {member} is not known here yet"))?;
        let Some(email) = recipient.email else {
            tracing::info!(%member, key, "not relayed: the member has no email");
            return Ok(());
        };
        let body =
            serde_json::json!({ "email": email, "item": item, "price": minor as f64 / 100.0 });
        self.publish(key, &serde_json::to_vec(&body)?).await
    }

    async fn publish(&self, key: &str, payload: &[u8]) -> anyhow::Result<()> {
        let mut slot = self.channel.lock().await;
        let channel = match slot.as_ref() {
            Some(channel) if channel.status().connected() => channel.clone(),
            _ => {
                let channel = self.open().await?;
                *slot = Some(channel.clone());
                channel
            }
        };
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into());
        let confirmed = async {
            let confirm = channel
                .basic_publish(
                    self.config.exchange.as_str().into(),
                    key.into(),
                    BasicPublishOptions::default(),
                    payload,
                    properties,
                )
                .await?;
            match confirm.await? {
                Confirmation::Ack(_) => Ok(()),
                other => Err(anyhow::anyhow!(
                    "the relay's broker did not confirm: {other:?}"
                )),
            }
        }
        .await;
        if confirmed.is_err() {
            *slot = None;
        }
        confirmed
    }

    async fn open(&self) -> anyhow::Result<Channel> {
        let connect = Connection::connect(&self.url, ConnectionProperties::default());
        let connection = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
            .await
            .map_err(|_| anyhow::anyhow!("connecting to the relay's RabbitMQ timed out"))??;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                self.config.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        Ok(channel)
    }
}

impl Consume<ItemAdded> for Relay {
    async fn consume(&self, tx: &mut Tx, e: ItemAdded, _: &Envelope) -> anyhow::Result<()> {
        self.send(tx, &self.config.item_added, e.seller_id, &e.name, e.price)
            .await
    }
}

impl Consume<OrderCompleted> for Relay {
    async fn consume(&self, tx: &mut Tx, e: OrderCompleted, _: &Envelope) -> anyhow::Result<()> {
        self.send(
            tx,
            &self.config.item_bought,
            e.buyer_id,
            &e.item_name,
            e.amount,
        )
        .await
    }
}
