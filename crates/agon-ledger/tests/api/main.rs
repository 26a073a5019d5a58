//! The ledger over HTTP through the gateway: deposits by staff, withdrawals never below zero, retries by
//! Idempotency-Key, concurrent payments against one balance, statements and period reports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

/// Sends `body` to `path` as `who`, with an Idempotency-Key when given.
async fn post(
    app: &TestApp,
    who: &TestUser,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = app.as_user(who).post_json(path, body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, who: &TestUser, path: &str) -> (u16, Value) {
    let response = app.as_user(who).get(path).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn staff_deposit_members_withdraw_never_below_zero_and_retries_count_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;

    let five = json!({ "user_id": ana.id, "amount": 5000, "description": "Cash at the desk" });
    let (status, first) = post(
        &app,
        &admin,
        "/ledger/deposits",
        Some("desk-1"),
        five.clone(),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (first["kind"].as_str(), first["currency"].as_str()),
        (Some("deposit"), Some("EUR"))
    );
    // The same request again: the first deposit, not a second one.
    let (status, again) = post(&app, &admin, "/ledger/deposits", Some("desk-1"), five).await;
    assert_eq!((status, &again["id"]), (200, &first["id"]));
    let other = json!({ "user_id": ana.id, "amount": 7000 });
    let (status, problem) = post(&app, &admin, "/ledger/deposits", Some("desk-1"), other).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Members do not deposit money themselves; a bad key is refused.
    let mine = json!({ "amount": 100 });
    let (status, problem) = post(&app, &ana, "/ledger/deposits", None, mine.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("deposits_by_staff"))
    );
    let (status, problem) = post(&app, &admin, "/ledger/deposits", Some(""), mine).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("invalid_header"))
    );
    let bad = json!({ "user_id": ana.id, "amount": 0, "currency": "EURO" });
    let (status, problem) = post(&app, &admin, "/ledger/deposits", None, bad).await;
    assert_eq!(status, 422, "{problem}");

    let three = json!({ "amount": 3000 });
    assert_eq!(
        post(&app, &ana, "/ledger/withdrawals", None, three.clone())
            .await
            .0,
        201
    );
    let (status, problem) = post(&app, &ana, "/ledger/withdrawals", None, three).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("insufficient_funds"))
    );
    let theirs = json!({ "user_id": ana.id, "amount": 1 });
    assert_eq!(
        post(&app, &bo, "/ledger/withdrawals", None, theirs).await.0,
        403
    );

    let (_, account) = get(&app, &ana, "/ledger/accounts/me").await;
    assert_eq!(
        (account["balance"].as_i64(), account["available"].as_i64()),
        (Some(2000), Some(2000))
    );
    let id = account["id"].as_str().unwrap();
    assert_eq!(
        get(&app, &bo, &format!("/ledger/accounts/{id}")).await.0,
        404
    );
    let (_, statement) = get(
        &app,
        &ana,
        &format!("/ledger/accounts/{id}/transactions?limit=1"),
    )
    .await;
    assert_eq!(statement["items"][0]["amount"], 5000);
    let next = statement["next_cursor"].as_str().unwrap();
    let (_, rest) = get(
        &app,
        &ana,
        &format!("/ledger/accounts/{id}/transactions?cursor={next}"),
    )
    .await;
    assert_eq!(rest["items"][0]["kind"], "withdrawal");
    assert!(rest["next_cursor"].is_null());

    // The report: totals by kind over an inclusive window, and the same rows as CSV.
    let window = "from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
    let (status, report) = get(
        &app,
        &ana,
        &format!("/ledger/accounts/{id}/report?{window}"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["totals"],
        json!([{ "kind": "deposit", "count": 1, "amount": 5000 }, { "kind": "withdrawal", "count": 1, "amount": 3000 }])
    );
    assert_eq!(
        (report["count"].as_i64(), report["net"].as_i64()),
        (Some(2), Some(2000))
    );
    let csv = app
        .as_user(&ana)
        .get(&format!("/ledger/accounts/{id}/report?{window}&format=csv"))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].contains(",deposit,5000,EUR,,Cash at the desk"),
        "{csv}"
    );
    let empty = "from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z";
    let (_, none) = get(&app, &ana, &format!("/ledger/accounts/{id}/report?{empty}")).await;
    assert_eq!(
        (none["count"].as_i64(), none["totals"].clone()),
        (Some(0), json!([]))
    );

    // Administrators see every account: ana's, the world's the money came from.
    let (_, all) = get(&app, &admin, "/ledger/accounts").await;
    let world = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["holder"] == "world")
        .unwrap();
    assert_eq!(world["balance"], -2000, "what came in, less what went out");
    assert_eq!(get(&app, &ana, "/ledger/accounts").await.0, 403);
}

#[tokio::test]
async fn concurrent_withdrawals_never_take_a_balance_below_zero_and_one_key_posts_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let ten = json!({ "user_id": ana.id, "amount": 1000 });
    // Ten deposits at once under one key: one transaction.
    let sent = (0..10).map(|_| post(&app, &admin, "/ledger/deposits", Some("once"), ten.clone()));
    let answers = futures_util::future::join_all(sent).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(_, t)| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(s, _)| *s == 201).count(), 1);
    // Twenty withdrawals of 100 at once against 1000: exactly ten go through.
    let one = json!({ "amount": 100 });
    let sent = (0..20).map(|_| post(&app, &ana, "/ledger/withdrawals", None, one.clone()));
    let answers = futures_util::future::join_all(sent).await;
    let taken = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, t)| *s == 409 && t["code"] == "insufficient_funds")
        .count();
    assert_eq!((taken, refused), (10, 10), "{answers:?}");
    let (_, account) = get(&app, &ana, "/ledger/accounts/me").await;
    assert_eq!(account["balance"], 0);
}
