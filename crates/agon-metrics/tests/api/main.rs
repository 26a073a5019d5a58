//! The metrics service through the gateway: events of the other services counted by day, week and month, the
//! date range honoured, and the projection rebuilt from the event store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_db::Row;
use agon_testkit::{TestApp, assert_problem};
use serde_json::{Value, json};

async fn metrics(app: &TestApp, admin: &agon_testkit::TestUser, query: &str) -> Value {
    let response = app
        .as_user(admin)
        .get(&format!("/analytics/metrics{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn series<'a>(body: &'a Value, metric: &str) -> &'a Value {
    body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == metric)
        .unwrap()
}

#[tokio::test]
async fn events_are_counted_by_day_with_breakdowns_and_the_date_range_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@agon.test").await;
    app.register("bob@agon.test").await;
    app.login("ana@agon.test", agon_testkit::PASSWORD).await;
    let response = app
        .as_user(&admin)
        .post_json(&format!("/users/{}/ban", ana.id), json!({"reason": "spam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let today = chrono::Utc::now().date_naive();
    let q = format!("?from={today}&to={today}");
    app.until(|| async {
        let body = metrics(&app, &admin, &q).await;
        series(&body, "users_blocked")["total"] == 1 && series(&body, "logins")["total"] == 4
    })
    .await;
    let body = metrics(&app, &admin, &q).await;
    let sign_ups = series(&body, "sign_ups");
    assert_eq!(sign_ups["total"], 3, "the administrator and two members");
    assert_eq!(sign_ups["by"]["password"], 2);
    assert_eq!(sign_ups["by"]["admin"], 1);
    let logins = series(&body, "logins");
    assert_eq!(logins["by"]["password"], logins["total"]);
    assert_eq!(logins["total"], 4, "admin, ana twice, bob");
    assert_eq!(logins["buckets"][0]["start"], today.to_string());
    assert_eq!(series(&body, "approvals")["total"], 0);

    // A range that excludes today counts nothing: the filter filters.
    let yesterday = today - chrono::Duration::days(1);
    let body = metrics(&app, &admin, &format!("?from={yesterday}&to={yesterday}")).await;
    assert!(
        body["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["total"] == 0)
    );

    // The drill-down: the events themselves, by topic.
    let events: Value = app
        .as_user(&admin)
        .get("/analytics/events?topic=users.user_banned.v1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events["items"][0]["payload"]["reason"], "spam");
    // …and by a payload field: Ana and Bob signed up with a password; nobody through SSO.
    let by_method = |method: &str| {
        let path =
            format!("/analytics/events?topic=auth.user_registered.v1&field=method&value={method}");
        let request = app.as_user(&admin).get(&path).send();
        async move {
            let page: Value = request.await.unwrap().json().await.unwrap();
            page["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        (by_method("password").await, by_method("sso").await),
        (2, 0)
    );
    for (query, field) in [("field=method", "value"), ("field=a.b&value=x", "field")] {
        let response = app
            .as_user(&admin)
            .get(&format!("/analytics/events?{query}"))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }

    for (query, field) in [
        ("?from=2026-13-01", "from"),
        ("?from=2026-02-01&to=2026-01-01", "from"),
        ("?metric=nope", "metric"),
    ] {
        let response = app
            .as_user(&admin)
            .get(&format!("/analytics/metrics{query}"))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422, "invalid_body").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    let response = app.as_user(&ana).get("/analytics/metrics").send().await;
    // Ana is banned: her token no longer works at all.
    assert_eq!(response.unwrap().status(), 401);
    let bob = app.login("bob@agon.test", agon_testkit::PASSWORD).await;
    let response = app
        .as_user(&bob)
        .get("/analytics/metrics")
        .send()
        .await
        .unwrap();
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn the_projection_is_rebuilt_from_the_event_store_and_buckets_by_week_and_month() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let db = app.database("metrics").await;
    // Events stored in the past (before their metric existed, say): the projection does not know them yet.
    for (i, day) in ["2026-01-05", "2026-01-07", "2026-01-12", "2026-02-02"]
        .iter()
        .enumerate()
    {
        sqlx::query(
            "insert into events (id, topic, source, occurred_at, payload, stored_at) values ($1, $2, 'auth', $3, $4, $3)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind("auth.logged_in.v1")
        .bind(format!("{day}T10:00:00.000000Z"))
        .bind(json!({"method": if i == 0 { "sso" } else { "password" }}).to_string())
        .execute(db.pool())
        .await
        .unwrap();
    }
    let q = "?from=2026-01-01&to=2026-02-28&metric=logins";
    assert_eq!(metrics(&app, &admin, q).await["metrics"][0]["total"], 0);
    let mut reports = Vec::new();
    let counted = agon_metrics::rebuild(&db, |done, total| reports.push((done, total)))
        .await
        .unwrap();
    assert!(counted >= 4);
    assert_eq!(
        reports.last().unwrap().0,
        reports.last().unwrap().1,
        "progress ends at the total"
    );

    let by_month = metrics(&app, &admin, &format!("{q}&bucket=month")).await;
    let logins = &by_month["metrics"][0];
    assert_eq!(logins["total"], 4);
    assert_eq!(logins["by"], json!({"password": 3, "sso": 1}));
    assert_eq!(
        logins["buckets"],
        json!([
            {"start": "2026-01-01", "count": 3, "by": {"password": 2, "sso": 1}},
            {"start": "2026-02-01", "count": 1, "by": {"password": 1}},
        ])
    );
    let by_week = metrics(&app, &admin, &format!("{q}&bucket=week")).await;
    let weeks = by_week["metrics"][0]["buckets"].as_array().unwrap();
    assert_eq!(weeks[0]["start"], "2025-12-29", "ISO weeks start on Monday");
    assert_eq!(
        weeks[1],
        json!({"start": "2026-01-05", "count": 2, "by": {"password": 1, "sso": 1}})
    );
    assert_eq!(weeks[2]["count"], 1);
    // Events counted live before the rebuild are still counted once after it.
    let today = chrono::Utc::now().date_naive();
    let live = metrics(
        &app,
        &admin,
        &format!("?from={today}&to={today}&metric=sign_ups"),
    )
    .await;
    assert_eq!(live["metrics"][0]["total"], 1, "the administrator");
    let stored: i64 = sqlx::query("select count(*) from events")
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(counted, stored);
}

#[tokio::test]
async fn event_cursors_that_are_not_ours_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // base64url of `hello` (no sequence number), and a cursor far longer than any of ours.
    for cursor in ["aGVsbG8".to_owned(), "A".repeat(5000)] {
        let response = app
            .as_user(&admin)
            .get(&format!("/analytics/events?cursor={cursor}"))
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid_cursor").await;
    }
}
