//! The gateway's settings (`[gateway]` in agon.toml) and the shape of one configured route.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{conn::ConnectionConfig, limit, route::AuthPolicy};

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
    /// The directory a profile's `files = true` routes serve (a seed's web frontend).
    pub static_dir: Option<std::path::PathBuf>,
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
            static_dir: None,
        }
    }
}
