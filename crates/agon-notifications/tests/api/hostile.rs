//! Hostile input: forged page cursors, control characters in what a notification carries.

use agon_testkit::assert_problem;
use serde_json::json;

use super::{items, member};

/// base64url of `hello, world`: decodes cleanly, but is no notification id.
const WRONG_SHAPE: &str = "aGVsbG8sIHdvcmxk";

#[tokio::test]
async fn cursors_that_are_not_ours_are_refused() {
    let app = agon_testkit::TestApp::spawn().await;
    let ana = member(&app, "ana@agon.test").await;
    let admin = app.admin().await;
    let too_long = "A".repeat(5000);
    for (user, list) in [
        (&ana, "/notifications"),
        (&admin, "/notifications/admin/deliveries"),
    ] {
        for cursor in [too_long.as_str(), WRONG_SHAPE] {
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

#[tokio::test]
async fn control_characters_in_a_notification_are_refused() {
    let app = agon_testkit::TestApp::spawn().await;
    let ana = member(&app, "ana@agon.test").await;
    let admin = app.admin().await;
    let before = items(&app, &ana, "/notifications").await.len();
    for (field, body) in [
        (
            "title",
            json!({"user_ids": [ana.id], "title": "Hi\r\nBcc: x@evil.test", "body": "Hello"}),
        ),
        (
            "title",
            json!({"user_ids": [ana.id], "title": "\u{1b}[2JHi", "body": "Hello"}),
        ),
        (
            "body",
            json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello\0"}),
        ),
        (
            "link",
            json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello", "link": "https://x.test/\u{7}"}),
        ),
        (
            "digest_key",
            json!({"user_ids": [ana.id], "title": "Hi", "body": "Hello", "digest_key": "k\u{202E}"}),
        ),
    ] {
        let response = app
            .as_user(&admin)
            .post_json("/notifications/send", body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    assert_eq!(items(&app, &ana, "/notifications").await.len(), before);
    // A body keeps its line feeds.
    let fine = app
        .as_user(&admin)
        .post_json(
            "/notifications/send",
            json!({"user_ids": [ana.id], "title": "Hi", "body": "Line one\nLine two"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 202);
}
