//! Administrators' counts over every member's notifications.

use agon_testkit::{TestApp, assert_problem};
use serde_json::Value;

use super::{items, member};

#[tokio::test]
async fn administrators_count_notifications_by_state_and_type() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = member(&app, "ana@club.org").await;
    let bo = member(&app, "bo@club.org").await;
    let first = &items(&app, &ana, "/notifications").await[0];
    let read = format!("/notifications/{}/read", first["id"].as_str().unwrap());
    let marked = app
        .as_user(&ana)
        .post_json(&read, Value::Null)
        .send()
        .await
        .unwrap();
    assert!(marked.status().is_success());

    let stats: Value = (app.as_user(&admin).get("/notifications/admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = stats["total"].as_i64().unwrap();
    assert!(total >= 2, "{stats}");
    assert_eq!(stats["by_status"]["read"], 1, "{stats}");
    assert_eq!(stats["by_status"]["unread"].as_i64().unwrap(), total - 1);
    let by_type: i64 = stats["by_type"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .sum();
    assert_eq!(by_type, total);
    assert!(
        stats["by_type"][first["type"].as_str().unwrap()]
            .as_i64()
            .unwrap()
            >= 2
    );

    let refused = app
        .as_user(&bo)
        .get("/notifications/admin/stats")
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, "forbidden").await;
}
