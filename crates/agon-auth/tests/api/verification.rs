//! Photo identity verification, request side: the request waits (pending) while the face service has no reference
//! face to compare with; the decisions themselves are tested with the face service.

use agon_testkit::{TestApp, assert_problem};
use serde_json::Value;

fn jpeg(size: usize) -> Vec<u8> {
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.resize(size, 0x42);
    photo
}

#[tokio::test]
async fn a_photo_request_is_stored_pending_and_visible_to_its_owner_and_admins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;
    let status: Value = app
        .as_user(&ana)
        .get("/auth/verification")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "unverified");

    let upload = |bytes: Vec<u8>, content_type: &'static str| {
        app.client
            .post(app.url("/auth/verification"))
            .bearer_auth(&ana.access_token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
    };
    assert_problem(
        upload(jpeg(1000), "text/plain").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        upload(jpeg(1000), "image/png").await.unwrap(),
        422,
        "invalid_body",
    )
    .await;
    assert_problem(
        upload(jpeg(6 << 20), "image/jpeg").await.unwrap(),
        413,
        "payload_too_large",
    )
    .await;

    // A real face, padded past its end to 2 MiB: over the JSON limit of the API, within the photo limit. With no
    // reference face to compare with, the face service leaves it waiting.
    let mut photo = include_bytes!("../../../agon-faces/tests/photos/obama.jpg").to_vec();
    photo.resize(2 << 20, 0);
    let accepted = upload(photo.clone(), "image/jpeg").await.unwrap();
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["status"], "pending");
    let id = accepted["request_id"].as_str().unwrap().to_owned();
    assert_problem(
        upload(jpeg(1000), "image/jpeg").await.unwrap(),
        409,
        "verification_pending",
    )
    .await;

    let mine: Value = app
        .as_user(&ana)
        .get("/auth/verification")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (mine["status"].as_str(), mine["request_id"].as_str()),
        (Some("pending"), Some(id.as_str()))
    );
    let seen_by_admin: Value = app
        .as_user(&admin)
        .get(&format!("/auth/admin/users/{}/verification", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen_by_admin["status"], "pending");
    assert_problem(
        app.as_user(&bo)
            .get(&format!("/auth/admin/users/{}/verification", ana.id))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;

    // The photo: its owner and admins get it back intact; another member gets the 404 of a missing request.
    for reader in [&ana, &admin] {
        let r = app
            .as_user(reader)
            .get(&format!("/auth/verification/{id}/photo"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(r.bytes().await.unwrap().as_ref(), photo.as_slice());
    }
    let other = app
        .as_user(&bo)
        .get(&format!("/auth/verification/{id}/photo"))
        .send()
        .await
        .unwrap();
    let missing = app
        .as_user(&bo)
        .get(&format!(
            "/auth/verification/{}/photo",
            uuid::Uuid::now_v7()
        ))
        .send()
        .await
        .unwrap();
    let (a, b) = (
        assert_problem(other, 404, "verification_not_found").await,
        assert_problem(missing, 404, "verification_not_found").await,
    );
    assert_eq!(a["title"], b["title"]);

    // The request is announced in the same transaction, and nothing decides it without a reference.
    app.until(|| async { app.count("auth", "outbox").await == 0 })
        .await;
    let later: Value = app
        .as_user(&ana)
        .get("/auth/verification")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["status"], "pending");
}
