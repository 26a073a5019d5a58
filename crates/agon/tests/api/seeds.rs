//! The seeds' journeys with one process per service on PostgreSQL, RabbitMQ and Redis: the journeys the gateway's
//! tests run in one process, here across `agon serve` processes behind `agon serve gateway --profile`.

use std::process::Stdio;

use super::{Proc, agon, free_port, wait_healthy};

/// The services a seed's journey needs, each in its own process, behind a gateway serving `profile`: the
/// processes (stopped when dropped) and the gateway's address. `None` outside the PostgreSQL pass.
async fn serve_seed(profile: &str, services: &[&str]) -> Option<(Vec<Proc>, String)> {
    let (Some(url), Some(amqp), Some(redis)) = (
        agon_testkit::test_database_url(),
        agon_testkit::test_amqp_url(),
        agon_testkit::test_redis_url(),
    ) else {
        eprintln!(
            "runs in the PostgreSQL pass of scripts/test, which also starts RabbitMQ and Redis"
        );
        return None;
    };
    let prefix = format!("k{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let secret_key = agon_kit::sealed::Keyring::generate_key().unwrap();
    let common = [
        ("AGON_DATABASE_URL", url.as_str()),
        ("AGON_SECRET_KEYS", secret_key.as_str()),
        ("AGON_SCHEMA_PREFIX", prefix.as_str()),
        ("AGON_AMQP_URL", amqp.as_str()),
        ("AGON_REDIS_URL", redis.as_str()),
        ("AGON_AUTH__ADMIN_EMAIL", agon_testkit::ADMIN_EMAIL),
        ("AGON_AUTH__ADMIN_PASSWORD", agon_testkit::ADMIN_PASSWORD),
    ];
    let migrated = agon(&["migrate"], &common).output().unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let client = reqwest::Client::new();
    let spawn = |args: &[&str]| {
        Proc(
            agon(args, &common)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let auth_port = free_port();
    let auth_url = format!("http://127.0.0.1:{auth_port}");
    let mut processes = vec![spawn(&["serve", "auth", "--port", &auth_port.to_string()])];
    wait_healthy(&client, &auth_url).await;
    let mut upstreams = vec![format!("auth=\"{auth_url}\"")];
    for service in services {
        let port = free_port().to_string();
        let args = ["serve", service, "--port", &port, "--auth-url", &auth_url];
        processes.push(spawn(&args));
        let service_url = format!("http://127.0.0.1:{port}");
        wait_healthy(&client, &service_url).await;
        upstreams.push(format!("{service}=\"{service_url}\""));
    }
    let gateway_port = free_port().to_string();
    let gateway = agon(
        &[
            "serve",
            "gateway",
            "--port",
            &gateway_port,
            "--auth-url",
            &auth_url,
            "--profile",
            profile,
        ],
        &common,
    )
    .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
    .env(
        "AGON_GATEWAY__UPSTREAMS",
        format!("{{{}}}", upstreams.join(",")),
    )
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    processes.push(Proc(gateway));
    let base = format!("http://127.0.0.1:{gateway_port}");
    wait_healthy(&client, &base).await;
    Some((processes, base))
}

#[tokio::test]
async fn the_kinetix_journey_with_one_process_per_service() {
    let services = ["users", "trainings", "targets", "metrics"];
    let Some((_processes, base)) = serve_seed("kinetix", &services).await else {
        return;
    };
    agon_testkit::journeys::kinetix(&base).await;
}

#[tokio::test]
async fn the_gym_it_journey_with_one_process_per_service() {
    let services = ["users", "tournaments", "notifications"];
    let Some((_processes, base)) = serve_seed("gymit", &services).await else {
        return;
    };
    agon_testkit::journeys::gymit(&base).await;
}
