//! The gateway: Agon's single entry point, on hyper.
//!
//! Owns the route table, the service registry (in its own database), edge authentication, CORS, request ids and
//! trace context at the edge, the merged OpenAPI document and the platform's `/healthz`, `/readyz`, `/metrics`.
//! It knows services only as named upstreams with path prefixes handed to it by the binary: a router in this
//! process (`agon up`) or an HTTP URL (`agon serve gateway`). It never reads another service's data.
//!
//! Entry points: [`build`], [`Gateway::serve`], [`Config`], [`Mount`].

mod conn;
mod docs;
mod health;
pub mod limit;
mod registry;
mod route;
mod server;
mod upstream;

use std::{borrow::Cow, collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use agon_db::Db;
use agon_kit::{
    ReadyCheck, TokenVerifier,
    auth::{AuthError, bearer_token},
    error::{KitError, problem},
    observe::{TRACEPARENT, X_REQUEST_ID},
    telemetry::{REQUEST_ID, TraceContext, acceptable_request_id, new_request_id},
};
use arc_swap::ArcSwap;
use axum::{Router, body::Body};
use http::{HeaderValue, Method, Request, Response, StatusCode, header, uri::PathAndQuery};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use utoipa::openapi::OpenApi;

pub use conn::ConnectionConfig;
pub use route::{AuthPolicy, Matcher};
pub use upstream::Upstream;

use crate::{
    route::{Lookup, Route, RouteTable},
    upstream::{ForwardError, HttpClient, HttpUpstream},
};

/// The service's name: its database and its log and metric label.
pub const SERVICE: &str = "gateway";

/// Gateway settings (`[gateway]` in agon.toml, or gateway.toml).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Extra routes, after the profile's and before the registry's.
    pub routes: Vec<RouteConfig>,
    /// Upstream URLs by service name, for `agon serve gateway` (`users = "http://10.0.0.5:8080"`); replicas
    /// separated by commas (`"http://10.0.0.5:8080,http://10.0.0.6:8080"`) are taken in turn.
    pub upstreams: BTreeMap<String, String>,
    /// Default time an upstream has to start answering, in milliseconds.
    pub timeout_ms: u64,
    pub cors: CorsConfig,
    /// Seconds between health probes of HTTP upstreams and registry services.
    pub probe_interval_secs: u64,
    /// Seconds between checks for registry edits made through another gateway replica.
    pub registry_poll_secs: u64,
    /// `agon serve gateway`: serving threads, each with its own runtime and `SO_REUSEPORT` listener; 0 means
    /// one per core.
    pub threads: usize,
    /// Requests per client address and window, counted across replicas through Redis in `agon serve`.
    pub rate_limit: limit::RateLimitConfig,
    /// Timeouts, header sizes and the cap on open client connections.
    pub connections: ConnectionConfig,
}

/// One route from configuration or a profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Path prefix (`/api/users`); or give `path`.
    pub prefix: Option<String>,
    /// Path pattern (`/api/items/{id}/buy`, `/static/{*file}`); or give `prefix`.
    pub path: Option<String>,
    /// Upstream service name (`users`, a configured upstream or a registry service).
    pub upstream: String,
    /// New path: replaces the prefix, or a template over the pattern's `{names}`.
    pub rewrite: Option<String>,
    /// Allowed methods; all when absent.
    pub methods: Option<Vec<String>>,
    #[serde(default)]
    pub auth: AuthPolicy,
    pub timeout_ms: Option<u64>,
}

/// Cross-origin requests from browsers.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API (`https://club.example`), or `*` for any. Empty: no CORS headers.
    pub allowed_origins: Vec<String>,
    /// How long browsers may cache a preflight answer, in seconds.
    pub max_age_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            upstreams: BTreeMap::new(),
            timeout_ms: 30_000,
            cors: CorsConfig {
                allowed_origins: Vec::new(),
                max_age_secs: 600,
            },
            probe_interval_secs: 5,
            registry_poll_secs: 2,
            threads: 0,
            rate_limit: Default::default(),
            connections: Default::default(),
        }
    }
}

