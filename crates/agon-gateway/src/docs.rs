//! The platform's merged OpenAPI document at `/openapi.json`, browsable at `/docs`. In-process services hand over
//! their documents at build; HTTP upstreams are asked for theirs, and asked again periodically, so a service
//! that starts after the gateway (or is redeployed with new operations) appears without a gateway restart.

use std::{sync::Arc, time::Duration};

use arc_swap::ArcSwap;
use axum::{Router, http::header, response::IntoResponse, routing::get};
use bytes::Bytes;
use utoipa::openapi::OpenApi;

pub struct Docs {
    local: Vec<OpenApi>,
    /// A profile's paths, laid over the platform's (`Profile::openapi_paths`).
    overlay: Option<serde_json::Value>,
    /// (upstream name, URL of its `/openapi.json`)
    remote: Vec<(String, String)>,
    current: ArcSwap<Bytes>,
}

impl Docs {
    pub fn new(
        local: Vec<OpenApi>,
        remote: Vec<(String, String)>,
        overlay: Option<serde_json::Value>,
    ) -> Self {
        let docs = Self {
            current: ArcSwap::from_pointee(Bytes::new()),
            local,
            overlay,
            remote,
        };
        docs.publish(Vec::new());
        docs
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let docs = self.clone();
        Router::new()
            .route(
                "/openapi.json",
                get(move || {
                    let body = docs.current.load_full();
                    async move {
                        (
                            [(header::CONTENT_TYPE, "application/json")],
                            Bytes::clone(&body),
                        )
                            .into_response()
                    }
                }),
            )
            .merge(agon_kit::service::docs_ui())
    }

    /// Fetches the upstreams' documents: every 2 s until all answered, then every 30 s.
    pub async fn refresh_forever(self: Arc<Self>) -> anyhow::Result<()> {
        if self.remote.is_empty() {
            return Ok(());
        }
        loop {
            let fetched = futures_util::future::join_all(self.remote.iter().map(|(name, url)| async move {
                match agon_kit::client::get_json::<OpenApi>(url).await {
                    Ok(doc) => Some(doc),
                    Err(error) => {
                        tracing::debug!(upstream = %name, error = format!("{error:#}"), "openapi not fetched");
                        None
                    }
                }
            }))
            .await;
            let complete = fetched.iter().all(Option::is_some);
            self.publish(fetched.into_iter().flatten().collect());
            tokio::time::sleep(Duration::from_secs(if complete { 30 } else { 2 })).await;
        }
    }

    fn publish(&self, remote: Vec<OpenApi>) {
        let merged = crate::merge_docs(self.local.iter().cloned().chain(remote).collect());
        let mut merged = match serde_json::to_value(&merged) {
            Ok(value) => value,
            Err(error) => {
                tracing::error!(%error, "cannot serialise the merged OpenAPI document");
                return;
            }
        };
        // A profile's operation replaces the platform's at the same path and method: it is what is served.
        if let (Some(serde_json::Value::Object(paths)), Some(all)) =
            (&self.overlay, merged.get_mut("paths"))
        {
            for (path, item) in paths {
                let entry = &mut all[path.as_str()];
                if !entry.is_object() {
                    *entry = serde_json::Value::Object(Default::default());
                }
                for (method, operation) in item.as_object().into_iter().flatten() {
                    entry[method.as_str()] = operation.clone();
                }
            }
        }
        match serde_json::to_vec(&merged) {
            Ok(json) => self.current.store(Arc::new(Bytes::from(json))),
            Err(error) => tracing::error!(%error, "cannot serialise the merged OpenAPI document"),
        }
    }
}
