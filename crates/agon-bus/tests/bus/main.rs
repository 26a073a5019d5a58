//! The bus end to end on a real database: outbox → relay → broker → inbox-guarded consumer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

use agon_bus::{Broker, Bus, Consume, Envelope, InProcess};
use agon_db::{Databases, Db, Row, Tx};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Scored {
    value: String,
}

impl agon_messages::Event for Scored {
    const TOPIC: &'static str = "test.scored.v1";
}

/// Records each event's value in `effects`; fails its first `failures` calls.
struct Record {
    failures: u32,
    calls: Arc<AtomicU32>,
}

impl Consume<Scored> for Record {
    async fn consume(&self, tx: &mut Tx, event: Scored, _: &Envelope) -> anyhow::Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.failures {
            anyhow::bail!("failure {call}");
        }
        sqlx::query("insert into effects (value) values ($1)")
            .bind(event.value)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

fn databases(dir: &tempfile::TempDir) -> Databases {
    match agon_testkit::test_database_url() {
        Some(url) => Databases::Postgres {
            url,
            schema_prefix: format!("b{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]),
        },
        None => Databases::SqliteDir(dir.path().to_owned()),
    }
}

async fn consumer_db(databases: &Databases) -> Db {
    let db = databases.open("consumer").await.unwrap();
    sqlx::query("create table effects (value text not null)")
        .execute(db.pool())
        .await
        .unwrap();
    db
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

async fn publish(db: &Db, values: &[&str], commit: bool) {
    let mut tx = db.begin().await.unwrap();
    for v in values {
        agon_bus::enqueue(&mut tx, "producer", &Scored { value: (*v).into() })
            .await
            .unwrap();
    }
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn committed_events_take_effect_once_even_when_delivered_twice() {
    let dir = tempfile::tempdir().unwrap();
    let databases = databases(&dir);
    let bus = Bus::in_process();
    let producer = databases.open("producer").await.unwrap();
    let outbox = bus.outbox(&producer).await.unwrap();
    let consumer = consumer_db(&databases).await;
    let calls = Arc::new(AtomicU32::new(0));
    bus.subscribe(
        &consumer,
        "test.record",
        Record {
            failures: 0,
            calls: calls.clone(),
        },
    )
    .await
    .unwrap();

    publish(&producer, &["a", "b", "c"], true).await;
    publish(&producer, &["rolled back"], false).await;
    assert_eq!(
        outbox.pending().await.unwrap(),
        3,
        "a rolled-back transaction leaves no event"
    );

    // Keep a copy of what was published, then let the relay publish and delete it.
    let rows =
        sqlx::query("select id, topic, source, payload, created_at from outbox order by seq")
            .fetch_all(producer.pool())
            .await
            .unwrap();
    assert_eq!(outbox.relay_once(100).await.unwrap(), 3);
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(count(&consumer, "select count(*) from effects").await, 3);

    // A relay that crashed after publishing but before deleting publishes again: the inbox absorbs it.
    let again: Vec<Envelope> = rows
        .iter()
        .map(|r| Envelope {
            id: r.try_get::<String, _>("id").unwrap().parse().unwrap(),
            topic: r.try_get("topic").unwrap(),
            source: r.try_get("source").unwrap(),
            occurred_at: chrono::Utc::now(),
            payload: serde_json::from_str(&r.try_get::<String, _>("payload").unwrap()).unwrap(),
        })
        .collect();
    // Same consumer name, same inbox: the second delivery of each event is a no-op.
    resend(&consumer, &again).await;
    assert_eq!(
        count(&consumer, "select count(*) from effects").await,
        3,
        "no second effect"
    );
    assert_eq!(count(&consumer, "select count(*) from inbox").await, 3);

    // A batch holding a new event twice (a republish that arrived with the original) applies it once.
    let fresh = Envelope {
        id: uuid::Uuid::now_v7(),
        topic: again[0].topic.clone(),
        source: "producer".into(),
        occurred_at: chrono::Utc::now(),
        payload: serde_json::json!({"value": "d"}),
    };
    resend(&consumer, &[fresh.clone(), again[1].clone(), fresh.clone()]).await;
    assert_eq!(count(&consumer, "select count(*) from effects").await, 4);
    assert_eq!(count(&consumer, "select count(*) from inbox").await, 4);
}

/// Delivers `envelopes` again to a fresh in-process broker subscribed with the same consumer name.
async fn resend(consumer: &Db, envelopes: &[Envelope]) {
    let broker = Arc::new(InProcess::default());
    let bus = Bus::new(broker.clone());
    bus.subscribe(
        consumer,
        "test.record",
        Record {
            failures: 0,
            calls: Arc::new(AtomicU32::new(0)),
        },
    )
    .await
    .unwrap();
    broker.publish(envelopes).await.unwrap();
}

#[tokio::test]
async fn failing_consumers_are_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    let databases = databases(&dir);
    let bus = Bus::in_process();
    let producer = databases.open("producer").await.unwrap();
    let outbox = bus.outbox(&producer).await.unwrap();
    let consumer = consumer_db(&databases).await;
    let calls = Arc::new(AtomicU32::new(0));
    // Fails twice, then succeeds: one effect, no dead letter.
    bus.subscribe(
        &consumer,
        "test.flaky",
        Record {
            failures: 2,
            calls: calls.clone(),
        },
    )
    .await
    .unwrap();
    let poison_calls = Arc::new(AtomicU32::new(0));
    let poison_db = databases.open("poison").await.unwrap();
    sqlx::query("create table effects (value text not null)")
        .execute(poison_db.pool())
        .await
        .unwrap();
    bus.subscribe(
        &poison_db,
        "test.poison",
        Record {
            // Dead-lettered at first delivery, again at the first replay; the second replay succeeds.
            failures: 2 * agon_bus::MAX_ATTEMPTS,
            calls: poison_calls.clone(),
        },
    )
    .await
    .unwrap();

    publish(&producer, &["x"], true).await;
    outbox.relay_once(10).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(count(&consumer, "select count(*) from effects").await, 1);
    assert_eq!(
        count(&consumer, "select count(*) from dead_letters").await,
        0
    );
    assert_eq!(poison_calls.load(Ordering::SeqCst), agon_bus::MAX_ATTEMPTS);
    assert_eq!(count(&poison_db, "select count(*) from effects").await, 0);
    let dead = sqlx::query("select consumer, topic, attempts, error, payload from dead_letters")
        .fetch_one(poison_db.pool())
        .await
        .unwrap();
    assert_eq!(
        dead.try_get::<String, _>("consumer").unwrap(),
        "test.poison"
    );
    assert_eq!(
        dead.try_get::<i64, _>("attempts").unwrap(),
        i64::from(agon_bus::MAX_ATTEMPTS)
    );
    assert!(
        dead.try_get::<String, _>("error")
            .unwrap()
            .contains("failure")
    );
    assert!(
        dead.try_get::<String, _>("payload")
            .unwrap()
            .contains("\"x\""),
        "the event is kept for replay"
    );
    assert_eq!(
        outbox.pending().await.unwrap(),
        0,
        "nothing is stuck in the outbox"
    );

    // Replay: fails again and is dead-lettered again, with its attempts added up and the mark cleared.
    assert_eq!(agon_bus::request_replay(&poison_db, None).await.unwrap(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while poison_calls.load(Ordering::SeqCst) < 2 * agon_bus::MAX_ATTEMPTS
        || agon_bus::dead_letters(&poison_db, 10).await.unwrap()[0]
            .replay_requested_at
            .is_some()
    {
        assert!(std::time::Instant::now() < deadline, "replay never ran");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let letters = agon_bus::dead_letters(&poison_db, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 2 * i64::from(agon_bus::MAX_ATTEMPTS));
    // Second replay: handled, the dead letter is gone and the effect happened once.
    let id = letters[0].id;
    assert_eq!(
        agon_bus::request_replay(&poison_db, Some(id))
            .await
            .unwrap(),
        1
    );
    while count(&poison_db, "select count(*) from dead_letters").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "replay never succeeded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count(&poison_db, "select count(*) from effects").await, 1);
    assert_eq!(count(&poison_db, "select count(*) from inbox").await, 1);
}

#[tokio::test]
async fn rabbitmq_carries_events_between_processes() {
    let Some(amqp) = agon_testkit::test_amqp_url() else {
        eprintln!("needs AGON_TEST_AMQP_URL (scripts/test starts RabbitMQ)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let databases = databases(&dir);
    // Three broker connections stand for three processes.
    // A namespace of its own: other tests' events never reach this test's queues.
    let namespace = format!("t{}.", uuid::Uuid::new_v4().simple());
    let publisher = Bus::rabbitmq(&amqp, &namespace).await.unwrap();
    let subscriber_a = Bus::rabbitmq(&amqp, &namespace).await.unwrap();
    let subscriber_b = Bus::rabbitmq(&amqp, &namespace).await.unwrap();
    assert!(publisher.ready().await);
    let consumer = consumer_db(&databases).await;
    let name = format!("test.rabbit.{}", uuid::Uuid::new_v4().simple());
    // Two replicas of one consumer share its queue; the first delivery of each replica fails once.
    let calls = Arc::new(AtomicU32::new(0));
    for subscriber in [&subscriber_a, &subscriber_b] {
        subscriber
            .subscribe(
                &consumer,
                &name,
                Record {
                    failures: 1,
                    calls: calls.clone(),
                },
            )
            .await
            .unwrap();
    }
    let producer = databases.open("producer").await.unwrap();
    let outbox = publisher.outbox(&producer).await.unwrap();
    let values: Vec<String> = (0..200).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    publish(&producer, &refs, true).await;
    while outbox.relay_once(64).await.unwrap() > 0 {}
    assert_eq!(outbox.pending().await.unwrap(), 0, "every event confirmed");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&consumer, "select count(*) from effects").await < 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "events not all consumed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        count(&consumer, "select count(*) from effects").await,
        200,
        "each event took effect once"
    );
    assert_eq!(
        count(&consumer, "select count(distinct value) from effects").await,
        200
    );
}

#[tokio::test]
async fn unrouted_events_are_kept_and_replayed_once_their_queue_exists() {
    let Some(amqp) = agon_testkit::test_amqp_url() else {
        eprintln!("needs AGON_TEST_AMQP_URL (scripts/test starts RabbitMQ)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let databases = databases(&dir);
    let namespace = format!("t{}.", uuid::Uuid::new_v4().simple());
    let publisher = Bus::rabbitmq(&amqp, &namespace).await.unwrap();
    let producer = databases.open("producer").await.unwrap();
    let outbox = publisher.outbox(&producer).await.unwrap();
    // Published before any consumer's queue exists: not lost, but kept in `agon.unrouted`.
    publish(&producer, &["early 1", "early 2"], true).await;
    assert_eq!(outbox.relay_once(10).await.unwrap(), 2);
    let consumer = consumer_db(&databases).await;
    let subscriber = Bus::rabbitmq(&amqp, &namespace).await.unwrap();
    subscriber
        .subscribe(
            &consumer,
            "test.late",
            Record {
                failures: 0,
                calls: Arc::new(AtomicU32::new(0)),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(count(&consumer, "select count(*) from effects").await, 0);
    let broker = agon_bus::RabbitMq::connect(&amqp, &namespace)
        .await
        .unwrap();
    assert_eq!(broker.replay_unrouted().await.unwrap(), 2);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&consumer, "select count(*) from effects").await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "replayed events not consumed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(broker.replay_unrouted().await.unwrap(), 0, "nothing left");
}

#[tokio::test]
async fn consumers_forget_processed_events_after_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let databases = databases(&dir);
    let bus = Bus::in_process();
    let consumer = consumer_db(&databases).await;
    bus.subscribe(
        &consumer,
        "test.prune",
        Record {
            failures: 0,
            calls: Arc::new(AtomicU32::new(0)),
        },
    )
    .await
    .unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::days(31)).to_rfc3339();
    let recent = chrono::Utc::now().to_rfc3339();
    for (id, at) in [("old", &old), ("recent", &recent)] {
        sqlx::query(
            "insert into inbox (event_id, consumer, processed_at) values ($1, 'test.prune', $2)",
        )
        .bind(id)
        .bind(at)
        .execute(consumer.pool())
        .await
        .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&consumer, "select count(*) from inbox").await > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the old entry was never pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let left: String = sqlx::query("select event_id from inbox")
        .fetch_one(consumer.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(left, "recent");
}