/// A service the binary mounts on the gateway: its name, the prefixes it owns and where it runs.
pub struct Mount {
    pub name: String,
    pub prefixes: Vec<String>,
    pub upstream: Upstream,
    /// Its API description, merged into `/openapi.json` (in-process services; HTTP ones are fetched).
    pub openapi: Option<OpenApi>,
    /// Its readiness checks, part of the platform's `/readyz` (HTTP upstreams get a probe of their `/readyz`).
    pub checks: Vec<ReadyCheck>,
}

/// The live route table and what it is rebuilt from.
pub struct Tables {
    current: ArcSwap<RouteTable>,
    /// Routes from configuration (the profile's first, then the config file's and the mounts'), resolved.
    fixed: Vec<Route>,
    db: Db,
    fingerprint: tokio::sync::Mutex<String>,
}

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

/// Builds the gateway over `mounts`, with `profile` routes (from `profiles/<name>.toml`) taking precedence.
pub async fn build(
    deps: &agon_kit::Deps,
    config: Config,
    profile: Option<(String, Vec<RouteConfig>)>,
    mounts: Vec<Mount>,
) -> anyhow::Result<(Gateway, Vec<agon_kit::Task>)> {
    let db = deps.database(SERVICE, &agon_db::migrations!()).await?;
    let default_timeout = Duration::from_millis(config.timeout_ms.max(1));
    let mut upstreams: BTreeMap<String, Upstream> = BTreeMap::new();
    let mut prefixes = Vec::new();
    let mut docs = Vec::new();
    let mut remote_docs = Vec::new();
    let mut checks = Vec::new();
    let mut mounted = health::Mounted::default();
    for mount in mounts {
        for prefix in &mount.prefixes {
            prefixes.push(RouteConfig {
                prefix: Some(prefix.clone()),
                path: None,
                upstream: mount.name.clone(),
                rewrite: None,
                methods: None,
                auth: AuthPolicy::Public,
                timeout_ms: None,
            });
        }
        if let Some(doc) = mount.openapi {
            docs.push(doc);
        }
        if let Upstream::Http(up) = &mount.upstream {
            // Replicas serve the same document; the upstream is ready while one of them is.
            if let Some(first) = up.urls().next() {
                remote_docs.push((mount.name.clone(), format!("{first}/openapi.json")));
            }
            checks.push(mounted.add(&mount.name, up.urls().map(str::to_owned).collect()));
        }
        checks.extend(mount.checks.into_iter().map(|mut c| {
            c.name = format!("{}.{}", mount.name, c.name);
            c
        }));
        upstreams.insert(mount.name, mount.upstream);
    }
    for (name, url) in &config.upstreams {
        let up = HttpUpstream::parse(url)
            .map_err(|e| anyhow::anyhow!("gateway.upstreams.{name}: {e}"))?;
        upstreams.insert(name.clone(), Upstream::Http(Arc::new(up)));
    }
    let mut routes = Vec::new();
    if let Some((name, profile_routes)) = &profile {
        for (i, rc) in profile_routes.iter().enumerate() {
            routes.push(resolve(
                rc,
                &format!("profile:{name}#{}", i + 1),
                &upstreams,
                default_timeout,
            )?);
        }
    }
    for (i, rc) in config.routes.iter().enumerate() {
        routes.push(resolve(
            rc,
            &format!("gateway.routes[{i}]"),
            &upstreams,
            default_timeout,
        )?);
    }
    for rc in &prefixes {
        routes.push(resolve(
            rc,
            &format!("mount:{}", rc.upstream),
            &upstreams,
            default_timeout,
        )?);
    }
    let tables = Arc::new(Tables {
        current: ArcSwap::from_pointee(RouteTable::default()),
        fixed: routes,
        db: db.clone(),
        fingerprint: tokio::sync::Mutex::new(String::new()),
    });
    tables.reload().await?;

    let registry = registry::Registry {
        db: db.clone(),
        tables: tables.clone(),
        health: Default::default(),
        mounted: Arc::new(mounted),
        verifier: deps.verifier.clone(),
    };
    let (admin, admin_doc) = registry::router(registry.clone()).split_for_parts();
    docs.push(admin_doc);
    let docs = Arc::new(docs::Docs::new(docs, remote_docs));
    checks.insert(0, ReadyCheck::database(&db));
    let local = admin
        .merge(agon_kit::service::process_routes(checks))
        .merge(docs.router())
        .fallback(agon_kit::error::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            agon_kit::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            SERVICE,
            agon_kit::observe::observe,
        ));

    let probe_every = Duration::from_secs(config.probe_interval_secs.max(1));
    let poll_every = Duration::from_secs(config.registry_poll_secs.max(1));
    let poller = tables.clone();
    let tasks: Vec<agon_kit::Task> = vec![
        Box::pin(docs.refresh_forever()),
        Box::pin(registry.probe_forever(probe_every)),
        Box::pin(async move { poller.poll_forever(poll_every).await }),
    ];
    let namespace = match &deps.databases {
        agon_db::Databases::Postgres { schema_prefix, .. } => schema_prefix.as_str(),
        _ => "",
    };
    let limiter = limit::Limiter::new(
        config.rate_limit.clone(),
        deps.redis_url.as_deref(),
        namespace,
    )
    .await?;
    let gateway = Gateway {
        inner: Arc::new(Inner {
            tables,
            local,
            home: tokio::runtime::Handle::current(),
            verifier: deps.verifier.clone(),
            cors: config.cors,
            limiter,
            trusted_proxies: deps.trusted_proxies.clone(),
            limits: Arc::new(conn::Limits::resolve(&config.connections)),
        }),
        client: upstream::http_client(),
    };
    Ok((gateway, tasks))
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

