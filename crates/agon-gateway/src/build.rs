//! Building the gateway: the route table from the profile, the configuration, the mounted services and the
//! registry (kept current as the registry changes), readiness, the merged API document and the background loops.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use agon_db::Db;
use agon_kit::ReadyCheck;
use arc_swap::ArcSwap;
use http::Method;
use utoipa::openapi::OpenApi;

use crate::{
    Config, Gateway, Inner, RouteConfig, RouteRow, SERVICE, conn, docs, health, limit,
    profile::{Profile, ProfileRoute},
    registry,
    route::{AuthPolicy, Lookup, Matcher, Route, RouteTable},
    upstream::{self, HttpUpstream, Upstream},
};

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
    pub(crate) current: ArcSwap<RouteTable>,
    /// Routes from configuration (the profile's first, then the config file's and the mounts'), resolved.
    fixed: Vec<Route>,
    db: Db,
    fingerprint: tokio::sync::Mutex<String>,
}

/// Builds the gateway over `mounts`, with `profile` routes (from `profiles/<name>.toml`) taking precedence.
pub async fn build(
    deps: &agon_kit::Deps,
    config: Config,
    profile: Option<Profile>,
    mounts: Vec<Mount>,
) -> anyhow::Result<(Gateway, Vec<agon_kit::Task>)> {
    let db = deps.database(SERVICE, &agon_db::migrations!()).await?;
    let Upstreams {
        upstreams,
        prefixes,
        mut docs,
        remote_docs,
        mut checks,
        mounted,
    } = upstreams(mounts, &config)?;
    let routes = fixed_routes(profile.as_ref(), &config, &prefixes, &upstreams)?;
    let overridden = routes
        .iter()
        .filter(|r| !r.canonical)
        .map(|r| r.matcher.describe())
        .filter(|path| crate::is_gateway_path(path))
        .collect();
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
    let overlay = profile.as_ref().map(|p| p.openapi_paths());
    let docs = Arc::new(docs::Docs::new(docs, remote_docs, overlay));
    checks.insert(0, ReadyCheck::database(&db));
    let local = local_router(admin, checks, &docs);
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
    let redis = deps.redis_url.as_deref();
    let limiter = limit::Limiter::new(config.rate_limit.clone(), redis, namespace).await?;
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
            overridden,
        }),
        client: upstream::http_client(),
    };
    Ok((gateway, tasks))
}

/// What the mounts and the configured upstreams give the gateway.
struct Upstreams {
    upstreams: BTreeMap<String, Upstream>,
    /// Each mount's prefixes, as routes.
    prefixes: Vec<RouteConfig>,
    /// In-process services' documents.
    docs: Vec<OpenApi>,
    /// HTTP upstreams' documents, fetched and refreshed: (name, URL).
    remote_docs: Vec<(String, String)>,
    checks: Vec<ReadyCheck>,
    mounted: health::Mounted,
}

fn upstreams(mounts: Vec<Mount>, config: &Config) -> anyhow::Result<Upstreams> {
    let mut found = Upstreams {
        upstreams: BTreeMap::new(),
        prefixes: Vec::new(),
        docs: Vec::new(),
        remote_docs: Vec::new(),
        checks: Vec::new(),
        mounted: health::Mounted::default(),
    };
    for mount in mounts {
        found
            .prefixes
            .extend(mount.prefixes.iter().map(|prefix| RouteConfig {
                prefix: Some(prefix.clone()),
                path: None,
                upstream: mount.name.clone(),
                rewrite: None,
                methods: None,
                auth: AuthPolicy::Public,
                timeout_ms: None,
            }));
        found.docs.extend(mount.openapi);
        if let Upstream::Http(up) = &mount.upstream {
            // Replicas serve the same document; the upstream is ready while one of them is.
            if let Some(first) = up.urls().next() {
                let url = format!("{first}/openapi.json");
                found.remote_docs.push((mount.name.clone(), url));
            }
            let urls = up.urls().map(str::to_owned).collect();
            found.checks.push(found.mounted.add(&mount.name, urls));
        }
        found.checks.extend(mount.checks.into_iter().map(|mut c| {
            c.name = format!("{}.{}", mount.name, c.name);
            c
        }));
        found.upstreams.insert(mount.name, mount.upstream);
    }
    for (name, url) in &config.upstreams {
        let up = HttpUpstream::parse(url)
            .map_err(|e| anyhow::anyhow!("gateway.upstreams.{name}: {e}"))?;
        found
            .upstreams
            .insert(name.clone(), Upstream::Http(Arc::new(up)));
    }
    Ok(found)
}

