//! APIGateway (seed 001): its gateway's readiness and auth-service routes, as its Python clients call them.

use agon_testkit::{TestApp, json};
use serde_json::Value;

use super::call;

/// A `multipart/form-data` body as `requests`/`httpx` send a file: one part, with a file name and a type.
fn form(field: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----agon-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"me.jpg\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `check_token` for `id`, with or without a bearer.
async fn check(app: &TestApp, id: &str, token: Option<&str>) -> (u16, Value) {
    let path = format!("/api/auth-service/check_token/?user_id={id}");
    call(app, "GET", &path, token, None).await
}

fn jpeg(size: usize) -> Vec<u8> {
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
    photo.resize(size, 0x42);
    photo
}

#[tokio::test]
async fn register_auth_check_token_and_verify_as_the_python_client_does() {
    let app = TestApp::spawn_profile("apigw").await;
    let (status, ready) = call(&app, "GET", "/api/api-gateway/healthz/ready/", None, None).await;
    assert_eq!((status, ready), (200, Value::Null));
    for (path, message) in [
        ("/", "Hello World"),
        ("/live", "Service is live"),
        ("/ready", "Service is ready"),
    ] {
        let (status, body) = call(&app, "GET", path, None, None).await;
        assert_eq!(
            (status, body),
            (200, json!({ "message": message })),
            "{path}"
        );
    }

    // Register answers 201 and a token; the name again is 409; a missing name is FastAPI's 422.
    let credentials = json!({ "name": "begemot", "password": "a long secret" });
    let register = |body: Value| {
        call(
            &app,
            "POST",
            "/api/auth-service/register/",
            None,
            Some(body),
        )
    };
    let (status, registered) = register(credentials.clone()).await;
    assert_eq!(status, 201, "{registered}");
    let token = registered["token"].as_str().unwrap().to_owned();
    assert_eq!(registered.as_object().unwrap().len(), 1, "{registered}");
    let (status, body) = register(credentials.clone()).await;
    assert_eq!(
        (status, body),
        (409, json!({ "detail": "Username already exists" }))
    );
    let (status, body) = register(json!({ "password": "a long secret" })).await;
    assert_eq!((status, body), (422, json!({ "detail": "Field required" })));
    // The path without its slash answers 308 to it, and a client that follows redirects (this one, like
    // `httpx` with `follow_redirects`) re-sends the body there: the name is taken by now.
    let response = app
        .client
        .post(app.url("/api/auth-service/register"))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert!(response.url().path().ends_with("/register/"));

    // Auth logs in again: 201 and a (new) token; a wrong password or name is 403, alike.
    let auth = |body: Value| call(&app, "POST", "/api/auth-service/auth/", None, Some(body));
    let (status, body) = auth(credentials.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token"].as_str().unwrap().split('.').count(), 3);
    for wrong in [
        json!({ "name": "begemot", "password": "not the secret" }),
        json!({ "name": "nobody", "password": "a long secret" }),
    ] {
        let (status, body) = auth(wrong).await;
        assert_eq!(
            (status, body),
            (403, json!({ "detail": "Invalid username or password" }))
        );
    }

    // check_token: 200 `null` for the token's own user; another id or no token is 404; a forged one 401.
    let user_id = agon_testkit::claims(&token)["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        check(&app, &user_id, Some(&token)).await,
        (200, Value::Null)
    );
    let other = uuid::Uuid::now_v7().to_string();
    let not_found = (404, json!({ "detail": "Token not found" }));
    assert_eq!(check(&app, &other, Some(&token)).await, not_found);
    assert_eq!(check(&app, &user_id, None).await, not_found);
    assert_eq!(
        check(&app, &user_id, Some("forged.token.value")).await,
        (401, json!({ "detail": "invalid token" }))
    );
    let (status, _) = call(
        &app,
        "GET",
        "/api/auth-service/check_token/",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 422);

    // verify: the multipart `user_photo` becomes the member's pending verification request.
    let verify = |id: &str, content_type: &str, bytes: &[u8]| {
        let (form_type, body) = form("user_photo", content_type, bytes);
        app.client
            .post(app.url(&format!("/api/auth-service/verify/?user_id={id}")))
            .bearer_auth(&token)
            .header("content-type", form_type)
            .body(body)
            .send()
    };
    let response = verify(&other, "image/jpeg", &jpeg(1000)).await.unwrap();
    assert_eq!(response.status(), 404);
    let response = verify(&user_id, "text/plain", b"not a photo")
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // A real face, padded to 3 MiB past the image's end: the member's first photo becomes their reference face
    // under this profile, and verifies them (the face service decides).
    let mut photo = include_bytes!("../../../../agon-faces/tests/photos/obama.jpg").to_vec();
    photo.resize(3 << 20, 0);
    let response = verify(&user_id, "image/jpeg", &photo).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "message": "File saved successfully" }));
    super::until_verification(&app, &token, "verified").await;
    // Larger than the platform takes (5 MiB): refused before any call.
    let response = verify(&user_id, "image/jpeg", &jpeg(6 << 20))
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // A multipart body without the file is FastAPI's 422.
    let (form_type, body) = form("other", "image/jpeg", &jpeg(10));
    let response = app
        .client
        .post(app.url(&format!("/api/auth-service/verify/?user_id={user_id}")))
        .bearer_auth(&token)
        .header("content-type", form_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}
