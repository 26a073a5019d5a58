//! Seed profiles: each seed's identity journey through `agon up --profile <name>`, as its own client calls it.

mod gymit;
mod little_ecom;

use agon_testkit::reqwest::Response;

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
