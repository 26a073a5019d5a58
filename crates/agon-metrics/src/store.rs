//! All SQL of the metrics service: the append-only `events` store and the `daily_counts` projection.

use agon_bus::Envelope;
use agon_db::{Db, Dialect, Row, Tx, query, query_as};
use uuid::Uuid;

/// A (metric, dimension, day) key of the projection.
pub type Key = (String, String, String);

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A stored event as the rebuild reads it.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub seq: i64,
    pub topic: String,
    pub occurred_at: String,
    #[sqlx(try_from = "agon_db::JsonText")]
    pub payload: serde_json::Value,
}

/// A stored event as the API shows it.
#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub topic: String,
    pub source: String,
    pub occurred_at: String,
    #[sqlx(try_from = "agon_db::JsonText")]
    pub payload: serde_json::Value,
}

/// Which stored events to list: newest first, before `before` (a sequence number).
pub struct EventFilter {
    pub topic: Option<String>,
    /// First day as `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// The day after the last one, exclusive.
    pub until: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
    /// Only events whose payload has this text field (a checked name) with this value.
    pub field: Option<(String, String)>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Appends `envelope` to the store inside `tx`; false when it was there already.
    pub async fn append(
        tx: &mut Tx,
        envelope: &Envelope,
        occurred_at: &str,
    ) -> anyhow::Result<bool> {
        let inserted = query(
            "insert into events (id, topic, source, occurred_at, payload, stored_at) values ($1, $2, $3, $4, $5, $6) \
             on conflict (id) do nothing",
            (
                envelope.id.to_string(),
                &envelope.topic,
                &envelope.source,
                occurred_at,
                // Personal payloads (a verification photo) are for their consumers alone: the store keeps that
                // the event happened.
                if agon_messages::PERSONAL_TOPICS.contains(&envelope.topic.as_str()) {
                    "{}".to_owned()
                } else {
                    envelope.payload.to_string()
                },
                agon_db::now_text(),
            ),
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Adds `n` to the count under `key`.
    pub async fn add(tx: &mut Tx, (metric, dimension, day): &Key, n: i64) -> anyhow::Result<()> {
        query(
            "insert into daily_counts (metric, dimension, day, count) values ($1, $2, $3, $4) \
             on conflict (metric, dimension, day) do update set count = daily_counts.count + excluded.count",
            (metric, dimension, day, n),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every count of the days from `from` to `to` (`YYYY-MM-DD`, inclusive): key and count.
    pub async fn daily_counts(&self, from: &str, to: &str) -> anyhow::Result<Vec<(Key, i64)>> {
        let sql =
            "select metric, dimension, day, count from daily_counts where day >= $1 and day <= $2";
        let rows: Vec<(String, String, String, i64)> =
            query_as(sql, (from, to)).fetch_all(self.db.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|(metric, dimension, day, count)| ((metric, dimension, day), count))
            .collect())
    }

    /// Stored events matching `filter`, newest first. Day bounds compare as text: stored times are fixed-width
    /// RFC 3339 UTC.
    pub async fn events(&self, filter: EventFilter) -> anyhow::Result<Vec<EventRow>> {
        // A payload field, read the way each engine reads JSON text (the name is checked by the caller, so it
        // is a plain key in SQLite's path).
        let field = match self.db.dialect() {
            Dialect::Postgres => "(payload::jsonb ->> $6)",
            Dialect::Sqlite => "json_extract(payload, '$.' || $6)",
        };
        let sql = format!(
            "select seq, id, topic, source, occurred_at, payload from events \
             where ($1 is null or topic = $1) and ($2 is null or occurred_at >= $2) \
             and ($3 is null or occurred_at < $3) and ($4 is null or seq < $4) \
             and ($6 is null or {field} = $7) order by seq desc limit $5"
        );
        let (name, value) = filter.field.unzip();
        let params = (
            filter.topic,
            filter.from,
            filter.until,
            filter.before,
            filter.limit,
            name,
            value,
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    /// How many events are stored.
    pub async fn count(db: &Db) -> anyhow::Result<i64> {
        let row = query("select count(*) as n from events", ())
            .fetch_one(db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Up to `limit` stored events after sequence number `after`, in order.
    pub async fn scan(db: &Db, after: i64, limit: i64) -> anyhow::Result<Vec<Stored>> {
        let sql = "select seq, topic, occurred_at, payload from events where seq > $1 order by seq limit $2";
        Ok(query_as(sql, (after, limit)).fetch_all(db.pool()).await?)
    }

    /// Starts the swap of a rebuilt projection: a transaction that holds `daily_counts` against concurrent
    /// counting (SQLite's immediate transaction already excludes other writers).
    pub async fn begin_swap(db: &Db) -> anyhow::Result<Tx> {
        let mut tx = db.begin().await?;
        if db.dialect() == Dialect::Postgres {
            query("lock table daily_counts in exclusive mode", ())
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Events after sequence number `after` or stored since `since`: what a scan may not have seen.
    pub async fn late(tx: &mut Tx, after: i64, since: &str) -> anyhow::Result<Vec<Stored>> {
        let sql =
            "select seq, topic, occurred_at, payload from events where seq > $1 or stored_at >= $2";
        Ok(query_as(sql, (after, since)).fetch_all(&mut **tx).await?)
    }

    /// Replaces the whole projection with `counts`, inside the swap transaction.
    pub async fn replace_counts(
        tx: &mut Tx,
        counts: impl IntoIterator<Item = (&Key, &i64)>,
    ) -> anyhow::Result<()> {
        query("delete from daily_counts", ())
            .execute(&mut **tx)
            .await?;
        for (key, n) in counts {
            Self::add(tx, key, *n).await?;
        }
        Ok(())
    }
}
