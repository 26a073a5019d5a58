//! The `agon` binary as users run it: `agon up`, and `agon serve` with one process per service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use agon_testkit::{PASSWORD, json};
use serde_json::Value;

mod cluster;
mod commands;
mod saga;
mod secrets;
mod seeds;

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agon(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agon"));
    cmd.args(args)
        .env("AGON_LOG__FILTER", "warn")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} did not become healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `token` is refused by the users process (first base URL) and the gateway's edge (second), and
/// fails if that takes more than a second.
async fn refused_everywhere_within_a_second(
    client: &reqwest::Client,
    bases: &[&str; 2],
    token: &str,
    why: &str,
) {
    let start = Instant::now();
    loop {
        let direct = client
            .get(format!("{}/users/me", bases[0]))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        let edge = client
            .get(format!("{}/gateway/services", bases[1]))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        if direct == 401 && edge == 401 {
            eprintln!(
                "{why}: refused everywhere after {} ms",
                start.elapsed().as_millis()
            );
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{why}: still accepted after 1 s: users {direct}, gateway {edge}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The password grant; returns the access token.
async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let r = client
        .post(format!("{base}/auth/token"))
        .json(&json!({ "grant_type": "password", "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {email}");
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Starts `agon up` on `data_dir` with a free port; returns the process and the API base URL from its banner.
fn start_up(data_dir: &str) -> (Proc, String) {
    start_up_with(agon(&["up", "--port", "0", "--data-dir", data_dir], &[]))
}

/// Starts `agon up` as `cmd` describes it and returns the API's base URL from its banner.
fn start_up_with(mut cmd: Command) -> (Proc, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("banner").unwrap();
        if let Some(url) = line.trim().strip_prefix("API") {
            break url.trim().trim_end_matches('/').to_owned();
        }
    };
    // Keep reading: a closed pipe would make the process fail on its next line of output.
    std::thread::spawn(move || lines.for_each(drop));
    (Proc(child), base)
}

/// Register → token → my profile, through the gateway at `base`.
async fn identity_flow(client: &reqwest::Client, base: &str, email: &str) -> String {
    let r = client
        .post(format!("{base}/auth/register"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = client
        .post(format!("{base}/auth/token"))
        .json(&json!({ "grant_type": "password", "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = client
            .get(format!("{base}/users/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let me: Value = r.json().await.unwrap();
            assert_eq!(me["email"], email);
            return token;
        }
        assert_eq!(
            r.status(),
            404,
            "only not-yet is acceptable while the event travels: {}",
            r.text().await.unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "the profile never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `agon up --profile gymit` from the workspace root, the administrator configured by GYM IT's own
/// `ADMIN_EMAIL`/`ADMIN_PASSWORD` (the profile's `[settings]`), logging in through GYM IT's route.
#[tokio::test]
async fn up_with_a_profile_serves_the_seed_and_reads_its_settings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut cmd = agon(
        &[
            "up",
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--profile",
            "gymit",
        ],
        &[
            ("ADMIN_EMAIL", "boss@gym.com"),
            ("ADMIN_PASSWORD", "boss password 1"),
            ("ADMIN_NAME", "Gym Boss"),
        ],
    );
    cmd.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let (_child, base) = start_up_with(cmd);
    let client = reqwest::Client::new();
    let health: Value = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({ "status": "ok", "service": "api-gateway" }));
    let login = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": "boss@gym.com", "password": "boss password 1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin", "{body}");
    let token = body["access_token"].as_str().unwrap();
    let me: Value = client
        .get(format!("{base}/api/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["full_name"], "Gym Boss", "{me}");

    let broken = agon(&["routes", "--profile", "gymit"], &[])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&broken.stdout);
    assert!(
        routes.contains("/api/users/approve") && routes.contains("calls POST /users/x/approve"),
        "{routes}"
    );
}

#[tokio::test]
async fn up_serves_the_platform_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, base) = start_up(data.to_str().unwrap());
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    identity_flow(&client, &base, "ana@club.org").await;
    let spec: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/users/me"].is_object());
    assert_eq!(
        client
            .get(format!("{base}/docs/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        data.join("auth.db").exists()
            && data.join("users.db").exists()
            && data.join("gateway.db").exists()
    );

    // Registrations in flight when SIGTERM arrives: each one either completes (201) or fails at the client
    // without having happened (refused, or sent on a keep-alive connection the server was closing). Nothing is
    // half-done; a restart on the same data shows which is which.
    let in_flight: Vec<_> = (0..8)
        .map(|i| {
            let client = client.clone();
            let url = format!("{base}/auth/register");
            tokio::spawn(async move {
                let email = format!("u{i}@club.org");
                let sent = client
                    .post(url)
                    .json(&json!({ "email": email, "password": PASSWORD }))
                    .send()
                    .await;
                (email, sent.map(|r| r.status().as_u16()))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut outcomes = Vec::new();
    for request in in_flight {
        let (email, outcome) = request.await.unwrap();
        if let Ok(status) = outcome {
            assert_eq!(status, 201, "{email}: an answered request succeeded");
        }
        outcomes.push((email, outcome.is_ok()));
    }
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "agon up did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    drop(child);

    let (_again, base) = start_up(data.to_str().unwrap());
    wait_healthy(&client, &base).await;
    let fresh = reqwest::Client::new();
    for (email, answered) in outcomes {
        let login = fresh
            .post(format!("{base}/auth/token"))
            .json(&json!({ "grant_type": "password", "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .status();
        if answered {
            assert_eq!(
                login, 200,
                "{email} was confirmed, so it must exist after the restart"
            );
        } else {
            assert_eq!(
                login, 400,
                "{email} failed at the client, so it must not exist"
            );
        }
    }
}

#[tokio::test]
async fn serve_runs_each_service_in_its_own_process_on_postgres() {
    let (Some(url), Some(amqp), Some(redis)) = (
        agon_testkit::test_database_url(),
        agon_testkit::test_amqp_url(),
        agon_testkit::test_redis_url(),
    ) else {
        eprintln!(
            "runs in the PostgreSQL pass of scripts/test, which also starts RabbitMQ and Redis"
        );
        return;
    };
    let prefix = format!("d{}_", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let (auth_port, users_port, gateway_port) = (free_port(), free_port(), free_port());
    let (notifications_a, notifications_b, metrics_port) = (free_port(), free_port(), free_port());
    let fanout = format!("agon:test:{prefix}");
    let auth_url = format!("http://127.0.0.1:{auth_port}");
    let users_url = format!("http://127.0.0.1:{users_port}");
    let secret_key = agon_kit::sealed::Keyring::generate_key().unwrap();
    let common = [
        ("AGON_DATABASE_URL", url.as_str()),
        ("AGON_SECRET_KEYS", secret_key.as_str()),
        ("AGON_SCHEMA_PREFIX", prefix.as_str()),
        ("AGON_AMQP_URL", amqp.as_str()),
        ("AGON_REDIS_URL", redis.as_str()),
        ("AGON_NOTIFICATIONS__FANOUT_CHANNEL", fanout.as_str()),
        ("AGON_AUTH__ADMIN_EMAIL", agon_testkit::ADMIN_EMAIL),
        ("AGON_AUTH__ADMIN_PASSWORD", agon_testkit::ADMIN_PASSWORD),
    ];
    // As a deployment does: databases migrated and every consumer's queue declared before anything publishes.
    let info = [&common[..], &[("AGON_LOG__FILTER", "info")]].concat();
    for _ in 0..2 {
        let migrated = agon(&["migrate"], &info).output().unwrap();
        let log =
            String::from_utf8_lossy(&migrated.stdout) + String::from_utf8_lossy(&migrated.stderr);
        assert!(migrated.status.success(), "{log}");
        // PostgreSQL's notices on `if not exists` ("already exists, skipping") would read like errors.
        assert!(!log.contains("skipping"), "{log}");
    }
    let _auth = Proc(
        agon(
            &["serve", "auth", "--port", &auth_port.to_string()],
            &common,
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &auth_url).await;
    let _users = Proc(
        agon(
            &[
                "serve",
                "users",
                "--port",
                &users_port.to_string(),
                "--auth-url",
                &auth_url,
            ],
            &common,
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_healthy(&client, &users_url).await;
    // Two replicas of the notifications service and the metrics service.
    let mut replicas = Vec::new();
    for (service, port) in [
        ("notifications", notifications_a),
        ("notifications", notifications_b),
        ("metrics", metrics_port),
    ] {
        let process = agon(
            &[
                "serve",
                service,
                "--port",
                &port.to_string(),
                "--auth-url",
                &auth_url,
            ],
            &common,
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
        replicas.push(Proc(process));
        wait_healthy(&client, &format!("http://127.0.0.1:{port}")).await;
    }
    let replica_a = format!("http://127.0.0.1:{notifications_a}");
    let replica_b = format!("http://127.0.0.1:{notifications_b}");
    let metrics_url = format!("http://127.0.0.1:{metrics_port}");
    let upstreams = format!(
        "{{auth=\"{auth_url}\",users=\"{users_url}\",notifications=\"{replica_a},{replica_b}\",metrics=\"{metrics_url}\"}}"
    );
    let _gateway = Proc(
        agon(
            &[
                "serve",
                "gateway",
                "--port",
                &gateway_port.to_string(),
                "--auth-url",
                &auth_url,
            ],
            &common,
        )
        .env("AGON_GATEWAY__UPSTREAMS", &upstreams)
        .stdout(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let base = format!("http://127.0.0.1:{gateway_port}");
    wait_healthy(&client, &base).await;

    let token = identity_flow(&client, &base, "ana@club.org").await;
    // The users process verified the token with keys fetched from the auth process's JWKS.
    let direct = client
        .get(format!("{users_url}/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    notifications_cross_processes(&client, &base, [&replica_a, &replica_b], &metrics_url).await;
    // A ban decided in the users process reaches the auth process by event, and the ban's revocation reaches the
    // gateway and the users process through the feed: within a second of the admin's answer.
    let bo_token = identity_flow(&client, &base, "bo@club.org").await;
    let bo_id = agon_testkit::claims(&bo_token)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_token = login(
        &client,
        &base,
        agon_testkit::ADMIN_EMAIL,
        agon_testkit::ADMIN_PASSWORD,
    )
    .await;
    let ban = client
        .post(format!("{base}/users/{bo_id}/ban"))
        .bearer_auth(&admin_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(ban.status(), 200);
    refused_everywhere_within_a_second(&client, &[&users_url, &base], &bo_token, "banned").await;
    // Logout in the auth process: the users process and the gateway refuse the token within a second.
    let logout = client
        .post(format!("{base}/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    refused_everywhere_within_a_second(&client, &[&users_url, &base], &token, "logged out").await;
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    // The gateway's document gathers the upstreams' operations once it has fetched them.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let spec: Value = client
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if spec["paths"]["/users/me"].is_object() && spec["paths"]["/auth/token"].is_object() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "merged document never complete: {spec}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_frame(socket: &mut Socket) -> Value {
    use futures_util::StreamExt;
    let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a frame within 10 s")
        .unwrap()
        .unwrap();
    serde_json::from_str(message.to_text().unwrap()).unwrap()
}

/// A member connected over the gateway's WebSocket to notifications replica A receives what replica B sends (Redis
/// fan-out); the welcome notification came from the auth process's event over RabbitMQ; the metrics process counted
/// the sign-ups from the same events.
async fn notifications_cross_processes(
    client: &reqwest::Client,
    base: &str,
    [replica_a, replica_b]: [&str; 2],
    metrics_url: &str,
) {
    let token = identity_flow(client, base, "cy@club.org").await;
    let cy = agon_testkit::claims(&token)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let inbox: Value = client
            .get(format!("{base}/notifications"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if inbox["items"][0]["type"] == "welcome" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no welcome notification: {inbox}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ws = format!(
        "{}/ws?access_token={token}",
        base.replacen("http://", "ws://", 1)
    );
    // Two connections in a row: the gateway takes the two replicas in turn, one connection lands on each.
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();
    assert_eq!(next_frame(&mut socket).await["type"], "ready");
    let (mut other, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();
    assert_eq!(next_frame(&mut other).await["type"], "ready");
    let admin = login(
        client,
        base,
        agon_testkit::ADMIN_EMAIL,
        agon_testkit::ADMIN_PASSWORD,
    )
    .await;
    let sent = client
        .post(format!("{replica_b}/notifications/send"))
        .bearer_auth(&admin)
        .json(&json!({"user_ids": [cy], "title": "From B", "body": "across replicas"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    for s in [&mut socket, &mut other] {
        assert_eq!(next_frame(s).await["notification"]["title"], "From B");
    }
    // Through the gateway, whichever replica takes it, both connections get it.
    let sent = client
        .post(format!("{base}/notifications/send"))
        .bearer_auth(&admin)
        .json(&json!({"user_ids": [cy], "title": "Via the gateway", "body": "balanced"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    for s in [&mut socket, &mut other] {
        assert_eq!(
            next_frame(s).await["notification"]["title"],
            "Via the gateway"
        );
    }
    // One connection on each replica (their Prometheus gauge).
    for replica in [replica_a, replica_b] {
        let metrics = client
            .get(format!("{replica}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.lines().any(|l| l == "agon_ws_connections 1"),
            "{replica}: {}",
            metrics
                .lines()
                .filter(|l| l.contains("ws_"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let ready: Value = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["notifications"], "up", "{ready}");
    // Ready means "can serve" (a replica of each upstream); each replica's state is shown to administrators.
    let upstreams: Value = client
        .get(format!("{base}/gateway/upstreams"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notifications = upstreams
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "notifications")
        .unwrap_or_else(|| panic!("{upstreams}"));
    assert_eq!(
        notifications["replicas"].as_array().unwrap().len(),
        2,
        "{upstreams}"
    );
    let today = chrono::Utc::now().date_naive();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let body: Value = client
            .get(format!(
                "{metrics_url}/analytics/metrics?metric=sign_ups&from={today}&to={today}"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The administrator, ana and cy (bo signs up later).
        if body["metrics"][0]["total"] == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "sign-ups not counted: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
