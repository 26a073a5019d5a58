//! The in-process broker of `agon up`: delivery is a function call, and `publish` returns only after every
//! subscriber processed (or dead-lettered) the batch, so the publishing outbox keeps an event until its effects
//! are committed. A crash in between means redelivery at the next start, which the inbox absorbs.

use std::sync::Arc;

use tokio::sync::RwLock;

use crate::{Broker, Envelope, Handler, deliver};

#[derive(Default)]
pub struct InProcess {
    subscriptions: RwLock<Vec<Subscription>>,
}

struct Subscription {
    consumer: String,
    topics: Vec<String>,
    handler: Arc<dyn Handler>,
}

#[async_trait::async_trait]
impl Broker for InProcess {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        let subscriptions = self.subscriptions.read().await;
        for envelope in batch {
            for sub in subscriptions.iter().filter(|s| {
                s.topics
                    .iter()
                    .any(|t| t == &envelope.topic || t == agon_messages::ALL_TOPICS)
            }) {
                deliver(&sub.consumer, sub.handler.as_ref(), envelope).await?;
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        topics: &[&str],
        handler: Arc<dyn Handler>,
    ) -> anyhow::Result<()> {
        let mut subscriptions = self.subscriptions.write().await;
        if subscriptions.iter().any(|s| s.consumer == consumer) {
            anyhow::bail!("consumer {consumer} is already subscribed");
        }
        subscriptions.push(Subscription {
            consumer: consumer.to_owned(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            handler,
        });
        Ok(())
    }

    async fn ready(&self) -> bool {
        true
    }
}
