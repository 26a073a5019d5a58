//! Redis pub/sub as the platform uses it between processes of `agon serve`: fast, best-effort pushes (revoked
//! sessions, live notifications) next to a durable record kept elsewhere, so a lost message is late, not lost.

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Serialize, de::DeserializeOwned};

/// One Redis channel: publish JSON messages on it, follow what every process publishes.
pub struct Channel {
    client: redis::Client,
    publisher: redis::aio::ConnectionManager,
    name: String,
}

impl Channel {
    /// Connects the publishing side (reconnecting by itself); fails if Redis cannot be reached now.
    pub async fn connect(url: &str, name: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection_manager().await?;
        Ok(Self {
            client,
            publisher,
            name: name.to_owned(),
        })
    }

    /// Publishes `message` as JSON. A failure is logged, not returned: the durable record still carries it.
    pub async fn publish<T: Serialize>(&self, message: &T) {
        let text = match serde_json::to_string(message) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(channel = %self.name, %error, "unserialisable message");
                return;
            }
        };
        let mut publisher = self.publisher.clone();
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(&self.name)
            .arg(text)
            .query_async(&mut publisher)
            .await;
        if let Err(error) = sent {
            tracing::warn!(channel = %self.name, %error, "Redis publish failed");
        }
    }

    /// A subscription made now, for callers that must not miss what is published once they return.
    pub async fn subscribe(&self) -> anyhow::Result<redis::aio::PubSub> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(&self.name).await?;
        Ok(pubsub)
    }

    /// Hands every message published on the channel to `on_message` until the process stops, starting with
    /// `first` if given and resubscribing with back-off whenever the subscription is lost. Messages that are not
    /// a `T` are logged and skipped.
    pub async fn follow<T: DeserializeOwned>(
        &self,
        first: Option<redis::aio::PubSub>,
        mut on_message: impl FnMut(T),
    ) {
        let mut pubsub = first;
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut current = match pubsub.take() {
                Some(p) => p,
                None => match self.subscribe().await {
                    Ok(p) => {
                        backoff = Duration::from_millis(100);
                        p
                    }
                    Err(error) => {
                        tracing::warn!(channel = %self.name, error = format!("{error:#}"),
                            "Redis subscription failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            let mut messages = current.on_message();
            while let Some(message) = messages.next().await {
                match message
                    .get_payload::<String>()
                    .map_err(anyhow::Error::from)
                    .and_then(|text| Ok(serde_json::from_str::<T>(&text)?))
                {
                    Ok(decoded) => on_message(decoded),
                    Err(error) => tracing::warn!(channel = %self.name,
                        error = format!("{error:#}"), "undecodable message ignored"),
                }
            }
            tracing::warn!(channel = %self.name, "Redis subscription ended; resubscribing");
        }
    }
}
