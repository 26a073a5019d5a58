//! The event store and the business-metrics projection built from it.
//!
//! Every event is appended once (its id is unique) and, in the same transaction, counted into `daily_counts`
//! under the metrics [`RULES`] give it. The projection is incremental and can be rebuilt from the store at any
//! time ([`rebuild`]), for instance after a rule was added: events already stored then count too.

use std::collections::HashMap;

use agon_bus::Envelope;
use agon_db::{Db, Dialect, Row, Tx};

/// One metric an event counts toward: its name and the payload field that breaks it down (or none).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub topic: &'static str,
    pub metric: &'static str,
    pub dimension: Option<&'static str>,
}

/// Which events count as which metric. A new metric is a row here (and a rebuild for the past).
pub const RULES: &[Rule] = &[
    Rule {
        topic: "auth.user_registered.v1",
        metric: "sign_ups",
        dimension: Some("method"),
    },
    Rule {
        topic: "auth.logged_in.v1",
        metric: "logins",
        dimension: Some("method"),
    },
    Rule {
        topic: "auth.password_changed.v1",
        metric: "password_changes",
        dimension: Some("via"),
    },
    Rule {
        topic: "auth.verification_requested.v1",
        metric: "verification_requests",
        dimension: None,
    },
    Rule {
        topic: "users.user_approved.v1",
        metric: "approvals",
        dimension: None,
    },
    Rule {
        topic: "users.user_banned.v1",
        metric: "users_blocked",
        dimension: None,
    },
    Rule {
        topic: "users.user_unbanned.v1",
        metric: "users_unblocked",
        dimension: None,
    },
    Rule {
        topic: "users.roles_changed.v1",
        metric: "role_changes",
        dimension: None,
    },
    Rule {
        topic: "users.user_deleted.v1",
        metric: "users_deleted",
        dimension: None,
    },
    Rule {
        topic: "users.user_followed.v1",
        metric: "follows",
        dimension: None,
    },
];

/// The metric names, for validating queries.
pub fn metrics() -> Vec<&'static str> {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.metric).collect();
    names.dedup();
    names
}

/// (metric, dimension, day) keys one event counts toward.
fn keys(
    topic: &str,
    occurred_at: &str,
    payload: &serde_json::Value,
) -> Vec<(String, String, String)> {
    let day = occurred_at.get(..10).unwrap_or(occurred_at).to_owned();
    RULES
        .iter()
        .filter(|r| r.topic == topic)
        .map(|r| {
            let dimension = r
                .dimension
                .and_then(|field| payload.get(field))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned();
            (r.metric.to_owned(), dimension, day.clone())
        })
        .collect()
}

/// Appends `envelope` to the store and counts it, inside `tx`. A second delivery of the same event changes
/// nothing (the inbox already stops it; the unique id would too).
pub async fn append(tx: &mut Tx, envelope: &Envelope) -> anyhow::Result<()> {
    let occurred_at = envelope
        .occurred_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let fresh = sqlx::query(
        "insert into events (id, topic, source, occurred_at, payload, stored_at) values ($1, $2, $3, $4, $5, $6) \
         on conflict (id) do nothing",
    )
    .bind(envelope.id.to_string())
    .bind(&envelope.topic)
    .bind(&envelope.source)
    .bind(&occurred_at)
    .bind(envelope.payload.to_string())
    .bind(agon_bus::now_text())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if fresh {
        for key in keys(&envelope.topic, &occurred_at, &envelope.payload) {
            add(tx, &key, 1).await?;
        }
    }
    Ok(())
}

async fn add(
    tx: &mut Tx,
    (metric, dimension, day): &(String, String, String),
    n: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "insert into daily_counts (metric, dimension, day, count) values ($1, $2, $3, $4) \
         on conflict (metric, dimension, day) do update set count = daily_counts.count + excluded.count",
    )
    .bind(metric)
    .bind(dimension)
    .bind(day)
    .bind(n)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Recomputes `daily_counts` from the whole event store, `batch` events at a time, calling `progress(done,
/// total)` after each batch. Safe while the service consumes: the final swap holds the table against concurrent
/// counting and also counts whatever was stored after the scan.
pub async fn rebuild(
    db: &Db,
    batch: i64,
    mut progress: impl FnMut(i64, i64),
) -> anyhow::Result<i64> {
    let total: i64 = sqlx::query("select count(*) as n from events")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    // On PostgreSQL sequence numbers are taken at insert, not at commit: an event can appear behind the scan.
    // Whatever was stored since shortly before the scan began is checked again under the lock below.
    let recheck_from = (chrono::Utc::now() - chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut counts: HashMap<(String, String, String), i64> = HashMap::new();
    let mut scanned = std::collections::HashSet::new();
    let mut last_seq = 0_i64;
    let mut done = 0_i64;
    loop {
        let rows = sqlx::query(
            "select seq, topic, occurred_at, payload from events where seq > $1 order by seq limit $2",
        )
        .bind(last_seq)
        .bind(batch)
        .fetch_all(db.pool())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            last_seq = row.try_get("seq")?;
            scanned.insert(last_seq);
            tally(&mut counts, row)?;
        }
        done += rows.len() as i64;
        progress(done, total.max(done));
    }
    let mut tx = db.begin().await?;
    if db.dialect() == Dialect::Postgres {
        // Consumers counting meanwhile wait for the swap; SQLite's immediate transaction already excludes them.
        sqlx::query("lock table daily_counts in exclusive mode")
            .execute(&mut *tx)
            .await?;
    }
    // What the scan did not see (stored meanwhile, and counted incrementally) is counted here from scratch.
    let recent = sqlx::query(
        "select seq, topic, occurred_at, payload from events where seq > $1 or stored_at >= $2",
    )
    .bind(last_seq)
    .bind(recheck_from)
    .fetch_all(&mut *tx)
    .await?;
    let mut late = 0_i64;
    for row in &recent {
        if scanned.insert(row.try_get::<i64, _>("seq")?) {
            tally(&mut counts, row)?;
            late += 1;
        }
    }
    sqlx::query("delete from daily_counts")
        .execute(&mut *tx)
        .await?;
    for (key, n) in &counts {
        add(&mut tx, key, *n).await?;
    }
    tx.commit().await?;
    Ok(done + late)
}

fn tally(
    counts: &mut HashMap<(String, String, String), i64>,
    row: &agon_db::AnyRow,
) -> anyhow::Result<()> {
    let payload: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>("payload")?)?;
    let topic: String = row.try_get("topic")?;
    let occurred_at: String = row.try_get("occurred_at")?;
    for key in keys(&topic, &occurred_at, &payload) {
        *counts.entry(key).or_default() += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_counts_under_its_rules_by_utc_day() {
        let payload = serde_json::json!({"method": "sso"});
        assert_eq!(
            keys("auth.logged_in.v1", "2026-03-04T23:59:59.000000Z", &payload),
            [(
                "logins".to_owned(),
                "sso".to_owned(),
                "2026-03-04".to_owned()
            )]
        );
        assert!(keys("unknown.topic.v1", "2026-03-04T00:00:00Z", &payload).is_empty());
        assert_eq!(
            keys("users.user_banned.v1", "2026-03-04T00:00:00Z", &payload)[0].1,
            "",
            "no breakdown"
        );
    }
}