impl Tables {
    /// Rebuilds the table from the fixed routes and the registry and swaps it in atomically.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let mut fingerprint = self.fingerprint.lock().await;
        let entries = registry::all_entries(&self.db).await?;
        let mut routes = self.fixed.clone();
        for e in entries.into_iter().filter(|e| !e.blocked) {
            let upstream = match HttpUpstream::parse(&e.url) {
                Ok(up) => Upstream::Http(Arc::new(up)),
                Err(_) => Upstream::Unavailable,
            };
            routes.push(Route {
                name: format!("registry:{}", e.name),
                matcher: Matcher::parse(Some(&e.prefix), None)
                    .unwrap_or(Matcher::Prefix(e.prefix.clone())),
                rewrite: None,
                methods: None,
                auth: e.auth,
                timeout: Duration::from_millis(u64::try_from(e.timeout_ms).unwrap_or(30_000)),
                upstream_name: e.name,
                upstream,
            });
        }
        self.current.store(Arc::new(RouteTable::new(routes)));
        *fingerprint = registry::Registry::fingerprint_of(&self.db)
            .await
            .unwrap_or_default();
        Ok(())
    }

    async fn poll_forever(&self, every: Duration) -> anyhow::Result<()> {
        loop {
            tokio::time::sleep(every).await;
            let now = registry::Registry::fingerprint_of(&self.db)
                .await
                .unwrap_or_default();
            if *self.fingerprint.lock().await != now
                && let Err(error) = self.reload().await
            {
                tracing::warn!(error = format!("{error:#}"), "route table reload failed");
            }
        }
    }

    /// The current table as rows.
    pub fn rows(&self) -> Vec<RouteRow> {
        self.current
            .load()
            .routes()
            .iter()
            .map(|r| RouteRow {
                matcher: r.matcher.describe(),
                rewrite: r.rewrite.clone(),
                methods: r.methods.as_ref().map_or("*".into(), |m| {
                    m.iter().map(Method::as_str).collect::<Vec<_>>().join(",")
                }),
                auth: r.auth,
                upstream: r.upstream_name.clone(),
                source: r.name.clone(),
                timeout_ms: r.timeout.as_millis(),
            })
            .collect()
    }
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

    /// Handles one request from a client.
    pub async fn handle(&self, req: Request<Incoming>, peer: &Peer) -> Response<Body> {
        if is_gateway_path(req.uri().path()) {
            let call = self.inner.local.clone().oneshot(req.map(Body::new));
            // Served on the runtime that owns the gateway's database pool, whichever thread took the request.
            return match self.inner.home.spawn(call).await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => kit_response(KitError::Internal("the gateway's own API stopped".into())),
            };
        }
        let request_id = match req.headers().get(&X_REQUEST_ID) {
            Some(id) if acceptable_request_id(id) => id.clone(),
            _ => new_request_id(),
        };
        let origin = req.headers().get(header::ORIGIN).cloned();
        let mut response = match self.route(req, peer, &request_id).await {
            Ok(response) => response,
            // Only answers the gateway writes itself need the request id in scope (it goes into the body).
            Err(rejection) => {
                let id = request_id.to_str().unwrap_or_default().to_owned();
                REQUEST_ID.sync_scope(id, || rejection.into_response())
            }
        };
        response
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), request_id);
        if let Some(origin) = origin {
            self.cors_headers(&origin, response.headers_mut());
        }
        response
    }

    async fn route(
        &self,
        mut req: Request<Incoming>,
        peer: &Peer,
        request_id: &HeaderValue,
    ) -> Result<Response<Body>, Rejection> {
        if req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
            && let Some(preflight) = self.preflight(&req)
        {
            return Ok(preflight);
        }
        let table = self.inner.tables.current.load();
        let (route, path_and_query) = match table.lookup(req.method(), req.uri().path()) {
            Lookup::Found(route, Cow::Borrowed(_)) => {
                // Unchanged path: pass the request's own path and query on (a reference count, no copy).
                let pq = req
                    .uri()
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| PathAndQuery::from_static("/"));
                (route.clone(), pq)
            }
            Lookup::Found(route, Cow::Owned(path)) => {
                let joined = match req.uri().query() {
                    Some(q) if path.contains('?') => format!("{path}&{q}"),
                    Some(q) => format!("{path}?{q}"),
                    None => path,
                };
                let pq = joined
                    .parse()
                    .map_err(|_| Rejection::Kit(KitError::InvalidPath(joined.clone())))?;
                (route.clone(), pq)
            }
            Lookup::MethodNotAllowed => return Err(Rejection::Kit(KitError::MethodNotAllowed)),
            Lookup::NotFound => {
                return Err(Rejection::Kit(KitError::NotFound(
                    req.uri().path().to_owned(),
                )));
            }
        };
        drop(table);
        // Behind a trusted proxy, the client is further left in X-Forwarded-For than the connecting address.
        let client = self
            .inner
            .trusted_proxies
            .client(peer.addr.ip(), req.headers());
        let limited = if client == peer.addr.ip().to_canonical() {
            self.inner
                .limiter
                .check(peer.forwarded_for.to_str().unwrap_or("unknown"))
                .await
        } else {
            self.inner.limiter.check(&client.to_string()).await
        };
        if let Err(retry_after) = limited {
            return Err(Rejection::RateLimited(retry_after));
        }
        if route.auth != AuthPolicy::Public {
            self.authorize(&req, route.auth)
                .await
                .map_err(Rejection::Auth)?;
        }
        let trace =
            TraceContext::continue_from(req.headers().get(&TRACEPARENT).map(HeaderValue::as_bytes));
        let headers = req.headers_mut();
        headers.insert(X_REQUEST_ID.clone(), request_id.clone());
        headers.insert(TRACEPARENT.clone(), trace.header_value());
        upstream::append_forwarded_for(headers, &peer.forwarded_for);
        // An in-process service reads the client from here; extensions never cross a socket.
        req.extensions_mut()
            .insert(agon_kit::ClientAddr(Some(client)));
        route
            .upstream
            .forward(req, path_and_query, &self.client, route.timeout)
            .await
            .map_err(|e| Rejection::Upstream(route.upstream_name.clone(), e))
    }

    async fn authorize(
        &self,
        req: &Request<Incoming>,
        policy: AuthPolicy,
    ) -> Result<(), AuthError> {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::Missing)?;
        let token = bearer_token(header).ok_or(AuthError::Malformed)?;
        let claims = self.inner.verifier.verify(token).await?;
        match policy.required_role() {
            Some(role) if !claims.roles.contains(&role) => Err(AuthError::MissingRole(role)),
            _ => Ok(()),
        }
    }

    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let allowed = &self.inner.cors.allowed_origins;
        !allowed.is_empty()
            && origin
                .to_str()
                .is_ok_and(|o| allowed.iter().any(|a| a == "*" || a == o))
    }

    fn preflight(&self, req: &Request<Incoming>) -> Option<Response<Body>> {
        let origin = req.headers().get(header::ORIGIN)?;
        if !self.origin_allowed(origin) {
            return None;
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(self.inner.cors.max_age_secs),
        );
        Some(response)
    }

    fn cors_headers(&self, origin: &HeaderValue, headers: &mut http::HeaderMap) {
        if self.origin_allowed(origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id"),
            );
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
    }
}

