//! The shop over HTTP through the gateway, with the ledger behind it: items on sale, buying as a saga (stock
//! reserved, payment captured or declined, the order completed or cancelled), retries by Idempotency-Key, paying
//! on account, refunds, and 200 buyers at once for 50 units.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agon_testkit::{TestApp, TestUser, json};
use serde_json::Value;

async fn send(
    app: &TestApp,
    who: &TestUser,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    send_keyed(app, who, (method, path), None, body).await
}

async fn send_keyed(
    app: &TestApp,
    who: &TestUser,
    (method, path): (&str, &str),
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let as_user = app.as_user(who);
    let mut request = match method {
        "POST" => as_user.post_json(path, body),
        "PATCH" => as_user.patch_json(path, body),
        "DELETE" => as_user.delete(path),
        _ => as_user.get(path),
    };
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Deposits `amount` into `who`'s account, as the administrator.
async fn fund(app: &TestApp, admin: &TestUser, who: &TestUser, amount: i64) {
    let body = json!({ "user_id": who.id, "amount": amount });
    assert_eq!(
        send(app, admin, "POST", "/ledger/deposits", body).await.0,
        201
    );
}

async fn balance(app: &TestApp, who: &TestUser) -> i64 {
    send(app, who, "GET", "/ledger/accounts/me", Value::Null)
        .await
        .1["balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_buy_is_paid_or_declined_once_and_a_refund_gives_it_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let jersey = json!({ "name": "Club jersey", "price": 1500, "stock": 3,
                         "images": ["https://club.example/jersey.png"] });
    let (status, item) = send(&app, &bo, "POST", "/shop/items", jersey).await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(
        (item["currency"].as_str(), item["stock"].as_i64()),
        (Some("EUR"), Some(3))
    );
    let id = item["id"].as_str().unwrap().to_owned();
    let buy = format!("/shop/items/{id}/buy");
    // Anyone reads the shop, without a token.
    let anonymous = app.get("/shop/items").send().await.unwrap();
    let page: Value = anonymous.json().await.unwrap();
    assert_eq!(page["items"][0]["id"], item["id"]);

    // Nothing in Ana's wallet: declined, the order cancelled and its unit back on sale.
    let (status, problem) = send(&app, &ana, "POST", &buy, json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (402, Some("payment_declined")),
        "{problem}"
    );
    let (_, orders) = send(&app, &ana, "GET", "/shop/orders", Value::Null).await;
    let cancelled = &orders["items"][0];
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["reason"].as_str()),
        (Some("cancelled"), Some("insufficient_funds"))
    );
    let (_, item) = send(&app, &ana, "GET", &format!("/shop/items/{id}"), Value::Null).await;
    assert_eq!(item["stock"], 3);

    // Funded: paid once, however often the buy is retried.
    fund(&app, &admin, &ana, 5000).await;
    let two = json!({ "quantity": 2 });
    let (status, order) = send_keyed(&app, &ana, ("POST", &buy), Some("buy-1"), two.clone()).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (order["status"].as_str(), order["amount"].as_i64()),
        (Some("completed"), Some(3000))
    );
    let (status, again) = send_keyed(&app, &ana, ("POST", &buy), Some("buy-1"), two).await;
    assert_eq!((status, &again["id"]), (200, &order["id"]));
    let (status, problem) = send_keyed(&app, &ana, ("POST", &buy), Some("buy-1"), json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(balance(&app, &ana).await, 2000);
    app.told(
        &ana,
        "order_completed",
        "You bought 2 × Club jersey for 30.00 EUR",
    )
    .await;
    app.told(&ana, "order_cancelled", "The payment was declined")
        .await;
    let (status, problem) = send(&app, &ana, "POST", &buy, json!({ "quantity": 2 })).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("sold_out")));
    let (status, problem) = send(&app, &bo, "POST", &buy, json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("own_item")));

    // The seller refunds: the payment goes back, then the units.
    let order_path = format!("/shop/orders/{}", order["id"].as_str().unwrap());
    assert_eq!(
        send(&app, &admin, "GET", &order_path, Value::Null).await.0,
        200
    );
    let outsider = app.register("cy@club.org").await;
    assert_eq!(
        send(&app, &outsider, "GET", &order_path, Value::Null)
            .await
            .0,
        404
    );
    assert_eq!(
        send(
            &app,
            &ana,
            "POST",
            &format!("{order_path}/refund"),
            Value::Null
        )
        .await
        .0,
        403
    );
    let (status, refunding) = send(
        &app,
        &bo,
        "POST",
        &format!("{order_path}/refund"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, refunding["status"].as_str()),
        (202, Some("refund_pending"))
    );
    app.until(|| async {
        send(&app, &ana, "GET", &order_path, Value::Null).await.1["status"] == "refunded"
    })
    .await;
    assert_eq!(balance(&app, &ana).await, 5000);
    let (_, item) = send(&app, &ana, "GET", &format!("/shop/items/{id}"), Value::Null).await;
    assert_eq!(item["stock"], 3);

    // Withdrawn from sale: gone for buyers, still there for its seller.
    assert_eq!(
        send(
            &app,
            &bo,
            "DELETE",
            &format!("/shop/items/{id}"),
            Value::Null
        )
        .await
        .0,
        204
    );
    assert_eq!(
        send(&app, &ana, "GET", &format!("/shop/items/{id}"), Value::Null)
            .await
            .0,
        404
    );
    assert_eq!(send(&app, &ana, "POST", &buy, json!({})).await.0, 404);
    let (_, mine) = send(&app, &bo, "GET", &format!("/shop/items/{id}"), Value::Null).await;
    assert_eq!(mine["active"], false);
}

