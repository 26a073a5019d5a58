//! A real HTTP service on port 0 for the gateway to proxy to.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Query, Request},
    routing::{get, post},
};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Notify;

pub struct Upstream {
    pub url: String,
    /// Lets `/echo/stream` send its second chunk.
    pub release: Arc<Notify>,
    stop: Arc<Notify>,
}

impl Upstream {
    /// Stops listening and closes idle connections, as a replica that went away.
    pub fn stop(&self) {
        self.stop.notify_one();
    }
}

pub async fn spawn() -> Upstream {
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/echo/slow",
            get(
                |Query(q): Query<std::collections::HashMap<String, u64>>| async move {
                    tokio::time::sleep(Duration::from_millis(q.get("ms").copied().unwrap_or(100)))
                        .await;
                    axum::Json(json!({ "slow": true }))
                },
            ),
        )
        .route(
            "/echo/upload",
            post(|body: Body| async move {
                let mut stream = body.into_data_stream();
                let mut total = 0usize;
                while let Some(chunk) = stream.next().await {
                    total += chunk.map(|c| c.len()).unwrap_or(0);
                }
                total.to_string()
            }),
        )
        .route(
            "/echo/stream",
            get(move || {
                let gate = gate.clone();
                async move {
                    let chunks = futures_util::stream::unfold(0, move |step| {
                        let gate = gate.clone();
                        async move {
                            match step {
                                0 => Some((
                                    Ok::<_, std::io::Error>(Bytes::from_static(b"first;")),
                                    1,
                                )),
                                1 => {
                                    gate.notified().await;
                                    Some((Ok(Bytes::from_static(b"second")), 2))
                                }
                                _ => None,
                            }
                        }
                    });
                    Body::from_stream(chunks)
                }
            }),
        )
        .fallback(|req: Request| async move {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            axum::Json(json!({
                "path": req.uri().path(),
                "query": req.uri().query(),
                "method": req.method().as_str(),
                "x-request-id": header("x-request-id"),
                "traceparent": header("traceparent"),
                "x-forwarded-for": header("x-forwarded-for"),
            }))
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = Arc::new(Notify::new());
    let stopped = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped.notified().await })
            .await
            .unwrap()
    });
    Upstream { url, release, stop }
}
