//! A small pooled HTTP/1.1 client for calls between Agon processes (JWKS, health probes). Plain HTTP inside
//! the cluster; TLS is terminated in front of the gateway.

use std::{sync::OnceLock, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// The process-wide client: one connection pool for all internal calls.
pub fn shared() -> &'static Client<HttpConnector, Empty<Bytes>> {
    static CLIENT: OnceLock<Client<HttpConnector, Empty<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector)
    })
}

/// GETs `url` and returns the status, within `timeout`.
pub async fn get_status(url: &str, timeout: Duration) -> anyhow::Result<http::StatusCode> {
    let uri: http::Uri = url.parse()?;
    let response = tokio::time::timeout(timeout, shared().get(uri)).await??;
    Ok(response.status())
}

/// GETs `url` and decodes its JSON body (at most 1 MiB).
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> anyhow::Result<T> {
    let uri: http::Uri = url.parse()?;
    let response = tokio::time::timeout(Duration::from_secs(5), shared().get(uri)).await??;
    if !response.status().is_success() {
        anyhow::bail!("GET {url} answered {}", response.status());
    }
    let body = http_body_util::Limited::new(response.into_body(), 1 << 20)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading {url}: {e}"))?
        .to_bytes();
    Ok(serde_json::from_slice(&body)?)
}
