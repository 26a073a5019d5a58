//! The composition root: which services exist, which path prefixes each owns, and how to build them for each
//! run mode. The only place that knows every service.

use std::{future::Future, pin::Pin};

use agon_bus::Bus;
use agon_db::Databases;
use agon_gateway::{Gateway, Mount, Upstream};
use agon_kit::{Deps, Service, Task, TokenVerifier, auth::KeySet, sealed::Keyring};

use crate::config::Config;

/// A service of the platform: its name, the canonical path prefixes the gateway routes to it, and how it is
/// built from the process's dependencies and the configuration (its own section of it).
pub struct ServiceDef {
    pub name: &'static str,
    pub prefixes: &'static [&'static str],
    pub build: for<'a> fn(&'a Deps, &'a Config) -> Building<'a>,
}

/// A service being built.
pub type Building<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Service>> + Send + 'a>>;

/// Every service, in start order (auth first: it publishes the signing keys the others verify with). Adding a
/// service is one row here.
pub const SERVICES: &[ServiceDef] = &[
    ServiceDef {
        name: agon_auth::SERVICE,
        prefixes: &["/auth", "/.well-known"],
        build: |deps, config| Box::pin(agon_auth::build(deps, config.auth.clone())),
    },
    ServiceDef {
        name: agon_users::SERVICE,
        prefixes: &["/users"],
        build: |deps, config| Box::pin(agon_users::build(deps, config.users.clone())),
    },
    ServiceDef {
        name: agon_notifications::SERVICE,
        prefixes: &["/notifications", "/ws"],
        build: |deps, config| {
            Box::pin(agon_notifications::build(
                deps,
                config.notifications.clone(),
            ))
        },
    },
    ServiceDef {
        name: agon_metrics::SERVICE,
        prefixes: &["/analytics"],
        build: |deps, _| Box::pin(agon_metrics::build(deps)),
    },
    ServiceDef {
        name: agon_trainings::SERVICE,
        prefixes: &["/trainings", "/courses", "/assessments", "/certificates"],
        build: |deps, _| Box::pin(agon_trainings::build(deps)),
    },
    ServiceDef {
        name: agon_tournaments::SERVICE,
        prefixes: &["/tournaments"],
        build: |deps, _| Box::pin(agon_tournaments::build(deps)),
    },
    ServiceDef {
        name: agon_targets::SERVICE,
        prefixes: &["/targets"],
        build: |deps, _| Box::pin(agon_targets::build(deps)),
    },
    ServiceDef {
        name: agon_ledger::SERVICE,
        prefixes: &["/ledger"],
        build: |deps, config| Box::pin(agon_ledger::build(deps, config.ledger.clone())),
    },
    ServiceDef {
        name: agon_shop::SERVICE,
        prefixes: &["/shop"],
        build: |deps, config| Box::pin(agon_shop::build(deps, config.ledger.currency.clone())),
    },
    ServiceDef {
        name: agon_faces::SERVICE,
        prefixes: &["/faces"],
        build: |deps, config| Box::pin(agon_faces::build(deps, config.faces.clone())),
    },
    ServiceDef {
        name: agon_coaching::SERVICE,
        prefixes: &["/coaching"],
        build: |deps, config| {
            let currency = config.ledger.currency.clone();
            Box::pin(agon_coaching::build(
                deps,
                config.coaching.clone(),
                currency,
            ))
        },
    },
];

/// The names `agon serve` accepts.
pub fn service_names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name).chain(["gateway"]).collect()
}

/// The catalog row of `name`.
pub fn service(name: &str) -> anyhow::Result<&'static ServiceDef> {
    SERVICES.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
        anyhow::anyhow!("unknown service {name:?} (known: {})", known.join(", "))
    })
}

/// Builds one service by name.
pub async fn build_service(name: &str, deps: &Deps, config: &Config) -> anyhow::Result<Service> {
    (service(name)?.build)(deps, config).await
}

/// The platform in one process: every service, with the gateway dispatching to them in-process.
pub struct Embedded {
    pub gateway: Gateway,
    pub tasks: Vec<Task>,
    /// The in-process bus; [`Bus::close`] lets the services go once the platform is done with.
    pub bus: Bus,
}

impl Embedded {
    /// Builds every service on `databases` with the in-process bus, and the gateway in front of them.
    pub async fn build(config: &Config, databases: Databases) -> anyhow::Result<Self> {
        let deps = embedded_deps(config, databases)?;
        let mut tasks = Vec::new();
        let mut mounts = Vec::new();
        for def in SERVICES {
            let mut service = (def.build)(&deps, config).await?;
            tasks.append(&mut service.tasks);
            mounts.push(Mount {
                name: def.name.to_owned(),
                prefixes: def.prefixes.iter().map(|p| (*p).to_owned()).collect(),
                upstream: Upstream::InProcess(service.api()),
                openapi: Some(service.openapi.clone()),
                checks: service.checks.clone(),
            });
        }
        let profile = config.load_profile()?;
        let (gateway, mut gateway_tasks) =
            agon_gateway::build(&deps, config.gateway.clone(), profile, mounts).await?;
        tasks.append(&mut gateway_tasks);
        Ok(Self {
            gateway,
            tasks,
            bus: deps.bus.clone(),
        })
    }
}

