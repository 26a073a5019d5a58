//! Password reset and email confirmation, through a real SMTP server.

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use serde_json::Value;

#[tokio::test]
async fn forgotten_password_is_reset_through_a_mailed_single_use_token() {
    let app = TestApp::spawn_with_mail().await;
    let ana = app.register("ana@club.org").await;
    let phone = app.login("ana@club.org", PASSWORD).await;

    // The same answer for an address with and without an account; only the real one gets mail.
    let mut answers = Vec::new();
    for email in ["ana@club.org", "nobody@club.org", "not an email"] {
        let r = app
            .post_json("/auth/password/forgot", json!({ "email": email }))
            .send()
            .await
            .unwrap();
        answers.push((r.status().as_u16(), r.json::<Value>().await.unwrap()));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].0, 202);

    let reset = app.mail("ana@club.org", "Reset your password").await;
    let token = reset.code();
    assert!(token.len() >= 43, "256-bit token");
    assert!(
        reset.body.contains("/reset-password?token"),
        "{}",
        reset.body
    );
    assert!(
        app.mails("nobody@club.org").await.is_empty(),
        "no mail to an address without an account"
    );

    let weak = app.post_json(
        "/auth/password/reset",
        json!({ "token": token, "new_password": "password" }),
    );
    assert_problem(weak.send().await.unwrap(), 422, "invalid_body").await;
    let done = app.post_json(
        "/auth/password/reset",
        json!({ "token": token, "new_password": "a fresh passphrase" }),
    );
    assert_eq!(done.send().await.unwrap().status(), 204);
    let again = app.post_json(
        "/auth/password/reset",
        json!({ "token": token, "new_password": "another passphrase" }),
    );
    assert_problem(again.send().await.unwrap(), 400, "invalid_token_code").await;
    let forged = app.post_json(
        "/auth/password/reset",
        json!({ "token": "AAAA", "new_password": "another passphrase" }),
    );
    assert_problem(forged.send().await.unwrap(), 400, "invalid_token_code").await;

    // Every session ended; the new password works, the old one does not.
    for user in [&ana, &phone] {
        assert_problem(
            app.as_user(user).get("/users/me").send().await.unwrap(),
            401,
            "session_revoked",
        )
        .await;
    }
    app.login("ana@club.org", "a fresh passphrase").await;
    let old = app.post_json(
        "/auth/token",
        json!({ "grant_type": "password", "email": "ana@club.org", "password": PASSWORD }),
    );
    assert_problem(old.send().await.unwrap(), 400, "invalid_grant").await;
}

#[tokio::test]
async fn reset_tokens_are_stored_hashed_and_expire() {
    let app = TestApp::spawn_with_mail().await;
    app.register("ana@club.org").await;
    app.post_json("/auth/password/forgot", json!({ "email": "ana@club.org" }))
        .send()
        .await
        .unwrap();
    let token = app.mail("ana@club.org", "Reset your password").await.code();
    use sqlx::Row;
    let db = app.database("auth").await;
    let rows =
        sqlx::query("select token_hash, expires_at, created_at from account_tokens where purpose = 'password_reset'")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("token_hash").unwrap();
    assert_ne!(stored, token, "only a digest is stored");
    let created =
        chrono::DateTime::parse_from_rfc3339(&rows[0].try_get::<String, _>("created_at").unwrap())
            .unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(&rows[0].try_get::<String, _>("expires_at").unwrap())
            .unwrap();
    assert!(expires - created <= chrono::Duration::minutes(30));
    // Expire it, and it no longer works.
    sqlx::query("update account_tokens set expires_at = '2000-01-01T00:00:00.000000Z'")
        .execute(db.pool())
        .await
        .unwrap();
    let late = app.post_json(
        "/auth/password/reset",
        json!({ "token": token, "new_password": "a fresh passphrase" }),
    );
    assert_problem(late.send().await.unwrap(), 400, "invalid_token_code").await;
}

#[tokio::test]
async fn registration_mails_an_address_confirmation() {
    let app = TestApp::spawn_with_mail().await;
    app.register("bo@club.org").await;
    let mail = app.mail("bo@club.org", "Confirm your email address").await;
    let confirm = app.post_json("/auth/email/confirm", json!({ "token": mail.code() }));
    assert_eq!(confirm.send().await.unwrap().status(), 204);
    use sqlx::Row;
    let db = app.database("auth").await;
    let row = sqlx::query("select email_confirmed_at from accounts where email = 'bo@club.org'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert!(
        row.try_get::<Option<String>, _>("email_confirmed_at")
            .unwrap()
            .is_some()
    );
    let twice = app.post_json("/auth/email/confirm", json!({ "token": mail.code() }));
    assert_problem(twice.send().await.unwrap(), 400, "invalid_token_code").await;
}