fn kit_response(e: KitError) -> Response<Body> {
    axum::response::IntoResponse::into_response(e)
}

/// The client's address as it goes into `X-Forwarded-For`, formatted once per connection.
pub struct Peer {
    pub addr: SocketAddr,
    forwarded_for: HeaderValue,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Self {
        let forwarded_for = HeaderValue::from_str(&addr.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self {
            addr,
            forwarded_for,
        }
    }
}

/// An answer the gateway gives itself instead of the upstream's.
enum Rejection {
    RateLimited(u64),
    Kit(KitError),
    Auth(AuthError),
    Upstream(String, ForwardError),
}

impl Rejection {
    fn into_response(self) -> Response<Body> {
        use axum::response::IntoResponse;
        match self {
            Rejection::RateLimited(retry_after) => {
                metrics::counter!("agon_gateway_rate_limited_total").increment(1);
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests from this address; retry in {retry_after} s"),
                    vec![],
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
            Rejection::Kit(e) => e.into_response(),
            Rejection::Auth(e) => e.into_response(),
            Rejection::Upstream(name, ForwardError::Timeout) => {
                metrics::counter!("agon_gateway_upstream_errors_total", "kind" => "timeout")
                    .increment(1);
                problem(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    format!("{name} did not answer in time"),
                    vec![],
                )
            }
            Rejection::Upstream(name, ForwardError::Unreachable(why)) => {
                metrics::counter!("agon_gateway_upstream_errors_total", "kind" => "unreachable")
                    .increment(1);
                tracing::warn!(upstream = %name, error = %why, "upstream unreachable");
                problem(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    format!("{name} is unavailable"),
                    vec![],
                )
            }
        }
    }
}

fn resolve(
    rc: &RouteConfig,
    source: &str,
    upstreams: &BTreeMap<String, Upstream>,
    default_timeout: Duration,
) -> anyhow::Result<Route> {
    let matcher = Matcher::parse(rc.prefix.as_deref(), rc.path.as_deref())
        .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let upstream = upstreams.get(&rc.upstream).cloned().ok_or_else(|| {
        let known: Vec<&str> = upstreams.keys().map(String::as_str).collect();
        anyhow::anyhow!(
            "{source}: unknown upstream {:?} (known: {})",
            rc.upstream,
            known.join(", ")
        )
    })?;
    let methods = match &rc.methods {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|m| {
                    Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                        .map_err(|_| anyhow::anyhow!("{source}: bad method {m:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
    };
    Ok(Route {
        name: source.to_owned(),
        matcher,
        rewrite: rc.rewrite.clone(),
        methods,
        auth: rc.auth,
        timeout: rc.timeout_ms.map_or(default_timeout, Duration::from_millis),
        upstream_name: rc.upstream.clone(),
        upstream,
    })
}

/// One document for the whole platform: every service's paths and schemas, plus bearer security.
pub fn merge_docs(docs: Vec<OpenApi>) -> OpenApi {
    let mut merged = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Agon")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The Agon platform API: every service behind the gateway.",
                ))
                .build(),
        )
        .build();
    for doc in docs {
        merged.merge(doc);
    }
    agon_kit::service::add_bearer_scheme(&mut merged);
    merged
}