/// The routes from configuration, in precedence order: the profile's, the config file's, the mounts'.
fn fixed_routes(
    profile: Option<&Profile>,
    config: &Config,
    prefixes: &[RouteConfig],
    upstreams: &BTreeMap<String, Upstream>,
) -> anyhow::Result<Vec<Route>> {
    let timeout = Duration::from_millis(config.timeout_ms.max(1));
    let config_routes =
        (config.routes.iter().enumerate()).map(|(i, rc)| (format!("gateway.routes[{i}]"), rc));
    let mount_routes = prefixes
        .iter()
        .map(|rc| (format!("mount:{}", rc.upstream), rc));
    let mut routes = Vec::new();
    let files = Upstream::InProcess(crate::files::router(config.static_dir.clone()));
    if let Some(profile) = profile {
        for (i, route) in profile.routes.iter().enumerate() {
            let source = format!("profile:{}#{}", profile.name, i + 1);
            routes.push(match route {
                ProfileRoute::Forward(rc) => Route {
                    canonical: false,
                    ..resolve(rc, &source, upstreams, timeout)?
                },
                ProfileRoute::Files { matcher, methods } => Route {
                    name: source,
                    matcher: matcher.clone(),
                    rewrite: None,
                    methods: methods.clone(),
                    auth: AuthPolicy::Public,
                    timeout,
                    upstream_name: "files".into(),
                    upstream: files.clone(),
                    shaped: None,
                    canonical: false,
                },
                ProfileRoute::Shaped {
                    matcher,
                    methods,
                    shaped,
                } => Route {
                    name: source,
                    matcher: matcher.clone(),
                    rewrite: None,
                    methods: methods.clone(),
                    auth: AuthPolicy::Public,
                    timeout,
                    upstream_name: "profile".into(),
                    upstream: Upstream::Unavailable,
                    shaped: Some(shaped.clone()),
                    canonical: false,
                },
            });
        }
    }
    for (source, rc) in config_routes.chain(mount_routes) {
        routes.push(resolve(rc, &source, upstreams, timeout)?);
    }
    check_calls(&routes)?;
    Ok(routes)
}

/// Every call of a reshaping route must reach a platform route or the gateway's own API (references in its path
/// standing as `x`).
fn check_calls(routes: &[Route]) -> anyhow::Result<()> {
    let table = RouteTable::new(routes.to_vec());
    for route in routes {
        let Some(shaped) = &route.shaped else {
            continue;
        };
        for (i, call) in shaped.calls.iter().enumerate() {
            let sample = call.path.sample_path();
            let reached = crate::is_gateway_path(&sample)
                || matches!(
                    table.lookup_canonical(&call.method, &sample),
                    Lookup::Found(..)
                );
            if !reached {
                anyhow::bail!(
                    "{} ({}): call #{} `{} {sample}` reaches no platform route",
                    route.name,
                    shaped.label,
                    i + 1,
                    call.method
                );
            }
        }
    }
    Ok(())
}

/// The gateway's own API: the registry's admin routes, `/healthz`, `/readyz`, `/metrics` and the docs.
fn local_router(
    admin: axum::Router,
    checks: Vec<ReadyCheck>,
    docs: &Arc<docs::Docs>,
) -> axum::Router {
    admin
        .merge(agon_kit::service::process_routes(checks))
        .merge(docs.router())
        .fallback(agon_kit::error::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(
            agon_kit::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn_with_state(
            SERVICE,
            agon_kit::observe::observe,
        ))
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
                shaped: None,
                canonical: true,
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
                rewrite: r
                    .shaped
                    .as_ref()
                    .map(|s| s.describe())
                    .or_else(|| r.rewrite.clone()),
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
        shaped: None,
        canonical: true,
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