/// Dependencies of one service in its own process: its schema in PostgreSQL, the durable bus, and token
/// verification against the auth service's JWKS (the auth service itself holds the keys).
pub async fn distributed_deps(service: &str, config: &Config) -> anyhow::Result<Deps> {
    let url = config.database_url.clone().ok_or_else(|| {
        anyhow::anyhow!("agon serve needs a PostgreSQL URL: --database-url or AGON_DATABASE_URL")
    })?;
    let databases = Databases::Postgres {
        url,
        schema_prefix: config.schema_prefix.clone(),
    };
    let bus = if service == "gateway" {
        // The gateway neither publishes nor consumes events.
        Bus::in_process()
    } else {
        let amqp_url = config.amqp_url.as_deref().ok_or_else(|| {
            anyhow::anyhow!("agon serve {service} needs RabbitMQ: --amqp-url or AGON_AMQP_URL")
        })?;
        Bus::rabbitmq(amqp_url, &config.schema_prefix).await?
    };
    // The auth service holds the keys and the revocations itself; every other process follows it over HTTP.
    let auth_url = if service == agon_auth::SERVICE {
        None
    } else {
        Some(config.auth_url.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "agon serve {service} needs the auth service's URL: --auth-url or AGON_AUTH_URL"
            )
        })?)
    };
    let verifier = TokenVerifier::new(
        KeySet::default(),
        agon_kit::TOKEN_ISSUER,
        agon_kit::TOKEN_AUDIENCE,
        auth_url,
    );
    if let Some(url) = &config.redis_url {
        let channel = format!("{}agon:revocations", config.schema_prefix);
        verifier.connect_redis(url, &channel).await?;
    }
    Ok(Deps {
        databases,
        bus,
        verifier,
        mail: config.mail.clone(),
        redis_url: config.redis_url.clone(),
        trusted_proxies: agon_kit::TrustedProxies::new(&config.trusted_proxies),
        keyring: Keyring::new(&config.secret_keys)?,
    })
}

/// Dependencies for services sharing one process: the in-process bus and one verifier that the auth service
/// fills with its keys directly.
pub fn embedded_deps(config: &Config, databases: Databases) -> anyhow::Result<Deps> {
    let keyring = keyring(config, &databases)?;
    Ok(Deps {
        databases,
        bus: Bus::in_process(),
        verifier: TokenVerifier::new(
            KeySet::default(),
            agon_kit::TOKEN_ISSUER,
            agon_kit::TOKEN_AUDIENCE,
            None,
        ),
        mail: config.mail.clone(),
        redis_url: None,
        trusted_proxies: agon_kit::TrustedProxies::new(&config.trusted_proxies),
        keyring,
    })
}

/// The keys that seal secrets at rest: `secret_keys` when configured, else (SQLite) the key file beside the
/// databases, created on first start. On PostgreSQL the key must be configured: a key kept in the database it
/// protects would protect nothing.
pub fn keyring(config: &Config, databases: &Databases) -> anyhow::Result<Keyring> {
    if !config.secret_keys.is_empty() {
        return Keyring::new(&config.secret_keys);
    }
    match databases {
        Databases::SqliteDir(dir) => {
            agon_db::private_dir(dir)?;
            Keyring::from_file(&dir.join("secret.key"))
        }
        Databases::Postgres { .. } => Ok(Keyring::empty()),
    }
}

/// The gateway alone, proxying over HTTP to the upstreams in its config.
pub async fn distributed_gateway(
    config: &Config,
    deps: &Deps,
) -> anyhow::Result<(Gateway, Vec<Task>)> {
    let mut mounts = Vec::new();
    for def in SERVICES {
        let Some(url) = config.gateway.upstreams.get(def.name) else {
            continue;
        };
        let upstream = agon_gateway::Upstream::http(url)
            .map_err(|e| anyhow::anyhow!("gateway.upstreams.{}: {e}", def.name))?;
        mounts.push(Mount {
            name: def.name.to_owned(),
            prefixes: def.prefixes.iter().map(|p| (*p).to_owned()).collect(),
            upstream,
            openapi: None,
            checks: Vec::new(),
        });
    }
    let mut gateway_config = config.gateway.clone();
    // Known services are mounted above with their prefixes; the rest stay plain named upstreams.
    gateway_config
        .upstreams
        .retain(|name, _| !SERVICES.iter().any(|d| d.name == name));
    let profile = config.load_profile()?;
    agon_gateway::build(deps, gateway_config, profile, mounts).await
}
