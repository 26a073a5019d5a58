//! The auth service driven over HTTP through the gateway.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod hostile;
mod input;
mod mailed;
mod mfa;
mod migrations;
mod sessions;
mod sso;
mod usernames;
mod verification;

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn register_then_login_issues_tokens_that_verify() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/auth/register",
            json!({ "email": "Ana@Club.org", "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "ana@club.org");
    assert_eq!(body["roles"], json!(["athlete"]));

    let user = app.login("ANA@club.org", PASSWORD).await;
    let claims = agon_testkit::claims(&user.access_token);
    assert_eq!(claims["sub"], body["user_id"]);
    assert_eq!(claims["iss"], "agon");
    assert_eq!(claims["aud"], "agon");
    assert_eq!(claims["roles"], json!(["athlete"]));
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 900);

    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert!(
        key.get("d").is_none(),
        "the private part never leaves the service"
    );
}

#[tokio::test]
async fn bad_registrations_get_problems_and_write_nothing() {
    let app = TestApp::spawn().await;
    let before = app.count("auth", "accounts").await;
    let cases: Vec<(&str, &str, u16, &str)> = vec![
        (
            "{\"email\": \"a@b.co\", \"password\": ",
            "application/json",
            400,
            "malformed_json",
        ),
        (
            "{\"email\": \"a@b.co\", \"password\": \"long enough 1\"} x",
            "application/json",
            400,
            "malformed_json",
        ),
        (
            "{\"email\": \"a@b.co\", \"password\": \"long enough 1\", \"roles\": [\"admin\"]}",
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "{\"email\": \"a@b.co\", \"password\": 12345678}",
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "{\"email\": \"a@b.co\"}",
            "application/json",
            422,
            "invalid_body",
        ),
        ("[]", "application/json", 422, "invalid_body"),
        (
            "{\"email\": \"a@b.co\", \"password\": \"long enough 1\"}",
            "text/plain",
            415,
            "unsupported_media_type",
        ),
        (
            "{\"email\": \"not-an-email\", \"password\": \"long enough 1\"}",
            "application/json",
            422,
            "invalid_body",
        ),
        (
            "{\"email\": \"a@b.co\", \"password\": \"short\"}",
            "application/json",
            422,
            "invalid_body",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let response = app
            .client
            .post(app.url("/auth/register"))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, status, code).await;
        if status == 422 {
            assert!(problem["errors"][0]["field"].is_string(), "{problem}");
        }
    }
    let huge = format!(
        "{{\"email\": \"a@b.co\", \"password\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let response = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload_too_large").await;
    assert_eq!(
        app.count("auth", "accounts").await,
        before,
        "nothing was written"
    );
    assert_eq!(app.count("auth", "outbox").await, 0, "no event was queued");
}

#[tokio::test]
async fn invalid_fields_are_all_reported() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/auth/register",
            json!({ "email": "nope", "password": "short" }),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422, "invalid_body").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["email", "password"]);
}

#[tokio::test]
async fn duplicate_email_is_a_conflict() {
    let app = TestApp::spawn().await;
    app.register("ana@club.org").await;
    let response = app
        .post_json(
            "/auth/register",
            json!({ "email": "ANA@club.org", "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "email_taken").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_account_answer_alike() {
    let app = TestApp::spawn().await;
    app.register("ana@club.org").await;
    for (email, password) in [
        ("ana@club.org", "wrong password"),
        ("nobody@club.org", PASSWORD),
    ] {
        let response = app
            .post_json(
                "/auth/token",
                json!({ "grant_type": "password", "email": email, "password": password }),
            )
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 400, "invalid_grant").await;
        assert_eq!(
            problem["detail"],
            "the credentials or the refresh token are invalid"
        );
    }
    let response = app
        .post_json("/auth/token", json!({ "grant_type": "magic" }))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "invalid_body").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let app = TestApp::spawn().await;
    let user = app.register("ana@club.org").await;
    let refresh = |token: String| {
        app.post_json(
            "/auth/token",
            json!({ "grant_type": "refresh_token", "refresh_token": token }),
        )
        .send()
    };
    let first: Value = refresh(user.refresh_token.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_token = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, user.refresh_token);
    let access = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        agon_testkit::claims(&access)["sid"],
        agon_testkit::claims(&user.access_token)["sid"]
    );

    // Replaying the spent token revokes the family: the newest refresh token dies with it.
    assert_problem(
        refresh(user.refresh_token.clone()).await.unwrap(),
        400,
        "invalid_grant",
    )
    .await;
    assert_problem(refresh(second_token).await.unwrap(), 400, "invalid_grant").await;
    let introspection: Value = app
        .post_json("/auth/introspect", json!({ "token": access }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection, json!({ "active": false }));

    assert_problem(
        refresh("made-up".into()).await.unwrap(),
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn introspection_reports_live_tokens() {
    let app = TestApp::spawn().await;
    let user = app.register("ana@club.org").await;
    let body: Value = app
        .post_json("/auth/introspect", json!({ "token": user.access_token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], user.id.to_string());
    assert_eq!(body["roles"], json!(["athlete"]));
    let body: Value = app
        .post_json("/auth/introspect", json!({ "token": "garbage" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({ "active": false }));
}

#[tokio::test]
async fn the_configured_admin_exists_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    assert_eq!(
        agon_testkit::claims(&admin.access_token)["roles"],
        json!(["admin"])
    );
    assert_eq!(app.count("auth", "accounts").await, 1);
}
