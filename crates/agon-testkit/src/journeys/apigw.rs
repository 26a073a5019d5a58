//! APIGateway (seed 001) end to end, as its Python clients call it: an account, money in and out and the period
//! report, a photo's face vector, and the photo verification decided by the face service.

use serde_json::{Value, json};

use super::SeedClient;

const OBAMA: &[u8] = include_bytes!("../../../agon-faces/tests/photos/obama.jpg");
const OBAMA2: &[u8] = include_bytes!("../../../agon-faces/tests/photos/obama2.jpg");

pub async fn apigw(base: &str) {
    let c = SeedClient::new(base);
    let body = json!({ "name": "ana", "password": "a long secret" });
    let (status, answer) = c
        .call("POST", "/api/auth-service/register/", None, Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
    let token = answer["token"].as_str().unwrap().to_owned();
    let id = crate::claims(&token)["sub"].as_str().unwrap().to_owned();
    let check = format!("/api/auth-service/check_token/?user_id={id}");
    assert_eq!(
        c.call("GET", &check, Some(&token), None).await,
        (200, Value::Null)
    );

    // Money in and out, each recorded at once in the ledger; the report reads it live.
    let create = "/api/transaction-service/create/";
    for (amount, kind) in [(700, "Пополнение"), (250, "Снятие")] {
        let body = json!({ "user_id": id, "amount": amount, "transaction_type": kind });
        assert_eq!(
            c.call("POST", create, Some(&token), Some(body)).await,
            (201, Value::Null)
        );
    }
    let window = json!({ "user_id": id, "date_start": "2000-01-01T00:00:00", "date_end": "2100-01-01T00:00:00" });
    let (status, rows) = c
        .call(
            "POST",
            "/api/transaction-service/report/",
            Some(&token),
            Some(window),
        )
        .await;
    assert_eq!(status, 201);
    let amounts: Vec<(Value, Value)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["amount"].clone(), r["transaction_type_id"].clone()))
        .collect();
    assert_eq!(amounts, [(json!(700), json!(1)), (json!(250), json!(2))]);

    // A photo's vector, then verification: the first photo enrols, a second of the same person verifies.
    let (status, vector) = c
        .upload(
            "/api/face-verification-service/get_vector/",
            &token,
            "file",
            OBAMA,
        )
        .await;
    assert_eq!((status, vector.as_array().map(Vec::len)), (200, Some(128)));
    let verify = format!("/api/auth-service/verify/?user_id={id}");
    let mut previous = Value::Null;
    for photo in [OBAMA, OBAMA2] {
        let (status, answer) = c.upload(&verify, &token, "user_photo", photo).await;
        assert_eq!(
            (status, answer),
            (201, json!({ "message": "File saved successfully" }))
        );
        let decided = c
            .until(
                "the verification decided",
                ("GET", "/auth/verification", Some(&token), None),
                |_, v| v["status"] == "verified" && v["request_id"] != previous,
            )
            .await;
        previous = decided["request_id"].clone();
    }
}
