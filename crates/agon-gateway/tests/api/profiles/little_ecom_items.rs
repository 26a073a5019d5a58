//! little-ecom (seed 004): its backend's items and buying, as its integration script (`tests/integration.py`)
//! drives them — the three suites, then what the script leaves out: buying, other members' items, token errors.

use agon_testkit::{TestApp, json};
use serde_json::Value;

use super::{call, read};

/// Registers and signs in as the Go client does: the token is the sign-in's whole body.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let credentials = json!({ "email": email, "password": "securepassword" });
    let registered = app
        .post_json("/auth/register", credentials.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let (status, _, token) = read(
        app.post_json("/auth/signin", credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    token
}

/// `add_item`: 201 and the new id as plain text.
async fn add(app: &TestApp, token: &str, item: Value) -> String {
    let response = app
        .client
        .post(app.url("/item"))
        .bearer_auth(token)
        .json(&item)
        .send()
        .await
        .unwrap();
    let (status, content_type, id) = read(response).await;
    assert_eq!(status, 201, "{id}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    id
}

async fn delete_account(app: &TestApp, email: &str) {
    let body = json!({ "email": email, "password": "securepassword" });
    let response = app
        .client
        .delete(app.url("/auth/delete"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn the_integration_scripts_three_suites_pass_unchanged() {
    let app = TestApp::spawn_profile("little-ecom").await;

    // Suite 1: add, read, update, read again, remove; the owner is the email's local part.
    let token = sign_in(&app, "testowner@example.com").await;
    let id = add(
        &app,
        &token,
        json!({ "name": "Test Item", "owner": "testowner", "price": 9.99 }),
    )
    .await;
    let (status, mut item) = call(&app, "GET", &format!("/item/{id}"), Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        item,
        json!({ "id": id, "owner": "testowner", "name": "Test Item", "price": 9.99 })
    );
    item["price"] = json!(19.99);
    let (status, body) = call(
        &app,
        "PUT",
        &format!("/item/{id}"),
        Some(&token),
        Some(item),
    )
    .await;
    assert_eq!((status, body), (200, json!("")));
    let (_, item) = call(&app, "GET", &format!("/item/{id}"), Some(&token), None).await;
    assert_eq!(
        (&item["name"], &item["owner"], &item["price"]),
        (&json!("Test Item"), &json!("testowner"), &json!(19.99))
    );
    let (status, body) = call(&app, "DELETE", &format!("/item/{id}"), Some(&token), None).await;
    assert_eq!((status, body), (200, json!("")));
    delete_account(&app, "testowner@example.com").await;

    // Suite 2: two items; the owner's items are among all items.
    let token = sign_in(&app, "megy@gmail.com").await;
    let apple = add(
        &app,
        &token,
        json!({ "name": "apple", "owner": "megy", "price": 0.99 }),
    )
    .await;
    let pineapple = add(
        &app,
        &token,
        json!({ "name": "pineapple", "owner": "megy", "price": 1.99 }),
    )
    .await;
    let (status, items) = call(&app, "GET", "/items", Some(&token), None).await;
    assert_eq!(status, 200);
    let (status, mine) = call(&app, "GET", "/items/megy", Some(&token), None).await;
    assert_eq!(status, 200);
    let (items, mine) = (items.as_array().unwrap(), mine.as_array().unwrap());
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|item| items.contains(item)));
    assert!(
        mine.iter().any(|i| i["id"] == apple.as_str())
            && mine.iter().any(|i| i["id"] == pineapple.as_str())
    );
    let (_, nobody) = call(&app, "GET", "/items/nobody", None, None).await;
    assert_eq!(nobody, json!([]));
    for id in [apple, pineapple] {
        assert_eq!(
            call(&app, "DELETE", &format!("/item/{id}"), Some(&token), None)
                .await
                .0,
            200
        );
    }
    delete_account(&app, "megy@gmail.com").await;

    // Suite 3: an empty email and password are refused.
    let refused = app
        .post_json("/auth/register", json!({ "email": "", "password": "" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn a_buy_sells_the_piece_once_on_account_and_others_items_are_not_yours_to_change() {
    let app = TestApp::spawn_profile("little-ecom").await;
    let seller = sign_in(&app, "seller@shop.test").await;
    let buyer = sign_in(&app, "buyer@shop.test").await;
    let id = add(&app, &seller, json!({ "name": "Racket", "price": 25.5 })).await;
    let buy_path = format!("/buy/{id}");
    let buy = |token: String| {
        let (app, path) = (&app, &buy_path);
        async move { call(app, "POST", path, Some(&token), None).await }
    };

    assert_eq!(
        buy(seller.clone()).await,
        (400, json!("You can't buy your own item\n"))
    );
    assert_eq!(buy(buyer.clone()).await, (200, json!("")));
    // The piece is sold: gone from the listings, and a second buy finds nothing.
    assert_eq!(buy(buyer.clone()).await, (404, json!("Item not found\n")));
    let (_, items) = call(&app, "GET", "/items", None, None).await;
    assert!(
        !items
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str()),
        "{items}"
    );
    // Paid on account: the buyer owes the price, in dollars' cents.
    let (_, account) = call(&app, "GET", "/ledger/accounts/me", Some(&buyer), None).await;
    assert_eq!(
        (&account["balance"], &account["currency"]),
        (&json!(-2550), &json!("USD"))
    );

    // Another member's item: 401, in the seed's words.
    let other = add(&app, &seller, json!({ "name": "Balls", "price": 3 })).await;
    let edit = json!({ "id": other, "owner": "buyer", "name": "Mine now", "price": 1 });
    let path = format!("/item/{other}");
    assert_eq!(
        call(&app, "PUT", &path, Some(&buyer), Some(edit)).await,
        (401, json!("Unauthorized\n"))
    );
    assert_eq!(
        call(&app, "DELETE", &path, Some(&buyer), None).await,
        (401, json!("You should be the item's owner.\n"))
    );

    // Token failures are 400; a missing item 404; a bad price or name 400.
    assert_eq!(
        call(
            &app,
            "POST",
            "/item",
            None,
            Some(json!({ "name": "x", "price": 1 }))
        )
        .await,
        (400, json!("no token found\n"))
    );
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("/buy/{other}"),
            Some("forged.token.value"),
            None
        )
        .await
        .0,
        400
    );
    let unknown = format!("/item/{}", uuid::Uuid::now_v7());
    assert_eq!(
        call(&app, "GET", &unknown, None, None).await,
        (404, json!("Item not found\n"))
    );
    assert_eq!(
        call(&app, "GET", "/item/5f1d7a3b9c8e4a2b1c0d9e8f", None, None)
            .await
            .0,
        404
    );
    let (status, _) = call(
        &app,
        "POST",
        "/item",
        Some(&seller),
        Some(json!({ "name": "Free", "price": 0 })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = call(
        &app,
        "POST",
        "/item",
        Some(&seller),
        Some(json!({ "name": "", "price": 2 })),
    )
    .await;
    assert_eq!(status, 400);
}

/// The notifier's messages, on a real RabbitMQ (the PostgreSQL pass of scripts/test starts one): an item added
/// and an item bought, `{email, item, price}` under little-ecom's routing keys, read as its notifier reads them.
#[tokio::test]
async fn the_notifier_reads_an_item_added_and_an_item_bought_on_its_exchange() {
    use lapin::{
        Connection, ConnectionProperties, ExchangeKind,
        options::{BasicGetOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
        types::FieldTable,
    };
    let Some(amqp) = agon_testkit::test_amqp_url() else {
        eprintln!("runs in the PostgreSQL pass of scripts/test, which starts RabbitMQ");
        return;
    };
    // The notifier's side: its exchange and a queue of its own bound to both keys.
    let connection = Connection::connect(&amqp, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let exchange = "ecom-exchange";
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .unwrap();
    let queue = format!("ecom-test-{}", uuid::Uuid::new_v4().simple());
    let exclusive = QueueDeclareOptions {
        exclusive: true,
        ..Default::default()
    };
    channel
        .queue_declare(queue.as_str().into(), exclusive, FieldTable::default())
        .await
        .unwrap();
    for key in ["ecom.item.add", "ecom.item.buy"] {
        let bind = QueueBindOptions::default();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                key.into(),
                bind,
                FieldTable::default(),
            )
            .await
            .unwrap();
    }

    let app = TestApp::spawn_with(|c| {
        agon_testkit::use_profile(c, "little-ecom");
        c.notifications.relay.url = Some(amqp.clone());
    })
    .await;
    let seller = sign_in(&app, "seller@shop.test").await;
    let buyer = sign_in(&app, "buyer@shop.test").await;
    let id = add(&app, &seller, json!({ "name": "Racket", "price": 25.5 })).await;
    assert_eq!(
        call(&app, "POST", &format!("/buy/{id}"), Some(&buyer), None)
            .await
            .0,
        200
    );

    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while seen.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "only {seen:?}");
        match channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(message) => {
                let body: Value = serde_json::from_slice(&message.delivery.data).unwrap();
                seen.push((message.delivery.routing_key.to_string(), body));
            }
            None => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            (
                "ecom.item.add".to_owned(),
                json!({ "email": "seller@shop.test", "item": "Racket", "price": 25.5 })
            ),
            (
                "ecom.item.buy".to_owned(),
                json!({ "email": "buyer@shop.test", "item": "Racket", "price": 25.5 })
            ),
        ]
    );
}
