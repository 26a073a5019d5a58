//! The WebSocket hub: which members are connected to this process, and how a message reaches them wherever they
//! are connected.
//!
//! Alone (`agon up`) the hub hands a message straight to its local connections. With Redis (`agon serve`), every
//! message is published on one Redis channel and every replica — this one included — delivers it to its own
//! connections, so a member connected to replica A gets what replica B sends. The database stays the record:
//! what a connection misses (slow, reconnecting, a Redis hiccup) it gets back by resuming from its last id.
//!
//! Each connection has a bounded queue. A client that does not keep up is cut off when its queue is full instead
//! of slowing the sender or the others; it reconnects and resumes.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use agon_kit::pubsub::Channel;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

/// A text frame as connections queue it.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Messages one connection may have waiting before it counts as too slow.
pub const QUEUE: usize = 256;

/// A message for connected members: some, or everyone connected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Push {
    /// `None`: every connection (a broadcast).
    pub users: Option<Vec<Uuid>>,
    /// The text frame, already serialised once for all recipients.
    pub frame: String,
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    connections: RwLock<HashMap<Uuid, Vec<Connection>>>,
    next_id: AtomicU64,
    redis: Option<Arc<Channel>>,
}

struct Connection {
    id: u64,
    queue: mpsc::Sender<Frame>,
}

/// A live connection's registration; dropping it unregisters.
pub struct Registration {
    hub: Hub,
    user: Uuid,
    id: u64,
}

impl Hub {
    /// A hub for one process.
    pub fn local() -> Self {
        Self::with(None)
    }

    /// A hub shared by replicas through the Redis `channel`. Returns the task that receives from Redis.
    pub async fn redis(
        url: &str,
        channel: &str,
    ) -> anyhow::Result<(
        Self,
        impl Future<Output = anyhow::Result<()>> + Send + 'static,
    )> {
        let channel = Arc::new(Channel::connect(url, channel).await?);
        // Subscribed before returning: nothing published after start-up is missed by this replica.
        let first = channel.subscribe().await?;
        let hub = Self::with(Some(channel.clone()));
        let receiving = hub.clone();
        let receiver = async move {
            channel
                .follow(Some(first), |push: Push| receiving.dispatch(push))
                .await;
            Ok(())
        };
        Ok((hub, receiver))
    }

    fn with(redis: Option<Arc<Channel>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                connections: RwLock::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                redis,
            }),
        }
    }

    /// Registers a connection of `user`; messages for it arrive on the receiver.
    pub fn register(&self, user: Uuid) -> (Registration, mpsc::Receiver<Frame>) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.write()
            .entry(user)
            .or_default()
            .push(Connection { id, queue });
        metrics::gauge!("agon_ws_connections").increment(1.0);
        (
            Registration {
                hub: self.clone(),
                user,
                id,
            },
            receiver,
        )
    }

    /// Connections held by this process.
    pub fn connections(&self) -> usize {
        self.read().values().map(Vec::len).sum()
    }

    /// Sends `push` to its recipients' connections, on every replica. Delivery to connections is best effort by
    /// design (the database holds every notification); a Redis failure is logged, not returned.
    pub async fn publish(&self, push: Push) {
        match &self.inner.redis {
            Some(channel) => channel.publish(&push).await,
            None => self.dispatch(push),
        }
    }

    /// Hands `push` to this process's connections; cuts off those whose queue is full.
    fn dispatch(&self, push: Push) {
        // Serialised once; every connection shares the same bytes (a reference count, no copy).
        let frame = Frame::from(push.frame);
        let mut slow = Vec::new();
        {
            let connections = self.read();
            let mut offer = |user: &Uuid, list: &Vec<Connection>| {
                for connection in list {
                    if let Err(mpsc::error::TrySendError::Full(_)) =
                        connection.queue.try_send(frame.clone())
                    {
                        slow.push((*user, connection.id));
                    }
                }
            };
            match &push.users {
                None => connections.iter().for_each(|(u, l)| offer(u, l)),
                Some(users) => users.iter().for_each(|u| {
                    if let Some(list) = connections.get(u) {
                        offer(u, list);
                    }
                }),
            }
        }
        for (user, id) in slow {
            tracing::info!(%user, connection = id, "WebSocket client too slow; disconnected");
            self.unregister(user, id);
        }
    }

    fn unregister(&self, user: Uuid, id: u64) {
        let mut connections = self.write();
        if let Some(list) = connections.get_mut(&user) {
            let before = list.len();
            list.retain(|c| c.id != id);
            if list.len() < before {
                metrics::gauge!("agon_ws_connections").decrement(1.0);
            }
            if list.is_empty() {
                connections.remove(&user);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Uuid, Vec<Connection>>> {
        self.inner
            .connections
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Uuid, Vec<Connection>>> {
        self.inner
            .connections
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.user, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slow_connection_is_cut_off_without_holding_up_others() {
        let hub = Hub::local();
        let (slow, mut slow_rx) = hub.register(Uuid::nil());
        let (_fast, mut fast_rx) = hub.register(Uuid::max());
        for i in 0..QUEUE + 10 {
            hub.publish(Push {
                users: None,
                frame: i.to_string(),
            })
            .await;
            // The fast client reads everything as it comes.
            assert_eq!(&*fast_rx.recv().await.unwrap(), i.to_string());
        }
        assert_eq!(hub.connections(), 1, "the slow connection was dropped");
        let mut got = 0;
        while slow_rx.recv().await.is_some() {
            got += 1;
        }
        assert_eq!(got, QUEUE, "it kept what fitted, then its queue closed");
        drop(slow);
    }

    #[tokio::test]
    async fn targeted_messages_reach_only_their_recipients() {
        let hub = Hub::local();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (_ra, mut rx_a) = hub.register(a);
        let (_rb, mut rx_b) = hub.register(b);
        hub.publish(Push {
            users: Some(vec![a]),
            frame: "for a".into(),
        })
        .await;
        assert_eq!(&*rx_a.recv().await.unwrap(), "for a");
        assert!(rx_b.try_recv().is_err());
    }
}
