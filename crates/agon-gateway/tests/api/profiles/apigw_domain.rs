//! APIGateway (seed 001): its transaction and face-verification routes, as its Python clients call them — money
//! recorded and reported from the ledger (never a stale copy), a photo's face vector, the photo verification
//! decided.

use agon_testkit::{TestApp, json};
use serde_json::Value;

use super::call;

const OBAMA: &[u8] = include_bytes!("../../../../agon-faces/tests/photos/obama.jpg");
const BIDEN: &[u8] = include_bytes!("../../../../agon-faces/tests/photos/biden.jpg");

/// Registers `name` as the client does; its token and user id (the token's `sub`).
async fn register(app: &TestApp, name: &str) -> (String, String) {
    let body = json!({ "name": name, "password": "a long secret" });
    let (status, answer) = call(app, "POST", "/api/auth-service/register/", None, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    let token = answer["token"].as_str().unwrap().to_owned();
    let id = agon_testkit::claims(&token)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, id)
}

/// One file in a `multipart/form-data` body, as `httpx` sends it.
fn form(field: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----agon-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"photo.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, path: &str, token: &str, field: &str, bytes: &[u8]) -> (u16, Value) {
    let (content_type, body) = form(field, bytes);
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn transactions_are_recorded_and_reported_live_for_their_own_member() {
    let app = TestApp::spawn_profile("apigw").await;
    let (token, id) = register(&app, "ana").await;
    let (_, bo_id) = register(&app, "bo").await;
    let create = |body: Value| {
        call(
            &app,
            "POST",
            "/api/transaction-service/create/",
            Some(&token),
            Some(body),
        )
    };
    let report = |from: &str, to: &str| {
        let body = json!({ "user_id": id, "date_start": from, "date_end": to });
        call(
            &app,
            "POST",
            "/api/transaction-service/report/",
            Some(&token),
            Some(body),
        )
    };

    let deposit = json!({ "user_id": id, "amount": 500, "transaction_type": "Пополнение" });
    assert_eq!(create(deposit).await, (201, Value::Null));
    let withdrawal = json!({ "user_id": id, "amount": 200, "transaction_type": "Снятие" });
    assert_eq!(create(withdrawal).await, (201, Value::Null));
    // Never below zero; only the two types; only one's own account; the fields required.
    let too_much = json!({ "user_id": id, "amount": 1000, "transaction_type": "Снятие" });
    assert_eq!(
        create(too_much).await,
        (409, json!({ "detail": "Insufficient funds" }))
    );
    let unknown = json!({ "user_id": id, "amount": 1, "transaction_type": "Кредит" });
    assert_eq!(
        create(unknown).await,
        (
            422,
            json!({ "detail": "Input should be 'Пополнение' or 'Снятие'" })
        )
    );
    let foreign = json!({ "user_id": bo_id, "amount": 1, "transaction_type": "Пополнение" });
    assert_eq!(
        create(foreign).await,
        (404, json!({ "detail": "Token not found" }))
    );
    let missing = json!({ "amount": 1, "transaction_type": "Пополнение" });
    assert_eq!(
        create(missing).await,
        (422, json!({ "detail": "Field required" }))
    );
    let negative = json!({ "user_id": id, "amount": -5, "transaction_type": "Пополнение" });
    assert_eq!(create(negative).await.0, 422);

    // The report: the window's transactions (naive times are UTC, both ends included), 201, as the client reads it.
    let (status, rows) = report("2000-01-01T00:00:00", "2100-01-01T00:00:00").await;
    assert_eq!(status, 201);
    let rows = rows.as_array().unwrap().clone();
    let picked: Vec<(Value, Value, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["user_id"].clone(),
                r["amount"].clone(),
                r["transaction_type_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        picked,
        [
            (json!(id), json!(500), json!(1)),
            (json!(id), json!(200), json!(2))
        ]
    );
    let first = rows[0]["date"].as_str().unwrap().to_owned();
    let (_, exact) = report(&first, &first).await;
    assert_eq!(
        exact.as_array().unwrap().len(),
        1,
        "an inclusive window: {exact}"
    );
    assert_eq!(
        report("2000-01-01T00:00:00", "2000-01-02T00:00:00").await,
        (201, json!([]))
    );
    // Asked again after another deposit, the same window is not a stale copy.
    let more = json!({ "user_id": id, "amount": 50, "transaction_type": "Пополнение" });
    assert_eq!(create(more).await.0, 201);
    let (_, again) = report("2000-01-01T00:00:00", "2100-01-01T00:00:00").await;
    assert_eq!(again.as_array().unwrap().len(), 3);
    assert_eq!(
        report("yesterday", "2100-01-01T00:00:00").await,
        (422, json!({ "detail": "Input should be a valid datetime" }))
    );
}

#[tokio::test]
async fn a_photo_gives_its_face_vector_and_the_first_photo_verifies_its_member() {
    let app = TestApp::spawn_profile("apigw").await;
    let (token, id) = register(&app, "ana").await;

    let (status, vector) = upload(
        &app,
        "/api/face-verification-service/get_vector/",
        &token,
        "file",
        OBAMA,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(vector.as_array().map(Vec::len), Some(128), "{vector}");
    let (status, refused) = upload(
        &app,
        "/api/face-verification-service/get_vector/",
        &token,
        "file",
        b"text",
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    // A path on the server is not read.
    let (status, _) = call(
        &app,
        "GET",
        "/api/face-verification-service/get_vector/?path=/etc/passwd",
        None,
        None,
    )
    .await;
    assert_eq!(status, 400);

    // verify: the first photo becomes the reference and verifies; a photo of someone else is then rejected.
    let verify = format!("/api/auth-service/verify/?user_id={id}");
    assert_eq!(
        upload(&app, &verify, &token, "user_photo", OBAMA).await.0,
        201
    );
    super::until_verification(&app, &token, "verified").await;
    assert_eq!(
        upload(&app, &verify, &token, "user_photo", BIDEN).await.0,
        201
    );
    let rejected = super::until_verification(&app, &token, "rejected").await;
    assert_eq!(rejected["reason"], "different_face");
}