#[tokio::test]
async fn paying_on_account_runs_a_tab_up_to_its_credit_limit() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let (_, item) = send(
        &app,
        &admin,
        "POST",
        "/shop/items",
        json!({ "name": "Energy bar", "price": 250, "stock": 10 }),
    )
    .await;
    let buy = format!("/shop/items/{}/buy", item["id"].as_str().unwrap());
    let (_, account) = send(&app, &ana, "GET", "/ledger/accounts/me", Value::Null).await;
    let limit = json!({ "credit_limit": 600 });
    let path = format!("/ledger/accounts/{}", account["id"].as_str().unwrap());
    assert_eq!(send(&app, &admin, "PATCH", &path, limit).await.0, 200);
    let on_account = json!({ "payment": "account" });
    assert_eq!(
        send(&app, &ana, "POST", &buy, on_account.clone()).await.0,
        201
    );
    assert_eq!(
        send(&app, &ana, "POST", &buy, on_account.clone()).await.0,
        201
    );
    let (status, _) = send(&app, &ana, "POST", &buy, on_account).await;
    assert_eq!(status, 402, "600 of credit holds two bars, not three");
    let (status, _) = send(&app, &ana, "POST", &buy, json!({ "payment": "wallet" })).await;
    assert_eq!(status, 402, "the wallet holds nothing");
    assert_eq!(balance(&app, &ana).await, -500);
}

#[tokio::test]
async fn two_hundred_buyers_at_once_take_exactly_fifty_units_paid_once_each() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, item) = send(
        &app,
        &admin,
        "POST",
        "/shop/items",
        json!({ "name": "Race entry", "price": 100, "stock": 50 }),
    )
    .await;
    let buy = format!("/shop/items/{}/buy", item["id"].as_str().unwrap());
    let mut buyers = Vec::new();
    for n in 0..4 {
        let buyer = app.register(&format!("buyer{n}@club.org")).await;
        fund(&app, &admin, &buyer, 10_000).await;
        buyers.push(buyer);
    }
    let sent = (0..200).map(|n| send(&app, &buyers[n % 4], "POST", &buy, json!({})));
    let answers = futures_util::future::join_all(sent).await;
    let paid = answers.iter().filter(|(s, _)| *s == 201).count();
    let sold_out = answers
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "sold_out")
        .count();
    assert_eq!((paid, sold_out), (50, 150), "{answers:?}");
    let (_, item) = send(
        &app,
        &admin,
        "GET",
        &format!("/shop/items/{}", item["id"].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(item["stock"], 0);
    // The ledger agrees: 50 purchases of 100, no more.
    let mut spent = 0;
    for buyer in &buyers {
        spent += 10_000 - balance(&app, buyer).await;
    }
    assert_eq!(spent, 50 * 100);
    let (_, orders) = send(&app, &admin, "GET", "/shop/orders?limit=100", Value::Null).await;
    let completed = orders["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "completed")
        .count();
    assert_eq!(completed, 50);
}
