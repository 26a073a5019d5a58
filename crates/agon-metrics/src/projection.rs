//! The event store and the business-metrics projection built from it.
//!
//! Every event is appended once (its id is unique) and, in the same transaction, counted into `daily_counts`
//! under the metrics [`RULES`] give it. The projection is incremental and can be rebuilt from the store at any
//! time ([`rebuild`]), for instance after a rule was added: events already stored then count too.

use std::collections::{HashMap, HashSet};

use agon_bus::Envelope;
use agon_db::{Db, Tx};

use crate::store::{Key, Store, Stored};

/// One metric an event counts toward: its name and the payload field that breaks it down (or none).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub topic: &'static str,
    pub metric: &'static str,
    pub dimension: Option<&'static str>,
}

/// Which events count as which metric. A new metric is a row here (and a rebuild for the past).
pub const RULES: &[Rule] = &[
    rule("auth.user_registered.v1", "sign_ups", Some("method")),
    rule("auth.logged_in.v1", "logins", Some("method")),
    rule("auth.password_changed.v1", "password_changes", Some("via")),
    rule(
        "auth.verification_requested.v1",
        "verification_requests",
        None,
    ),
    rule("users.user_approved.v1", "approvals", None),
    rule("users.user_banned.v1", "users_blocked", None),
    rule("users.user_unbanned.v1", "users_unblocked", None),
    rule("users.roles_changed.v1", "role_changes", None),
    rule("users.user_deleted.v1", "users_deleted", None),
    rule("users.user_followed.v1", "follows", None),
    rule(
        "trainings.training_created.v1",
        "trainings_created",
        Some("kind"),
    ),
    rule(
        "trainings.training_favourited.v1",
        "trainings_favourited",
        None,
    ),
    rule("trainings.training_scored.v1", "trainings_scored", None),
    rule(
        "trainings.course_created.v1",
        "courses_created",
        Some("category"),
    ),
    rule("trainings.course_enrolled.v1", "course_enrolments", None),
    rule("trainings.lesson_completed.v1", "lessons_completed", None),
    rule(
        "trainings.assessment_submitted.v1",
        "assessment_submissions",
        None,
    ),
    rule("trainings.course_completed.v1", "courses_completed", None),
    rule(
        "trainings.certificate_issued.v1",
        "certificates_issued",
        None,
    ),
    rule(
        "tournaments.tournament_created.v1",
        "tournaments_created",
        Some("format"),
    ),
    rule(
        "tournaments.participant_approved.v1",
        "tournament_entries",
        None,
    ),
    rule("tournaments.result_recorded.v1", "tournament_results", None),
    rule(
        "tournaments.registration_opened.v1",
        "tournament_registrations_opened",
        None,
    ),
    // One event per player told: players called to a court and time, and to a match ready to play.
    rule(
        "tournaments.match_scheduled.v1",
        "tournament_players_scheduled",
        None,
    ),
    rule(
        "tournaments.match_ready.v1",
        "tournament_players_called",
        None,
    ),
    rule("shop.item_added.v1", "shop_items_added", Some("currency")),
    rule(
        "shop.order_completed.v1",
        "shop_orders_completed",
        Some("currency"),
    ),
    rule(
        "shop.order_cancelled.v1",
        "shop_orders_cancelled",
        Some("reason"),
    ),
    rule(
        "ledger.transaction_recorded.v1",
        "ledger_transactions",
        Some("kind"),
    ),
    rule(
        "tournaments.result_disputed.v1",
        "tournament_results_disputed",
        None,
    ),
    rule(
        "tournaments.tournament_completed.v1",
        "tournaments_completed",
        None,
    ),
    rule(
        "targets.target_created.v1",
        "targets_created",
        Some("metric"),
    ),
    rule(
        "targets.target_completed.v1",
        "targets_completed",
        Some("metric"),
    ),
    rule(
        "targets.activity_reported.v1",
        "activity_reports",
        Some("metric"),
    ),
];

const fn rule(topic: &'static str, metric: &'static str, dimension: Option<&'static str>) -> Rule {
    Rule {
        topic,
        metric,
        dimension,
    }
}

/// The metric names, for validating queries.
pub fn metrics() -> Vec<&'static str> {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.metric).collect();
    names.dedup();
    names
}

/// The (metric, dimension, day) keys one event counts toward.
fn keys(topic: &str, occurred_at: &str, payload: &serde_json::Value) -> Vec<Key> {
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
    let occurred_at = agon_db::time_text(envelope.occurred_at);
    if Store::append(tx, envelope, &occurred_at).await? {
        for key in keys(&envelope.topic, &occurred_at, &envelope.payload) {
            Store::add(tx, &key, 1).await?;
        }
    }
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
    let total = Store::count(db).await?;
    // On PostgreSQL sequence numbers are taken at insert, not at commit: an event can appear behind the scan.
    // Whatever was stored since shortly before the scan began is checked again under the lock below.
    let recheck_from = agon_db::time_text(chrono::Utc::now() - chrono::Duration::minutes(5));
    let mut counts: HashMap<Key, i64> = HashMap::new();
    let mut scanned = HashSet::new();
    let mut last_seq = 0_i64;
    let mut done = 0_i64;
    loop {
        let events = Store::scan(db, last_seq, batch).await?;
        if events.is_empty() {
            break;
        }
        for event in &events {
            last_seq = event.seq;
            scanned.insert(event.seq);
            tally(&mut counts, event);
        }
        done += events.len() as i64;
        progress(done, total.max(done));
    }
    let mut tx = Store::begin_swap(db).await?;
    // What the scan did not see (stored meanwhile, and counted incrementally) is counted here from scratch.
    let mut late = 0_i64;
    for event in Store::late(&mut tx, last_seq, &recheck_from).await? {
        if scanned.insert(event.seq) {
            tally(&mut counts, &event);
            late += 1;
        }
    }
    Store::replace_counts(&mut tx, &counts).await?;
    tx.commit().await?;
    Ok(done + late)
}

fn tally(counts: &mut HashMap<Key, i64>, event: &Stored) {
    for key in keys(&event.topic, &event.occurred_at, &event.payload) {
        *counts.entry(key).or_default() += 1;
    }
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
