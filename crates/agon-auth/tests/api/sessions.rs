//! Sessions: logout, revocation everywhere, session management, password change, brute force, rehash.

use agon_testkit::{PASSWORD, TestApp, TestUser, assert_problem, json};
use serde_json::Value;

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json(
        "/auth/token",
        json!({ "grant_type": "refresh_token", "refresh_token": token }),
    )
    .send()
    .await
    .unwrap()
}

/// The token is refused by a service (users) and by the gateway's own edge check (its admin API).
async fn assert_revoked(app: &TestApp, user: &TestUser) {
    let at_service = app.as_user(user).get("/users/me").send().await.unwrap();
    assert_problem(at_service, 401, "session_revoked").await;
    let at_gateway = app
        .as_user(user)
        .get("/gateway/services")
        .send()
        .await
        .unwrap();
    assert_problem(at_gateway, 401, "session_revoked").await;
}

#[tokio::test]
async fn logout_ends_this_session_everywhere_at_once() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let other_device = app.login("ana@club.org", PASSWORD).await;
    let response = app
        .as_user(&ana)
        .post_json("/auth/logout", json!(null))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_revoked(&app, &ana).await;
    assert_problem(
        refresh(&app, &ana.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    // The other device's session is untouched.
    assert_eq!(
        app.as_user(&other_device)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let introspection: Value = app
        .post_json("/auth/introspect", json!({ "token": ana.access_token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], false);
}

#[tokio::test]
async fn logout_all_ends_every_session() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let phone = app.login("ana@club.org", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/auth/logout?all=true"))
        .bearer_auth(&ana.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_revoked(&app, &ana).await;
    assert_revoked(&app, &phone).await;
    assert_problem(
        refresh(&app, &phone.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    let response = app
        .client
        .post(app.url("/auth/logout?everything=1"))
        .bearer_auth(&phone.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        401,
        "a revoked token cannot even log out"
    );
}

#[tokio::test]
async fn sessions_are_listed_and_ended_by_their_owner_only() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let laptop = app.login("ana@club.org", PASSWORD).await;
    let bo = app.register("bo@club.org").await;
    let page: Value = app
        .as_user(&ana)
        .get("/auth/sessions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let laptop_sid = agon_testkit::claims(&laptop.access_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another account's session answers exactly like one that does not exist.
    let foreign = app
        .as_user(&bo)
        .delete(&format!("/auth/sessions/{laptop_sid}"))
        .send()
        .await
        .unwrap();
    let missing = app
        .as_user(&bo)
        .delete(&format!("/auth/sessions/{}", uuid::Uuid::now_v7()))
        .send()
        .await
        .unwrap();
    let (foreign, missing) = (
        assert_problem(foreign, 404, "session_not_found").await,
        assert_problem(missing, 404, "session_not_found").await,
    );
    assert_eq!(foreign["title"], missing["title"]);
    assert_eq!(
        app.as_user(&laptop)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let ended = app
        .as_user(&ana)
        .delete(&format!("/auth/sessions/{laptop_sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
    assert_revoked(&app, &laptop).await;
    let page: Value = app
        .as_user(&ana)
        .get("/auth/sessions?limit=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page.get("next_cursor").is_none());
}

#[tokio::test]
async fn password_change_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let phone = app.login("ana@club.org", PASSWORD).await;
    let wrong = app.as_user(&ana).post_json(
        "/auth/password",
        json!({ "current_password": "not it at all", "new_password": "a brand new passphrase" }),
    );
    assert_problem(wrong.send().await.unwrap(), 400, "wrong_password").await;
    let short = app.as_user(&ana).post_json(
        "/auth/password",
        json!({ "current_password": PASSWORD, "new_password": "short" }),
    );
    assert_problem(short.send().await.unwrap(), 422, "invalid_body").await;
    let changed = app.as_user(&ana).post_json(
        "/auth/password",
        json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" }),
    );
    assert_eq!(changed.send().await.unwrap().status(), 204);
    assert_eq!(
        app.as_user(&ana)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "this session stays"
    );
    assert_revoked(&app, &phone).await;
    app.login("ana@club.org", "a brand new passphrase").await;
    let old = app.post_json(
        "/auth/token",
        json!({ "grant_type": "password", "email": "ana@club.org", "password": PASSWORD }),
    );
    assert_problem(old.send().await.unwrap(), 400, "invalid_grant").await;
}

async fn attempt(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/auth/token",
        json!({ "grant_type": "password", "email": email, "password": password }),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn a_thousand_wrong_passwords_get_at_most_a_hundred_evaluations() {
    let app = TestApp::spawn().await;
    app.register("ana@club.org").await;
    let mut evaluated = 0;
    let mut throttled = 0;
    // Eight at a time: concurrent guesses must not slip past the limit together.
    for round in 0..125 {
        let batch = (0..8).map(|i| {
            attempt(
                &app,
                "ana@club.org",
                if (round + i) % 2 == 0 {
                    "guess one"
                } else {
                    "guess two"
                },
            )
        });
        for response in futures_util::future::join_all(batch).await {
            match response.status().as_u16() {
                400 => evaluated += 1,
                429 => {
                    let retry: i64 = response.headers()["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!((1..=3601).contains(&retry), "{retry}");
                    throttled += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert_eq!(evaluated + throttled, 1000);
    assert!(evaluated <= 100, "{evaluated} passwords evaluated");
    assert!(
        evaluated >= 90,
        "the limit is not stricter than documented: {evaluated}"
    );
    // During the lockout even the right password is not evaluated; other accounts are unaffected.
    assert_problem(
        attempt(&app, "ana@club.org", PASSWORD).await,
        429,
        "too_many_attempts",
    )
    .await;
    app.register("bo@club.org").await;
}

async fn attempt_from(app: &TestApp, client: &str, email: &str, password: &str) -> u16 {
    app.post_json(
        "/auth/token",
        json!({ "grant_type": "password", "email": email, "password": password }),
    )
    .header("x-forwarded-for", client)
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

#[tokio::test]
async fn only_failures_use_up_a_client_address() {
    let app = TestApp::spawn_with(|c| c.auth.max_failures_per_ip = 3).await;
    app.register("ana@club.org").await;
    // Everyone behind one NAT logs in as often as they like.
    for _ in 0..10 {
        assert_eq!(
            attempt_from(&app, "198.51.100.7", "ana@club.org", PASSWORD).await,
            200
        );
    }
    // Wrong passwords from that address, against any accounts, use up its allowance...
    for guess in ["x@club.org", "y@club.org", "ana@club.org"] {
        assert_eq!(
            attempt_from(&app, "198.51.100.7", guess, "wrong guess").await,
            400
        );
    }
    assert_eq!(
        attempt_from(&app, "198.51.100.7", "ana@club.org", PASSWORD).await,
        429
    );
    // ...and only that address's.
    assert_eq!(
        attempt_from(&app, "198.51.100.8", "ana@club.org", PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let app = TestApp::spawn_with(|c| {
        c.auth.max_failures_per_ip = 2;
        c.trusted_proxies = Vec::new();
    })
    .await;
    app.register("ana@club.org").await;
    // A client that names a new address on every guess is still one client.
    for (i, guess) in ["x@club.org", "y@club.org"].iter().enumerate() {
        let forged = format!("203.0.113.{i}");
        assert_eq!(attempt_from(&app, &forged, guess, "wrong guess").await, 400);
    }
    assert_eq!(
        attempt_from(&app, "203.0.113.99", "z@club.org", "wrong guess").await,
        429
    );
}

#[tokio::test]
async fn the_owner_logs_in_again_after_the_cool_down() {
    let app = TestApp::spawn_with(|c| {
        c.auth.max_failures_per_account = 5;
        c.auth.failure_window_secs = 2;
    })
    .await;
    app.register("ana@club.org").await;
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(
            attempt(&app, "ana@club.org", "wrong guess")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 5);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        attempt(&app, "ana@club.org", PASSWORD).await.status(),
        200,
        "no permanent lockout"
    );
    // A success forgives the earlier failures.
    assert_eq!(
        attempt(&app, "ana@club.org", "wrong guess").await.status(),
        400
    );
}

#[tokio::test]
async fn login_rehashes_when_the_cost_changes() {
    let app = TestApp::spawn().await;
    app.register("ana@club.org").await;
    let before = hash_of(&app).await;
    assert!(before.contains("m=19456,t=2,p=1"), "{before}");
    // Simulate an installation whose hashes predate a cost increase by storing a cheaper hash.
    let db = app.database("auth").await;
    let weaker = argon2_hash(PASSWORD);
    sqlx::query("update accounts set password_hash = $1 where email = 'ana@club.org'")
        .bind(&weaker)
        .execute(db.pool())
        .await
        .unwrap();
    app.login("ana@club.org", PASSWORD).await;
    let after = hash_of(&app).await;
    assert_ne!(after, weaker);
    assert!(
        after.contains("m=19456,t=2,p=1"),
        "rehashed with the configured cost: {after}"
    );
}

/// A valid argon2id hash at a lower cost than configured.
fn argon2_hash(password: &str) -> String {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version, password_hash::SaltString};
    let params = Params::new(8192, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

async fn hash_of(app: &TestApp) -> String {
    use sqlx::Row;
    let db = app.database("auth").await;
    sqlx::query("select password_hash from accounts where email = 'ana@club.org'")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get::<String, _>("password_hash")
        .unwrap()
}
