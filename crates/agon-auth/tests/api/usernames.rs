//! Accounts opened with a username: alone (no mailbox) or beside an email; one login field takes either.

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn a_username_alone_opens_an_account_that_logs_in_by_it() {
    let app = TestApp::spawn().await;
    let tokens = app.count("auth", "account_tokens").await;
    let response = app
        .post_json(
            "/auth/register",
            json!({ "username": "Rower_01", "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "rower_01");
    assert_eq!(body["email"], Value::Null);

    // The OAuth 2.0 name of the field, and the platform's own, both take a username, in any case.
    for field in ["username", "email"] {
        let response = app
            .post_json(
                "/auth/token",
                json!({ "grant_type": "password", field: "ROWER_01", "password": PASSWORD }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{field}");
    }
    let user = app.login("rower_01", PASSWORD).await;
    assert_eq!(user.id.to_string(), body["user_id"].as_str().unwrap());

    // The profile follows through the bus: named after the username, with no email.
    let me = app.as_user(&user);
    app.until(|| async { me.get("/users/me").send().await.unwrap().status() == 200 })
        .await;
    let profile: Value = me
        .get("/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["username"], "rower_01");
    assert_eq!(profile["email"], Value::Null);
    assert_eq!(profile["display_name"], "rower_01");
    // Nothing to mail: no confirmation token was made for it (an email account gets one).
    assert_eq!(app.count("auth", "account_tokens").await, tokens);
    app.register("ana@club.org").await;
    assert_eq!(app.count("auth", "account_tokens").await, tokens + 1);
}

#[tokio::test]
async fn usernames_are_unique_checked_and_one_login_is_required() {
    let app = TestApp::spawn().await;
    let register = |body: Value| app.post_json("/auth/register", body).send();
    let first =
        register(json!({ "username": "ana", "email": "ana@club.org", "password": PASSWORD }));
    assert_eq!(first.await.unwrap().status(), 201);
    // Both logins reach the same account.
    let by_name = app.login("ana", PASSWORD).await;
    let by_email = app.login("ana@club.org", PASSWORD).await;
    assert_eq!(by_name.id, by_email.id);

    let taken = register(json!({ "username": "ANA", "password": PASSWORD }))
        .await
        .unwrap();
    assert_problem(taken, 409, "username_taken").await;
    let taken =
        register(json!({ "username": "ana2", "email": "Ana@club.org", "password": PASSWORD }));
    assert_problem(taken.await.unwrap(), 409, "email_taken").await;

    let before = app.count("auth", "accounts").await;
    for (body, field) in [
        (json!({ "password": PASSWORD }), "email"),
        (
            json!({ "username": "ana@club", "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "two words", "password": PASSWORD }),
            "username",
        ),
        (json!({ "username": " ", "password": PASSWORD }), "username"),
        (
            json!({ "username": "x".repeat(65), "password": PASSWORD }),
            "username",
        ),
        (
            json!({ "username": "ana\u{7}", "password": PASSWORD }),
            "username",
        ),
    ] {
        let response = register(body.clone()).await.unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(app.count("auth", "accounts").await, before);
}
