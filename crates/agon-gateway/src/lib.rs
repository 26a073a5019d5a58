//! The gateway: Agon's single entry point, on hyper.
//!
//! Owns the route table, the service registry (in its own database), edge authentication, CORS, request ids and
//! trace context at the edge, the merged OpenAPI document and the platform's `/healthz`, `/readyz`, `/metrics`.
//! It knows services only as named upstreams with path prefixes handed to it by the binary: a router in this
//! process (`agon up`) or an HTTP URL (`agon serve gateway`). It never reads another service's data.
//!
//! Entry points: [`build`] (`build.rs`), [`Gateway::serve`], [`Gateway::handle`] (`handle.rs`), [`Config`]
//! (`config.rs`), [`Mount`].

mod build;
mod config;
mod conn;
mod docs;
mod files;
mod handle;
mod health;
pub mod limit;
pub mod profile;
mod registry;
mod route;
mod server;
mod upstream;

use std::{net::SocketAddr, sync::Arc};

use agon_kit::TokenVerifier;
use axum::Router;
use serde::Serialize;

pub use build::{Mount, Tables, build, merge_docs};
pub use config::{Config, CorsConfig, RouteConfig};
pub use conn::ConnectionConfig;
pub use handle::Peer;
pub use profile::Profile;
pub use route::{AuthPolicy, Matcher};
pub use upstream::Upstream;

use crate::upstream::HttpClient;

/// The service's name: its database and its log and metric label.
pub const SERVICE: &str = "gateway";

/// The built gateway: serve it with [`Gateway::serve`].
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
    /// The upstream connection pool. Each serving thread has its own, so a request's two connections live on
    /// the thread that serves it.
    client: HttpClient,
}

struct Inner {
    tables: Arc<Tables>,
    local: Router,
    /// The runtime that built the gateway: it owns the database pool the gateway's own API uses.
    home: tokio::runtime::Handle,
    verifier: TokenVerifier,
    cors: CorsConfig,
    limiter: limit::Limiter,
    trusted_proxies: agon_kit::TrustedProxies,
    limits: Arc<conn::Limits>,
    /// The gateway's own paths a profile route answers instead.
    overridden: std::collections::HashSet<String>,
}

/// Serving threads started by [`Gateway::serve_per_thread`].
pub struct Serving {
    pub addr: SocketAddr,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Serving {
    /// Waits until every thread has drained its connections and stopped.
    pub async fn wait(self) {
        let _ = tokio::task::spawn_blocking(move || {
            for thread in self.threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

/// A human-readable row of the route table (`agon routes`).
#[derive(Debug, Clone, Serialize)]
pub struct RouteRow {
    pub matcher: String,
    pub rewrite: Option<String>,
    pub methods: String,
    pub auth: AuthPolicy,
    pub upstream: String,
    pub source: String,
    pub timeout_ms: u128,
}

/// Paths the gateway answers itself.
pub fn is_gateway_path(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs"
    ) || path.starts_with("/docs/")
        || path == "/gateway"
        || path.starts_with("/gateway/")
}

impl Gateway {
    /// The resolved route table.
    pub fn routes(&self) -> Vec<RouteRow> {
        self.inner.tables.rows()
    }

    /// Serves on `threads` threads, each with its own runtime, listener (`SO_REUSEPORT` on `addr`) and upstream
    /// pool, until `shutdown` resolves; then every thread drains its connections. Blocks the calling thread.
    pub fn serve_per_thread(
        &self,
        addr: SocketAddr,
        threads: usize,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<Serving> {
        server::serve_per_thread(self.clone(), addr, threads, shutdown)
    }

    /// A copy with its own upstream connection pool, for another serving thread.
    fn for_thread(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            client: upstream::http_client(),
        }
    }

    /// Serves until `shutdown` resolves, then drains open connections.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        server::serve(self.clone(), listener, shutdown).await
    }
}
