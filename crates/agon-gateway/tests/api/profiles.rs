//! Seed profiles: each seed's identity journey through `agon up --profile <name>`, as its own client calls it.

mod apigw;
mod apigw_domain;
mod gymit;
mod journeys;
mod kinetix;
mod kinetix_targets;
mod kinetix_trainings;
mod little_ecom;
mod little_ecom_items;
mod weace;

use agon_testkit::{TestApp, reqwest::Response};
use serde_json::Value;

/// The status, content type and body text of a response.
async fn read(response: Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Sends `method path` with an optional bearer and JSON body; the status and the body (JSON, else text).
async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Waits (up to 30 s: the face models load on first use, unoptimised in tests) until the bearer's photo
/// verification is `status`; its view.
async fn until_verification(app: &TestApp, token: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, seen) = call(app, "GET", "/auth/verification", Some(token), None).await;
        if seen["status"] == status {
            return seen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {seen} rather than {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Under a profile, `/openapi.json` describes what is served: the seed's operations, derived from the profile's
/// routes, laid over the platform's own.
#[tokio::test]
async fn the_document_describes_the_seed_routes_over_the_platform_ones() {
    let app = TestApp::spawn_profile("kinetix").await;
    let (status, doc) = call(&app, "GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    let tokens = &doc["paths"]["/tokens"]["post"];
    assert_eq!(tokens["tags"], serde_json::json!(["kinetix"]), "{tokens}");
    let body = &tokens["requestBody"]["content"]["application/json"]["schema"]["properties"];
    assert!(
        body["email"].is_object() && body["password"].is_object(),
        "{tokens}"
    );
    assert!(tokens["responses"]["201"]["content"]["application/json"]["schema"]["properties"]["access_token"].is_object(), "{tokens}");
    let error =
        &tokens["responses"]["default"]["content"]["application/json"]["schema"]["properties"];
    assert!(
        error["statusCode"].is_object() && error["error"].is_object(),
        "{tokens}"
    );
    // The seed's GET /users/me replaced the platform's; the platform's PATCH /users/me is still served.
    assert_eq!(
        doc["paths"]["/users/me"]["get"]["tags"],
        serde_json::json!(["kinetix"])
    );
    assert_eq!(
        doc["paths"]["/users/me"]["patch"]["tags"],
        serde_json::json!(["users"])
    );
    assert_eq!(
        doc["paths"]["/users/{id}/status"]["patch"]["parameters"][0]["name"],
        "id"
    );
    let (status, _) = call(&app, "GET", "/docs/", None, None).await;
    assert_eq!(status, 200);
}
