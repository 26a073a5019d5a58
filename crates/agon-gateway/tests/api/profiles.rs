//! Seed profiles: each seed's identity journey through `agon up --profile <name>`, as its own client calls it.

mod gymit;
mod kinetix;
mod little_ecom;
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
