//! A producer and a consumer of numbered events over the real bus (PostgreSQL outbox/inbox, RabbitMQ), each
//! keeping a ledger, for the fault test (`scripts/fault-test`: processes killed and RabbitMQ restarted
//! mid-stream) and the throughput benchmark (`bench/bus.sh`).
//!
//!   pipeline produce --count N [--rate R]   numbered events, each committed with its ledger row; resumes after
//!                                           a crash at the next number; exits once all are confirmed
//!   pipeline consume                        applies every event to the effects ledger (inbox-guarded)
//!   pipeline check --count N                compares the ledgers: exit 0 if every event took effect exactly once
//!   pipeline bench --count N                produce then consume N events in one process; prints events/s
//!   pipeline raw --count N                  the same traffic on bare RabbitMQ (confirms, acks, no database)
//!
//! Common options: --database-url (PostgreSQL), --schema-prefix, --amqp-url.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{collections::HashSet, time::Instant};

use agon_bus::{Bus, Consume, Envelope};
use agon_db::{Databases, Db, Row, Tx};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value = "pipeline_")]
    schema_prefix: String,
    #[arg(long)]
    amqp_url: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Produce {
        #[arg(long)]
        count: i64,
        /// Events per second (0: as fast as possible).
        #[arg(long, default_value_t = 0)]
        rate: u64,
    },
    Consume,
    Check {
        #[arg(long)]
        count: i64,
    },
    Bench {
        #[arg(long)]
        count: i64,
    },
    /// The peer: the same number of persistent messages published with confirms (same window) and consumed
    /// with manual acks straight on RabbitMQ, no database — the ceiling the bus is measured against.
    Raw {
        #[arg(long)]
        count: i64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Numbered {
    n: i64,
}

impl agon_messages::Event for Numbered {
    const TOPIC: &'static str = "pipeline.numbered.v1";
}

struct Apply;

impl Consume<Numbered> for Apply {
    async fn consume(
        &self,
        tx: &mut Tx,
        event: Numbered,
        envelope: &Envelope,
    ) -> anyhow::Result<()> {
        // No unique constraint on purpose: a second effect for one event would show as a duplicate row.
        sqlx::query("insert into effects (n, event_id) values ($1, $2)")
            .bind(event.n)
            .bind(envelope.id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// The consumer's durable name, one per run (its schema prefix): a queue left by an earlier run must not feed
/// this run's ledger.
fn consumer_name(args: &Args) -> String {
    format!(
        "pipeline.apply.{}",
        args.schema_prefix.trim_end_matches('_')
    )
}

async fn open(args: &Args, name: &str, ddl: &str) -> Db {
    let databases = Databases::Postgres {
        url: args.database_url.clone(),
        schema_prefix: args.schema_prefix.clone(),
    };
    let db = databases.open(name).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(ddl.to_owned()))
        .execute(db.pool())
        .await
        .unwrap();
    db
}

async fn producer(args: &Args) -> Db {
    open(
        args,
        "producer",
        "create table if not exists ledger (n bigint primary key)",
    )
    .await
}

async fn consumer(args: &Args) -> Db {
    open(
        args,
        "consumer",
        "create table if not exists effects (n bigint not null, event_id text not null)",
    )
    .await
}

async fn numbers(db: &Db, sql: &'static str) -> Vec<i64> {
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<i64, _>(0).unwrap())
        .collect()
}

/// Commits events `from..to` (with their ledger rows) in transactions of `batch`.
async fn produce(db: &Db, outbox: &agon_bus::Outbox, from: i64, to: i64, batch: i64) {
    let mut n = from;
    while n < to {
        let mut tx = db.begin().await.unwrap();
        let end = (n + batch).min(to);
        for i in n..end {
            sqlx::query("insert into ledger (n) values ($1)")
                .bind(i)
                .execute(&mut *tx)
                .await
                .unwrap();
            agon_bus::enqueue(&mut tx, "pipeline", &Numbered { n: i })
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        outbox.wake();
        n = end;
    }
}

#[tokio::main]
async fn main() {
    // The bus's warnings (a consumer reconnecting, a publish retried) in the fault test's logs.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match &args.command {
        Cmd::Produce { count, rate } => produce_all(&args, *count, *rate).await,
        Cmd::Consume => {
            let db = consumer(&args).await;
            let bus = Bus::rabbitmq(&args.amqp_url, &args.schema_prefix)
                .await
                .unwrap();
            bus.subscribe(&db, &consumer_name(&args), Apply)
                .await
                .unwrap();
            println!("consuming");
            std::future::pending::<()>().await;
        }
        Cmd::Check { count } => {
            let produced = numbers(&producer(&args).await, "select n from ledger order by n").await;
            let effects = numbers(&consumer(&args).await, "select n from effects").await;
            let distinct: HashSet<i64> = effects.iter().copied().collect();
            let missing = produced.iter().filter(|n| !distinct.contains(n)).count();
            let duplicates = effects.len() - distinct.len();
            println!(
                "produced {} of {count}, effects {}, missing {missing}, duplicated {duplicates}",
                produced.len(),
                effects.len()
            );
            let complete = produced.len() as i64 == *count && missing == 0 && duplicates == 0;
            std::process::exit(if complete { 0 } else { 1 });
        }
        Cmd::Raw { count } => raw(&args.amqp_url, *count).await,
        Cmd::Bench { count } => bench(&args, *count).await,
    }
}

/// `produce`: events `done..count` committed to the ledger and relayed, `rate` a second (0: as fast as it goes).
async fn produce_all(args: &Args, count: i64, rate: u64) {
    let db = producer(args).await;
    let bus = Bus::rabbitmq(&args.amqp_url, &args.schema_prefix)
        .await
        .unwrap();
    let outbox = bus.outbox(&db).await.unwrap();
    let relay = tokio::spawn(outbox.clone().relay());
    let done = numbers(&db, "select coalesce(max(n) + 1, 0) from ledger").await[0];
    println!("producing {done}..{count}");
    if rate == 0 {
        produce(&db, &outbox, done, count, 500).await;
    } else {
        // Ten commits a second, `rate / 10` events each.
        let per_tick = (rate as i64 / 10).max(1);
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let mut n = done;
        while n < count {
            tick.tick().await;
            let end = (n + per_tick).min(count);
            produce(&db, &outbox, n, end, per_tick).await;
            n = end;
        }
    }
    while outbox.pending().await.unwrap() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    relay.abort();
    println!("produced and confirmed {count}");
}

/// `bench`: `count` events committed first, then timed through the relay, RabbitMQ and the consumer.
async fn bench(args: &Args, count: i64) {
    let pdb = producer(args).await;
    let cdb = consumer(args).await;
    let bus = Bus::rabbitmq(&args.amqp_url, &args.schema_prefix)
        .await
        .unwrap();
    let consuming = Bus::rabbitmq(&args.amqp_url, &args.schema_prefix)
        .await
        .unwrap();
    consuming
        .subscribe(&cdb, &consumer_name(args), Apply)
        .await
        .unwrap();
    let outbox = bus.outbox(&pdb).await.unwrap();
    let start = numbers(&pdb, "select coalesce(max(n) + 1, 0) from ledger").await[0];
    let before = numbers(&cdb, "select count(*) from effects").await[0];
    // Committed first, so the measurement is the bus alone: relay (confirms) → RabbitMQ → consumer.
    produce(&pdb, &outbox, start, start + count, 1000).await;
    let started = Instant::now();
    let relay = tokio::spawn(outbox.clone().relay());
    let mut published = None;
    loop {
        if published.is_none() && outbox.pending().await.unwrap() == 0 {
            published = Some(started.elapsed().as_secs_f64());
        }
        let done = numbers(&cdb, "select count(*) from effects").await[0] - before;
        if done >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    relay.abort();
    let published = published.unwrap_or(seconds);
    println!(
        "{count} events through outbox → RabbitMQ → consumer in {seconds:.2} s: {:.0} events/s \
         (published and confirmed after {published:.2} s: {:.0} events/s)",
        count as f64 / seconds,
        count as f64 / published
    );
}

/// Bare lapin: publish `count` persistent messages in windows of the relay's size, awaiting each window's
/// confirms, into a durable queue consumed with manual acks.
async fn raw(url: &str, count: i64) {
    use futures_util::StreamExt;
    use lapin::{BasicProperties, Connection, ConnectionProperties, options::*, types::FieldTable};
    let queue = format!("raw.{}", uuid::Uuid::new_v4().simple());
    let publisher = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let consumer = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let out = publisher.create_channel().await.unwrap();
    out.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let declare = QueueDeclareOptions {
        durable: true,
        auto_delete: true,
        ..Default::default()
    };
    out.queue_declare(queue.as_str().into(), declare, FieldTable::default())
        .await
        .unwrap();
    let input = consumer.create_channel().await.unwrap();
    input
        .basic_qos(200, BasicQosOptions::default())
        .await
        .unwrap();
    let mut deliveries = input
        .basic_consume(
            queue.as_str().into(),
            "raw".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let payload = serde_json::to_vec(&serde_json::json!({
        "id": uuid::Uuid::now_v7(), "topic": "pipeline.numbered.v1", "source": "pipeline",
        "occurred_at": chrono::Utc::now(), "payload": {"n": 0}
    }))
    .unwrap();
    let started = Instant::now();
    let consuming = tokio::spawn(async move {
        let mut got = 0;
        while got < count {
            let delivery = deliveries.next().await.unwrap().unwrap();
            delivery.ack(BasicAckOptions::default()).await.unwrap();
            got += 1;
        }
    });
    let mut sent = 0;
    while sent < count {
        let window = (count - sent).min(agon_bus::RELAY_BATCH);
        let mut confirms = Vec::with_capacity(window as usize);
        for _ in 0..window {
            confirms.push(
                out.basic_publish(
                    "".into(),
                    queue.as_str().into(),
                    BasicPublishOptions::default(),
                    &payload,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .unwrap(),
            );
        }
        for confirm in confirms {
            confirm.await.unwrap();
        }
        sent += window;
    }
    consuming.await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} messages on bare RabbitMQ (confirms, acks, no database) in {seconds:.2} s: {:.0} messages/s",
        count as f64 / seconds
    );
}
