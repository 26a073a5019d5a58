//! The binary's other faces: the API documents as a browser renders them, and the operator commands `agon admin`
//! and `agon bus dlq` on the databases.

use super::*;

#[tokio::test]
async fn docs_render_every_operation_in_a_real_browser() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("no Chromium here: scripts/test installs it");
        return;
    };
    let app = agon_testkit::TestApp::spawn().await;
    let profile = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=15000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(app.url("/docs/"))
            .output(),
    )
    .await
    .expect("chromium finished")
    .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    // Swagger UI rendered the operations from /openapi.json: its assets came from the binary, not a CDN.
    for path in [
        "/auth/register",
        "/auth/token",
        "/users/me",
        "/gateway/services",
    ] {
        assert!(
            dom.contains(&format!("data-path=\"{path}\"")),
            "{path} not rendered; DOM: {}",
            &dom[..dom.len().min(2000)]
        );
    }
    assert!(
        !dom.contains("Failed to load API definition"),
        "the definition failed to load"
    );
}

#[tokio::test]
async fn agon_admin_manages_credentials_on_the_databases() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = agon(&[&["admin"], args, &["--data-dir", data]].concat(), &[]);
        if let Some(p) = password {
            cmd.env("AGON_CLI_PASSWORD", p);
        }
        cmd.output().unwrap()
    };
    let created = run(
        &[
            "create-user",
            "--email",
            "root@club.org",
            "--role",
            "admin",
            "--role",
            "coach",
        ],
        Some("first root password"),
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let weak = run(
        &["set-password", "--email", "root@club.org"],
        Some("password"),
    );
    assert!(!weak.status.success(), "a common password is refused");
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("common"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
    let unknown = run(&["revoke-sessions", "--email", "nobody@club.org"], None);
    assert!(!unknown.status.success());
    let set = run(
        &["set-password", "--email", "root@club.org"],
        Some("second root password"),
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );

    // The platform on the same data: the account logs in with the new password and carries its roles.
    let (_up, base) = start_up(data);
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let token = login(&client, &base, "root@club.org", "second root password").await;
    let mut roles: Vec<String> =
        serde_json::from_value(agon_testkit::claims(&token)["roles"].clone()).unwrap();
    roles.sort();
    assert_eq!(roles, vec!["admin", "coach"]);

    // A decision taken on the command line while the platform runs reaches it through the outbox.
    let ana = identity_flow(&client, &base, "ana@club.org").await;
    let banned = run(
        &["ban", "--email", "ana@club.org", "--reason", "spam"],
        None,
    );
    assert!(
        banned.status.success(),
        "{}",
        String::from_utf8_lossy(&banned.stderr)
    );
    assert!(String::from_utf8_lossy(&banned.stdout).contains("is now banned"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{base}/users/me"))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap()
        .status()
        != 401
    {
        assert!(
            Instant::now() < deadline,
            "the ban never reached the running platform"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = run(&["ban", "--email", "ana@club.org"], None);
    assert!(!again.status.success(), "banning twice is refused");
    assert!(
        run(&["unban", "--email", "ana@club.org"], None)
            .status
            .success()
    );
}

#[tokio::test]
async fn agon_bus_dlq_lists_and_marks_dead_letters_for_replay() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let run = |args: &[&str]| {
        let output = agon(&[args, &["--data-dir", data]].concat(), &[])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    run(&["migrate"]);
    assert_eq!(
        run(&["bus", "dlq", "list"]),
        "",
        "nothing dead-lettered yet"
    );
    // A consumer of the users service gave up on an event.
    let users = agon_db::Databases::SqliteDir(data.into())
        .open("users")
        .await
        .unwrap();
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into dead_letters (id, consumer, topic, source, payload, error, attempts, created_at) \
         values ($1, 'users.create_profile', 'auth.user_registered.v1', 'auth', '{}', 'boom', 5, '2026-01-01T00:00:00Z')",
    )
    .bind(id.to_string())
    .execute(users.pool())
    .await
    .unwrap();
    let listed = run(&["bus", "dlq", "list", "--service", "users"]);
    let letter: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(letter["id"], id.to_string());
    assert_eq!(letter["service"], "users");
    assert_eq!(letter["error"], "boom");
    assert_eq!(letter["replay_requested_at"], Value::Null);
    let replayed = run(&["bus", "dlq", "replay", "--id", &id.to_string()]);
    assert!(
        replayed.contains("users: 1 dead letter(s) marked for replay"),
        "{replayed}"
    );
    let listed = run(&["bus", "dlq", "list"]);
    let letter: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert!(letter["replay_requested_at"].is_string());
    let unknown = agon(
        &[
            "bus",
            "dlq",
            "list",
            "--service",
            "nope",
            "--data-dir",
            data,
        ],
        &[],
    )
    .output()
    .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown service"));
}
