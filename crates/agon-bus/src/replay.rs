//! Replaying dead letters an operator marked (`agon bus dlq replay`), in the consumers' own process, and pruning
//! the inbox: one loop per service database for all of its consumers here, so a service's fixed cost does not grow
//! with the topics it follows.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use agon_db::{Db, query, time_text};
use chrono::Utc;
use sqlx::{AssertSqlSafe, FromRow};

use crate::{Envelope, Handler, deliver};

/// How often a service looks for dead letters an operator asked to replay.
pub const REPLAY_POLL: Duration = Duration::from_secs(2);

/// How long a consumer remembers the events it processed. A redelivery comes within minutes (broker
/// requeue) or, after a relay crash between publishing and cleaning up, when the relay runs again; a month
/// covers any outage worth surviving while keeping the inbox from growing without bound.
pub const INBOX_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// A dead letter marked for replay.
#[derive(sqlx::FromRow)]
struct Marked {
    consumer: String,
    #[sqlx(flatten)]
    envelope: Envelope,
}

/// The replay loops of one process, by service database.
#[derive(Default)]
pub(crate) struct Replays {
    groups: Mutex<HashMap<String, Arc<Group>>>,
}

/// The consumers of one service database in this process.
struct Group {
    db: Db,
    handlers: RwLock<HashMap<String, Arc<dyn Handler>>>,
}

impl Replays {
    /// Adds `consumer` to the loop of its database, starting the loop with the database's first consumer.
    pub(crate) fn register(&self, db: &Db, consumer: &str, handler: Arc<dyn Handler>) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let group = groups.entry(db.name().to_owned()).or_insert_with(|| {
            let group = Arc::new(Group {
                db: db.clone(),
                handlers: RwLock::default(),
            });
            tokio::spawn(replay_forever(group.clone()));
            group
        });
        group
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(consumer.to_owned(), handler);
    }
}

/// Replays what an operator marked: the same delivery as the first time, so a success is recorded in the inbox
/// like any other and a renewed failure dead-letters it again (mark cleared).
async fn replay_forever(group: Arc<Group>) {
    // Pruned at the first round, then hourly.
    let mut pruned: Option<tokio::time::Instant> = None;
    loop {
        tokio::time::sleep(REPLAY_POLL).await;
        if let Err(error) = replay_once(&group).await {
            tracing::warn!(
                database = group.db.name(),
                error = format!("{error:#}"),
                "dead-letter replay failed"
            );
        }
        if pruned.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
            pruned = Some(tokio::time::Instant::now());
            if let Err(error) = prune_inbox(&group.db).await {
                tracing::warn!(
                    database = group.db.name(),
                    error = format!("{error:#}"),
                    "inbox pruning failed"
                );
            }
        }
    }
}

async fn prune_inbox(db: &Db) -> anyhow::Result<()> {
    let cutoff = time_text(Utc::now() - chrono::Duration::from_std(INBOX_RETENTION)?);
    let gone = query("delete from inbox where processed_at < $1", (cutoff,))
        .execute(db.pool())
        .await?
        .rows_affected();
    if gone > 0 {
        tracing::info!(database = db.name(), gone, "inbox pruned");
    }
    Ok(())
}

/// Replays up to 100 marked dead letters of this process's consumers, oldest first. Rows of consumers that run
/// elsewhere (or no longer exist) are left alone, so they never hold up the others; one that fails again is
/// dead-lettered again and the round goes on.
async fn replay_once(group: &Group) -> anyhow::Result<()> {
    let handlers = group
        .handlers
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if handlers.is_empty() {
        return Ok(());
    }
    let placeholders = (1..=handlers.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select id, consumer, topic, source, payload, created_at from dead_letters \
         where replay_requested_at is not null and consumer in ({placeholders}) order by created_at limit 100"
    );
    let mut marked = query(AssertSqlSafe(sql), ());
    for consumer in handlers.keys() {
        marked = marked.bind(consumer);
    }
    let marked = marked.try_map(|row: agon_db::AnyRow| Marked::from_row(&row));
    for row in marked.fetch_all(group.db.pool()).await? {
        let (consumer, envelope) = (row.consumer, row.envelope);
        let Some(handler) = handlers.get(&consumer) else {
            continue;
        };
        if let Err(error) = deliver(&consumer, handler.as_ref(), &envelope).await {
            tracing::warn!(consumer, event_id = %envelope.id, error = format!("{error:#}"),
                "dead letter not replayed; kept for the next round");
            continue;
        }
        // Still marked only if it was handled: dead-lettering it again cleared the mark.
        let done = query(
            "delete from dead_letters where id = $1 and consumer = $2 and replay_requested_at is \
             not null",
            (envelope.id.to_string(), &consumer),
        )
        .execute(group.db.pool())
        .await?
        .rows_affected();
        tracing::info!(consumer, event_id = %envelope.id, replayed = done == 1, "dead letter replayed");
    }
    Ok(())
}
