//! The in-process broker of `agon up`: delivery is a function call, and `publish` returns only after every
//! subscriber processed (or dead-lettered) the batch, so the publishing outbox keeps an event until its effects
//! are committed. A crash in between means redelivery at the next start, which the inbox absorbs.

use std::sync::{Arc, Mutex};

use crate::{Broker, Envelope, Handler, deliver_batch};

#[derive(Default)]
pub struct InProcess {
    /// Copied out before delivering, so no lock is held across a delivery and `close` never waits.
    subscriptions: Mutex<Vec<Arc<Subscription>>>,
}

struct Subscription {
    consumer: String,
    topics: Vec<String>,
    handler: Arc<dyn Handler>,
}

#[async_trait::async_trait]
impl Broker for InProcess {
    async fn publish(&self, batch: &[Envelope]) -> anyhow::Result<()> {
        let subscriptions = self.subscriptions();
        for sub in subscriptions.iter() {
            let wants = |e: &Envelope| {
                sub.topics
                    .iter()
                    .any(|t| t == &e.topic || t == agon_messages::ALL_TOPICS)
            };
            // Copies only when the subscriber takes part of the batch.
            let subset: Vec<Envelope>;
            let mine: &[Envelope] = if batch.iter().all(wants) {
                batch
            } else {
                subset = batch.iter().filter(|e| wants(e)).cloned().collect();
                &subset
            };
            if mine.is_empty() {
                continue;
            }
            let done = deliver_batch(&sub.consumer, sub.handler.as_ref(), mine).await;
            if done.contains(&false) {
                // The outbox keeps the batch; consumers that already applied it skip it next time (inbox).
                anyhow::bail!("consumer {} could not take every event", sub.consumer);
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
        let mut subscriptions = self.lock();
        if subscriptions.iter().any(|s| s.consumer == consumer) {
            anyhow::bail!("consumer {consumer} is already subscribed");
        }
        subscriptions.push(Arc::new(Subscription {
            consumer: consumer.to_owned(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            handler,
        }));
        Ok(())
    }

    async fn ready(&self) -> bool {
        true
    }

    fn close(&self) {
        self.lock().clear();
    }
}

impl InProcess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Subscription>>> {
        // A panic while holding the lock leaves a plain Vec behind: still usable.
        self.subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.lock().clone()
    }
}
