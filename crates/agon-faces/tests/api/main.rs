//! The face service over HTTP through the gateway, with the auth service beside it: a photo's description,
//! reference faces set by staff, and verification requests decided — against a reference, by enrolment, after
//! waiting for a reference, and after being left undecided (made before the face service ran).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use agon_testkit::{TestApp, TestUser, assert_problem};
use serde_json::Value;

const OBAMA: &[u8] = include_bytes!("../photos/obama.jpg");
const OBAMA2: &[u8] = include_bytes!("../photos/obama2.jpg");
const OBAMA3: &[u8] = include_bytes!("../photos/obama3.jpg");
const BIDEN: &[u8] = include_bytes!("../photos/biden.jpg");

async fn send_photo(
    app: &TestApp,
    who: &TestUser,
    method: &str,
    path: &str,
    photo: &[u8],
) -> reqwest::Response {
    let url = app.url(path);
    let request = if method == "PUT" {
        app.client.put(url)
    } else {
        app.client.post(url)
    };
    request
        .bearer_auth(&who.access_token)
        .header("content-type", "image/jpeg")
        .body(photo.to_vec())
        .send()
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, who: &TestUser) -> Value {
    app.as_user(who)
        .get("/auth/verification")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits (up to 30 s: the model loads on first use, unoptimised in tests) until `who`'s status is `status`.
async fn until_status(app: &TestApp, who: &TestUser, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = status_of(app, who).await;
        if seen["status"] == status {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {seen} rather than {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_photo_gives_the_description_of_its_one_face_and_anything_else_a_clear_refusal() {
    let app = TestApp::spawn().await;
    let ana = app.register("ana@club.org").await;
    let ok = send_photo(&app, &ana, "POST", "/faces/vector", OBAMA).await;
    assert_eq!(ok.status(), 200);
    let ok: Value = ok.json().await.unwrap();
    let vector: Vec<f64> = ok["vector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(vector.len(), 128);
    let length = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((0.8..2.0).contains(&length), "{length}");
    assert!(ok["face"]["score"].as_f64().unwrap() > 0.5);
    assert!(ok["face"]["width"].as_f64().unwrap() > 40.0);

    let text = send_photo(&app, &ana, "POST", "/faces/vector", b"hello, not a photo").await;
    assert_problem(text, 422, "not_an_image").await;
    let large = send_photo(&app, &ana, "POST", "/faces/vector", &vec![0xFF; 6 << 20]).await;
    assert_problem(large, 413, "payload_too_large").await;
    let anonymous = app
        .client
        .post(app.url("/faces/vector"))
        .body(OBAMA.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_request_waits_for_a_reference_then_is_decided_by_the_distance_between_faces() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ana = app.register("ana@club.org").await;
    let bo = app.register("bo@club.org").await;

    // No reference yet: Ana's request waits.
    let asked = send_photo(&app, &ana, "POST", "/auth/verification", OBAMA).await;
    assert_eq!(asked.status(), 202);
    let request: Value = asked.json().await.unwrap();
    let request_id = request["request_id"].as_str().unwrap().to_owned();
    let path = format!("/faces/verifications/{request_id}");
    app.until(|| async { app.as_user(&ana).get(&path).send().await.unwrap().status() == 200 })
        .await;
    let waiting: Value = app
        .as_user(&ana)
        .get(&path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (waiting["status"].as_str(), waiting["reason"].as_str()),
        (Some("pending"), Some("awaiting_reference"))
    );
    assert_eq!(status_of(&app, &ana).await["status"], "pending");
    assert_problem(
        app.as_user(&bo).get(&path).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;

    // Only staff set references; a photo of two faces or none is refused as a reference too.
    let by_member = send_photo(
        &app,
        &bo,
        "PUT",
        &format!("/faces/references/{}", ana.id),
        OBAMA2,
    )
    .await;
    assert_eq!(by_member.status(), 403);
    let set = send_photo(
        &app,
        &admin,
        "PUT",
        &format!("/faces/references/{}", ana.id),
        OBAMA2,
    )
    .await;
    assert_eq!(set.status(), 200);
    let set: Value = set.json().await.unwrap();
    assert_eq!(
        (set["source"].as_str(), set["decided"].as_u64()),
        (Some("staff"), Some(1))
    );

    // The waiting request is decided against it: the same face.
    let verified = until_status(&app, &ana, "verified").await;
    assert_eq!(verified["request_id"], request_id.as_str());
    let decided: Value = app
        .as_user(&admin)
        .get(&path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(decided["distance"].as_f64().unwrap() < 0.6, "{decided}");
    // Once decided, the photo itself is no longer kept.
    let photo = app
        .as_user(&ana)
        .get(&format!("/auth/verification/{request_id}/photo"))
        .send()
        .await
        .unwrap();
    assert_problem(photo, 404, "verification_not_found").await;

    // Bo's reference is Obama; a photo of someone else is rejected, and says why.
    let set = send_photo(
        &app,
        &admin,
        "PUT",
        &format!("/faces/references/{}", bo.id),
        OBAMA3,
    )
    .await;
    assert_eq!(set.status(), 200);
    assert_eq!(
        send_photo(&app, &bo, "POST", "/auth/verification", BIDEN)
            .await
            .status(),
        202
    );
    let rejected = until_status(&app, &bo, "rejected").await;
    assert_eq!(rejected["reason"], "different_face");
    // and a new, matching photo verifies him.
    assert_eq!(
        send_photo(&app, &bo, "POST", "/auth/verification", OBAMA)
            .await
            .status(),
        202
    );
    until_status(&app, &bo, "verified").await;
    // A photo with no face is rejected for that.
    assert_eq!(
        send_photo(&app, &bo, "POST", "/auth/verification", &no_face())
            .await
            .status(),
        202
    );
    assert_eq!(
        until_status(&app, &bo, "rejected").await["reason"],
        "no_face"
    );
}

/// A real JPEG with no face in it.
fn no_face() -> Vec<u8> {
    let wall = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x / 2) as u8, (y / 2) as u8, 90])
    });
    let mut bytes = Vec::new();
    wall.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    bytes
}

#[tokio::test]
async fn where_the_club_enrols_by_first_photo_it_becomes_the_reference() {
    let app = TestApp::spawn_with(|config| config.faces.enrol_first_photo = true).await;
    let ana = app.register("ana@club.org").await;
    assert_eq!(
        send_photo(&app, &ana, "POST", "/auth/verification", OBAMA)
            .await
            .status(),
        202
    );
    until_status(&app, &ana, "verified").await;
    let reference: Value = app
        .as_user(&ana)
        .get(&format!("/faces/references/{}", ana.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reference["source"], "first_photo");
    assert_eq!(
        send_photo(&app, &ana, "POST", "/auth/verification", BIDEN)
            .await
            .status(),
        202
    );
    assert_eq!(
        until_status(&app, &ana, "rejected").await["reason"],
        "different_face"
    );

    // The event store keeps that photos were sent, never the photos.
    let metrics = app.database("metrics").await;
    let payloads = || async {
        let rows: Vec<(String,)> = agon_db::query_as(
            "select payload from events where topic = 'auth.verification_photo.v1'",
            (),
        )
        .fetch_all(metrics.pool())
        .await
        .unwrap();
        rows.into_iter().map(|r| r.0).collect::<Vec<_>>()
    };
    app.until(|| async { payloads().await.len() == 2 }).await;
    assert_eq!(payloads().await, ["{}", "{}"]);
}

#[tokio::test]
async fn a_request_whose_photo_never_reached_the_face_service_is_sent_again_and_decided() {
    let app = TestApp::spawn_with(|config| config.faces.enrol_first_photo = true).await;
    let ana = app.register("ana@club.org").await;
    // A request as one made before the face service existed: stored, pending, its photo never sent.
    let auth = app.database("auth").await;
    let id = uuid::Uuid::now_v7();
    let now = agon_db::now_text();
    agon_db::query(
        "insert into verification_requests (id, user_id, content_type, photo, status, created_at) \
         values ($1, $2, 'image/jpeg', $3, 'pending', $4)",
        (
            id.to_string(),
            ana.id.to_string(),
            OBAMA.to_vec(),
            now.clone(),
        ),
    )
    .execute(auth.pool())
    .await
    .unwrap();
    agon_db::query(
        "update accounts set verification_status = 'pending' where id = $1",
        (ana.id.to_string(),),
    )
    .execute(auth.pool())
    .await
    .unwrap();
    // The auth service looks for such requests every few seconds.
    let verified = until_status(&app, &ana, "verified").await;
    assert_eq!(verified["request_id"], id.to_string());
}
