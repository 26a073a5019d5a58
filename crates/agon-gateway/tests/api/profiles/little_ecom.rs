//! little-ecom (seed 004): the auth half its Go backend and its integration script call.

use agon_testkit::{TestApp, json};
use serde_json::Value;

use super::read;

#[tokio::test]
async fn register_sign_in_validate_and_delete_as_the_go_client_does() {
    let app = TestApp::spawn_profile("little-ecom").await;
    let credentials = json!({ "email": "megy@gmail.com", "password": "a long secret" });
    let register = || app.post_json("/auth/register", credentials.clone()).send();

    // 201 with nothing in the body; the same email again is 400 with Go's plain-text error.
    assert_eq!(
        read(register().await.unwrap()).await,
        (201, String::new(), String::new())
    );
    let (status, content_type, text) = read(register().await.unwrap()).await;
    assert_eq!((status, text.as_str()), (400, "Account already exists\n"));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let (status, _, text) = read(
        app.post_json(
            "/auth/register",
            json!({ "email": "x@y.z", "password": "short" }),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.starts_with("password: must be at least 8"), "{text}");
    let (status, _, _) = read(
        app.post_json(
            "/auth/register",
            json!({ "email": "not-an-email", "password": "a long secret" }),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    // Sign-in answers the JWT itself as the body.
    let signin = || app.post_json("/auth/signin", credentials.clone()).send();
    let (status, content_type, token) = read(signin().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(token.split('.').count(), 3, "{token}");
    let (status, _, text) = read(
        app.post_json(
            "/auth/signin",
            json!({ "email": "megy@gmail.com", "password": "wrong password" }),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, text.as_str()), (401, "Invalid credentials\n"));

    // Validate takes `{"token": …}` and answers `{"email", "exp"}`; anything else is 401 `Invalid token`.
    let validate = |token: Value| {
        app.post_json("/auth/validate", json!({ "token": token }))
            .send()
    };
    let valid: Value = validate(json!(token)).await.unwrap().json().await.unwrap();
    assert_eq!(valid["email"], "megy@gmail.com");
    assert!(
        valid["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp(),
        "{valid}"
    );
    assert_eq!(valid.as_object().unwrap().len(), 2, "{valid}");
    for bad in [json!("forged.token.value"), json!(""), json!(42)] {
        let (status, _, text) = read(validate(bad).await.unwrap()).await;
        assert_eq!((status, text.as_str()), (401, "Invalid token\n"));
    }

    // Delete needs the account's own password; then the account and its tokens are gone.
    let delete = |password: &str| {
        app.client
            .delete(app.url("/auth/delete"))
            .json(&json!({ "email": "megy@gmail.com", "password": password }))
            .send()
    };
    assert_eq!(read(delete("wrong password").await.unwrap()).await.0, 401);
    assert_eq!(
        read(delete("a long secret").await.unwrap()).await,
        (204, String::new(), String::new())
    );
    app.until(|| async { validate(json!(token)).await.unwrap().status() == 401 })
        .await;
    assert_eq!(read(signin().await.unwrap()).await.0, 401);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_any_call() {
    let app = TestApp::spawn_profile("little-ecom").await;
    let huge = "x".repeat(agon_gateway::profile::MAX_SHAPED_BODY + 1);
    let (status, _, _) = read(
        app.post_json(
            "/auth/register",
            json!({ "email": "a@b.cd", "password": huge }),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(
        app.count("auth", "accounts").await,
        1,
        "only the configured admin"
    );
}
