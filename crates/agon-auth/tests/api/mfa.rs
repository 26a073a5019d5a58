//! Two-factor authentication with TOTP and recovery codes.

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use serde_json::Value;

/// The authenticator app: the code for `secret` at `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let now = chrono::Utc::now().timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap()).to_string()
}

async fn password_step(app: &TestApp) -> reqwest::Response {
    app.post_json(
        "/auth/token",
        json!({ "grant_type": "password", "email": "ana@club.org", "password": PASSWORD }),
    )
    .send()
    .await
    .unwrap()
}

async fn mfa_step(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    app.post_json(
        "/auth/token",
        json!({ "grant_type": "mfa", "mfa_token": challenge, "code": code }),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn totp_guards_the_login_once_confirmed() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let me = app.as_user(&ana);
    let enrolment: Value = me
        .post_json("/auth/mfa/totp", json!(null))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    // Sealed at rest: the database holds no readable secret (RFC 6238 §5.1).
    let stored: String = {
        use sqlx::Row;
        let db = app.database("auth").await;
        let row = sqlx::query("select secret from mfa_totp")
            .fetch_one(db.pool())
            .await
            .unwrap();
        row.try_get("secret").unwrap()
    };
    assert!(
        stored.starts_with("s1:") && !stored.contains(&secret),
        "{stored}"
    );
    assert!(
        enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/Agon:ana%40club.org?"),
        "{enrolment}"
    );

    // Pending: the password alone still logs in, and a wrong code does not confirm.
    assert_eq!(password_step(&app).await.status(), 200);
    assert_problem(
        me.post_json("/auth/mfa/totp/confirm", json!({ "code": "000000" }))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_mfa_code",
    )
    .await;
    let first = code(&secret, 0);
    let confirmed: Value = me
        .post_json("/auth/mfa/totp/confirm", json!({ "code": first }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let recovery: Vec<String> =
        serde_json::from_value(confirmed["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    let status: Value = me
        .get("/auth/mfa")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status, json!({ "totp": true, "recovery_codes_left": 10 }));
    assert_problem(
        me.post_json("/auth/mfa/totp", json!(null))
            .send()
            .await
            .unwrap(),
        409,
        "mfa_already_enabled",
    )
    .await;

    // Now the password step asks for the second factor.
    let challenge =
        assert_problem(password_step(&app).await, 401, "mfa_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    // The code used to confirm cannot be used again: single use. The same text, not a fresh code for "now", so a
    // time step ending in between cannot turn the replay into a new code.
    assert_problem(
        mfa_step(&app, &challenge, &first).await,
        400,
        "invalid_mfa_code",
    )
    .await;
    // The challenge was spent by the failed attempt.
    assert_problem(
        mfa_step(&app, &challenge, &code(&secret, 1)).await,
        400,
        "invalid_grant",
    )
    .await;
    let challenge =
        assert_problem(password_step(&app).await, 401, "mfa_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let tokens: Value = mfa_step(&app, &challenge, &code(&secret, 1))
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"]
        .as_str()
        .expect("tokens after the second factor");
    assert_eq!(
        app.with_token(access)
            .get("/users/me")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A recovery code works once, formatted or not.
    let challenge =
        assert_problem(password_step(&app).await, 401, "mfa_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(
        mfa_step(
            &app,
            &challenge,
            &recovery[0].to_uppercase().replace('-', " ")
        )
        .await
        .status(),
        200
    );
    let challenge =
        assert_problem(password_step(&app).await, 401, "mfa_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_problem(
        mfa_step(&app, &challenge, &recovery[0]).await,
        400,
        "invalid_mfa_code",
    )
    .await;

    // Turning it off needs a code; then the password alone logs in again.
    let fresh = app.with_token(access);
    assert_problem(
        fresh
            .post_json("/auth/mfa/totp/disable", json!({ "code": "123456" }))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_mfa_code",
    )
    .await;
    assert_eq!(
        fresh
            .post_json("/auth/mfa/totp/disable", json!({ "code": recovery[1] }))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(password_step(&app).await.status(), 200);
}

#[tokio::test]
async fn roles_can_be_required_to_enrol_before_they_log_in() {
    let app =
        TestApp::spawn_with(|c| c.auth.mfa_required_roles = vec![agon_kit::Role::Admin]).await;
    let login = || {
        app.post_json("/auth/token", json!({ "grant_type": "password", "email": agon_testkit::ADMIN_EMAIL, "password": agon_testkit::ADMIN_PASSWORD }))
            .send()
    };
    let challenge =
        assert_problem(login().await.unwrap(), 403, "mfa_enrollment_required").await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
    // Members of other roles are not affected.
    app.register("ana@club.org").await;

    let bad = app.post_json("/auth/mfa/enrollment", json!({ "mfa_token": "forged" }));
    assert_problem(bad.send().await.unwrap(), 400, "invalid_grant").await;
    let enrolment: Value = app
        .post_json("/auth/mfa/enrollment", json!({ "mfa_token": challenge }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let tokens: Value = mfa_step(&app, &challenge, &code(&secret, 0))
        .await
        .json()
        .await
        .unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert_eq!(tokens["recovery_codes"].as_array().unwrap().len(), 10);
    // From now on the admin logs in with a code, like any TOTP account.
    let next = assert_problem(login().await.unwrap(), 401, "mfa_required").await["mfa_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let again: Value = mfa_step(&app, &next, &code(&secret, 1))
        .await
        .json()
        .await
        .unwrap();
    assert!(again["access_token"].is_string());
    assert!(again.get("recovery_codes").is_none());
}
