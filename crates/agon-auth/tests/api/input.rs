//! Hostile input that is not a token: control characters in identifiers and names, forged page cursors.

use agon_testkit::{PASSWORD, TestApp, assert_problem, json};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

const HOSTILE_EMAILS: [&str; 5] = [
    "ana\0@club.org",
    "ana\u{7}@club.org",
    "\u{1b}[31mana@club.org",
    "ana@club.org\u{1b}",
    "ana\u{202E}gro@club.org",
];

#[tokio::test]
async fn control_characters_in_an_email_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.count("auth", "accounts").await;
    for email in HOSTILE_EMAILS {
        let response = app
            .post_json(
                "/auth/register",
                json!({ "email": email, "password": PASSWORD }),
            )
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], "email", "{email:?}");
        let login = app
            .post_json(
                "/auth/token",
                json!({ "grant_type": "password", "email": email, "password": PASSWORD }),
            )
            .send()
            .await
            .unwrap();
        assert_problem(login, 422, "invalid_body").await;
    }
    assert_eq!(app.count("auth", "accounts").await, before, "no account");
    let admin = app.admin().await;
    let created = app
        .as_user(&admin)
        .post_json(
            "/auth/admin/users",
            json!({ "email": "bo\0@club.org", "password": PASSWORD, "roles": ["coach"] }),
        )
        .send()
        .await
        .unwrap();
    assert_problem(created, 422, "invalid_body").await;
    assert_eq!(app.count("auth", "accounts").await, before);
}

#[tokio::test]
async fn control_characters_in_a_display_name_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.count("auth", "accounts").await;
    for name in [
        "Ana\0",
        "Ana\u{7}",
        "\u{1b}]0;pwned\u{7}Ana",
        "Ana\nAdmin",
        "Ana\u{2066}x",
    ] {
        let response = app
            .post_json(
                "/auth/register",
                json!({ "email": "ana@club.org", "password": PASSWORD, "display_name": name }),
            )
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], "display_name", "{name:?}");
    }
    let admin = app.admin().await;
    let created = app
        .as_user(&admin)
        .post_json(
            "/auth/admin/users",
            json!({ "email": "bo@club.org", "password": PASSWORD, "roles": ["coach"], "display_name": "Bo\u{1b}[0m" }),
        )
        .send()
        .await
        .unwrap();
    let problem = assert_problem(created, 422, "invalid_body").await;
    assert_eq!(problem["errors"][0]["field"], "display_name");
    assert_eq!(app.count("auth", "accounts").await, before, "no account");
    // A clean name still registers.
    let fine = app
        .post_json(
            "/auth/register",
            json!({ "email": "ana@club.org", "password": PASSWORD, "display_name": "José Ñúñez" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 201);
}

#[tokio::test]
async fn session_cursors_that_are_not_ours_are_refused() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let admin = app.admin().await;
    let too_long = "A".repeat(5000);
    let wrong_shape = URL_SAFE_NO_PAD.encode("2026-01-01T00:00:00Z");
    let not_base64 = "!!!".to_owned();
    for (user, list) in [
        (&ana, "/auth/sessions".to_owned()),
        (&admin, format!("/auth/admin/users/{}/sessions", ana.id)),
    ] {
        for cursor in [&too_long, &wrong_shape, &not_base64] {
            let response = app
                .as_user(user)
                .get(&format!("{list}?cursor={cursor}"))
                .send()
                .await
                .unwrap();
            assert_problem(response, 400, "invalid_cursor").await;
        }
    }
}
