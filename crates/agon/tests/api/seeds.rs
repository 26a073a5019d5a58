//! The seeds' journeys with one process per service on PostgreSQL, RabbitMQ and Redis: the journeys the gateway's
//! tests run in one process, here across `agon serve` processes behind `agon serve gateway --profile`.

use std::{future::Future, panic::AssertUnwindSafe, path::Path};

use futures_util::FutureExt;

use super::{Proc, agon, free_port, wait_healthy};

/// The processes of a seed's journey, stopped when dropped, each writing its log into `logs`.
struct Serving {
    _processes: Vec<Proc>,
    logs: tempfile::TempDir,
}

impl Serving {
    /// Runs `journey`; when it fails, prints every process's log (warnings and errors) before failing.
    async fn run(&self, journey: impl Future<Output = ()>) {
        if let Err(panic) = AssertUnwindSafe(journey).catch_unwind().await {
            for entry in std::fs::read_dir(self.logs.path()).unwrap().flatten() {
                let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                eprintln!("--- {} ---\n{log}", entry.file_name().to_string_lossy());
            }
            std::panic::resume_unwind(panic);
        }
    }
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(format!("{name}.log"))).unwrap()
}

/// The services a seed's journey needs, each in its own process, behind a gateway serving `profile`: the
/// processes and the gateway's address. `None` outside the PostgreSQL pass.
async fn serve_seed(profile: &str, services: &[&str]) -> Option<(Serving, String)> {
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
    let logs = tempfile::tempdir().unwrap();
    let spawn = |args: &[&str]| {
        Proc(
            agon(args, &common)
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .stdout(log_file(logs.path(), args[1]))
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
    .stdout(log_file(logs.path(), "gateway"))
    .spawn()
    .unwrap();
    processes.push(Proc(gateway));
    let base = format!("http://127.0.0.1:{gateway_port}");
    wait_healthy(&client, &base).await;
    let serving = Serving {
        _processes: processes,
        logs,
    };
    Some((serving, base))
}

#[tokio::test]
async fn the_kinetix_journey_with_one_process_per_service() {
    let services = ["users", "trainings", "targets", "metrics"];
    let Some((serving, base)) = serve_seed("kinetix", &services).await else {
        return;
    };
    serving.run(agon_testkit::journeys::kinetix(&base)).await;
}

#[tokio::test]
async fn the_gym_it_journey_with_one_process_per_service() {
    let services = ["users", "tournaments", "notifications"];
    let Some((serving, base)) = serve_seed("gymit", &services).await else {
        return;
    };
    serving.run(agon_testkit::journeys::gymit(&base)).await;
}
