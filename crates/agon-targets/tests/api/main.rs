//! The targets service over HTTP through the gateway: targets, activity reports, completion, totals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_testkit::{TestApp, TestUser, assert_problem, json};
use serde_json::Value;

fn past_instant() -> String {
    agon_db::time_text(chrono::Utc::now() - chrono::Duration::days(1))
}

fn in_days(days: i64) -> String {
    agon_db::time_text(chrono::Utc::now() + chrono::Duration::days(days))
}

async fn target(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let response = app
        .as_user(who)
        .post_json("/targets", body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn report(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let response = app
        .as_user(who)
        .post_json("/targets/reports", body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn reports_move_open_targets_count_once_and_complete_them() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let run = target(
        &app,
        &ana,
        json!({ "name": "50 km in May", "metric": "distance_km", "goal": 50,
                                         "deadline": in_days(30), "time_zone": "Europe/Madrid" }),
    )
    .await;
    assert_eq!(
        (run["status"].as_str(), run["current"].as_f64()),
        (Some("open"), Some(0.0))
    );
    let steps = target(
        &app,
        &ana,
        json!({ "name": "Steps", "metric": "steps", "goal": 10000,
                                           "deadline": in_days(7) }),
    )
    .await;

    let counted = report(
        &app,
        &ana,
        json!({ "metric": "distance_km", "amount": 30, "report_id": "r-1" }),
    )
    .await;
    assert_eq!(
        (
            counted["counted"].as_bool(),
            counted["completed"].as_array().unwrap().len()
        ),
        (Some(true), 0)
    );
    // The app retries the same upload: nothing moves.
    let retried = report(
        &app,
        &ana,
        json!({ "metric": "distance_km", "amount": 30, "report_id": "r-1" }),
    )
    .await;
    assert_eq!(retried["counted"], false);
    let path = format!("/targets/{}", run["id"].as_str().unwrap());
    let read = || async {
        let body: Value = app
            .as_user(&ana)
            .get(&path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body
    };
    assert_eq!(read().await["current"], 30.0);
    // Renaming keeps the progress the reports made.
    let renamed = app
        .as_user(&ana)
        .patch_json(&path, json!({ "name": "50 km this May" }))
        .send();
    assert_eq!(renamed.await.unwrap().status(), 200);
    assert_eq!(read().await["current"], 30.0);
    // Over the goal it saturates and completes; a later report changes nothing.
    let done = report(&app, &ana, json!({ "metric": "distance_km", "amount": 25 })).await;
    assert_eq!(done["completed"], json!([run["id"]]));
    report(&app, &ana, json!({ "metric": "distance_km", "amount": 5 })).await;
    // The owner is told, once.
    let notices = || async {
        let page: Value = app
            .as_user(&ana)
            .get("/notifications")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] == "target_completed")
            .count()
    };
    app.until(|| async { notices().await == 1 }).await;
    let finished = read().await;
    assert_eq!(
        (finished["current"].as_f64(), finished["status"].as_str()),
        (Some(50.0), Some("completed"))
    );
    let other: Value = (app
        .as_user(&ana)
        .get(&format!("/targets/{}", steps["id"].as_str().unwrap())))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        other["current"], 0.0,
        "another metric's target does not move"
    );

    // Totals per metric, every metric listed.
    let totals: Value = (app.as_user(&ana).get("/targets/reports/totals"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let distance = totals["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "distance_km")
        .unwrap();
    assert_eq!(distance["total"], 60.0);
    assert!(
        totals["totals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["metric"] == "calories" && t["total"] == 0.0)
    );

    // Someone else's target is not there for them.
    let bo = app.register("bo@club.org").await;
    assert_problem(
        app.as_user(&bo).get(&path).send().await.unwrap(),
        404,
        "target_not_found",
    )
    .await;
    let bad = app
        .as_user(&ana)
        .post_json("/targets/reports", json!({ "metric": "joy", "amount": -1 }));
    let problem = assert_problem(bad.send().await.unwrap(), 422, "invalid_body").await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn fifty_concurrent_reports_never_overshoot_and_complete_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let goal = target(
        &app,
        &ana,
        json!({ "name": "Calories", "metric": "calories", "goal": 1000,
                                          "deadline": in_days(3) }),
    )
    .await;
    let sends: Vec<_> = (0..50)
        .map(|i| {
            let body = json!({ "metric": "calories", "amount": 30, "report_id": format!("c-{i}") });
            app.as_user(&ana).post_json("/targets/reports", body).send()
        })
        .collect();
    let mut completions = 0;
    for response in futures_util::future::join_all(sends).await {
        let body: Value = response.unwrap().json().await.unwrap();
        completions += body["completed"].as_array().unwrap().len();
    }
    assert_eq!(completions, 1);
    let path = format!("/targets/{}", goal["id"].as_str().unwrap());
    let read: Value = app
        .as_user(&ana)
        .get(&path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["current"].as_f64(), read["status"].as_str()),
        (Some(1000.0), Some("completed"))
    );
    // One event: the metric counts one completion.
    let metric = "/analytics/metrics?metric=targets_completed";
    let total = || async {
        let body: Value = app
            .as_user(&admin)
            .get(metric)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["metrics"][0]["total"].clone()
    };
    app.until(|| async { total().await == 1 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(total().await, 1);
}

#[tokio::test]
async fn an_expired_target_no_longer_changes() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let past = agon_db::time_text(chrono::Utc::now() + chrono::Duration::milliseconds(300));
    let short = target(
        &app,
        &ana,
        json!({ "name": "Sprint", "metric": "sessions", "goal": 3, "deadline": past }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let path = format!("/targets/{}", short["id"].as_str().unwrap());
    let response = app
        .as_user(&ana)
        .patch_json(&path, json!({ "goal": 5 }))
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "target_expired").await;
    // A new deadline ahead reopens it.
    let extend = json!({ "deadline": in_days(2) });
    let response = app
        .as_user(&ana)
        .patch_json(&path, extend)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let reopened: Value = response.json().await.unwrap();
    assert_eq!(reopened["status"], "open");
    let response = app
        .as_user(&ana)
        .patch_json(&path, json!({ "deadline": past_instant() }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a deadline may also move while the target is open"
    );
    report(&app, &ana, json!({ "metric": "sessions", "amount": 3 })).await;
    let read: Value = app
        .as_user(&ana)
        .get(&path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["current"].as_f64(), read["status"].as_str()),
        (Some(0.0), Some("expired"))
    );
    let response = app
        .as_user(&ana)
        .post_json(
            "/targets",
            json!({ "name": "x", "metric": "steps", "goal": 1,
        "deadline": in_days(1), "time_zone": "Mars/Olympus" }),
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "invalid_body").await;
}

#[tokio::test]
async fn series_count_days_and_weeks_in_the_members_time_zone() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    // 02:00 UTC on the 10th is still the 9th in Buenos Aires (UTC-3).
    for (at, amount) in [
        ("2026-11-10T02:00:00Z", 5.0),
        ("2026-11-10T12:00:00Z", 2.5),
        ("2026-11-16T09:00:00Z", 1.0),
    ] {
        report(
            &app,
            &ana,
            json!({ "metric": "distance_km", "amount": amount, "at": at }),
        )
        .await;
    }
    let series = |query: &str| {
        let request = app
            .as_user(&ana)
            .get(&format!(
                "/targets/reports/series?metric=distance_km&{query}"
            ))
            .send();
        async move {
            let body: Value = request.await.unwrap().json().await.unwrap();
            body
        }
    };
    let days =
        series("from=2026-11-09&to=2026-11-10&time_zone=America/Argentina/Buenos_Aires").await;
    assert_eq!(
        days["points"],
        json!([{ "start": "2026-11-09", "total": 5.0 }, { "start": "2026-11-10", "total": 2.5 }])
    );
    // A week is whole even when `from` falls inside it.
    let weeks = series("from=2026-11-11&to=2026-11-22&bucket=week").await;
    assert_eq!(
        weeks["points"],
        json!([{ "start": "2026-11-09", "total": 7.5 }, { "start": "2026-11-16", "total": 1.0 }])
    );
    let bad = app
        .as_user(&ana)
        .get("/targets/reports/series?metric=distance_km&from=2020-01-01&to=2026-01-01");
    assert_problem(bad.send().await.unwrap(), 422, "invalid_body").await;
}
