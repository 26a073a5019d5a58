//! `agon`: the whole platform in one binary.

use std::{net::SocketAddr, path::PathBuf};

use agon::{Config, platform};
use agon_db::Databases;
use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

/// glibc's allocator showed up at several percent of the gateway's CPU per request (consolidation and frees
/// across threads); mimalloc's thread-local free lists cost a fraction of that. Built with `no_thp`: asked for
/// transparent huge pages, the kernel backs each mostly empty 2 MiB of mimalloc's arenas in full (36 MB of
/// `agon up`'s 78 MB at rest were huge pages; without them it idles at 53 MB, see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How settings reach `agon` besides flags, for every command's `--help`.
const ENVIRONMENT: &str = "Settings: defaults < agon.toml (or --config) < AGON_* environment variables < flags. \
Every key of agon.example.toml has a variable: AGON_ and the key in capitals, `__` between levels \
(AGON_DATABASE_URL, AGON_SECRET_KEYS, AGON_GATEWAY__TIMEOUT_MS). An unknown AGON_* variable stops the start.";

/// Agon: accounts, trainings, events, tournaments, shop and more for sports clubs, behind one gateway.
#[derive(Parser)]
#[command(name = "agon", version, about, long_about = None, after_help = ENVIRONMENT)]
struct Cli {
    /// Configuration file (default: ./agon.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every service in this process: SQLite files under --data-dir, in-process bus, gateway on --port.
    #[command(after_help = ENVIRONMENT)]
    Up {
        /// Directory for the SQLite databases [default: data]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Gateway port [default: 8000]
        #[arg(long)]
        port: Option<u16>,
        /// Address to listen on [default: 127.0.0.1]
        #[arg(long)]
        host: Option<String>,
        /// Gateway profile from profiles/<NAME>.toml, serving a seed system's documented API
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Run one service (or the gateway) in this process, on PostgreSQL, for deployments with replicas.
    #[command(after_help = ENVIRONMENT)]
    Serve {
        /// The service to run
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(platform::service_names()))]
        service: String,
        #[arg(long)]
        port: Option<u16>,
        #[arg(long)]
        host: Option<String>,
        /// PostgreSQL URL; each service uses its own schema
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Base URL of the auth service (for its JWKS)
        #[arg(long, value_name = "URL")]
        auth_url: Option<String>,
        /// RabbitMQ URL (the event bus between processes)
        #[arg(long, value_name = "URL")]
        amqp_url: Option<String>,
        /// Redis URL (state shared by replicas)
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
        /// Profile from profiles/<NAME>.toml: the gateway serves its routes, and every service takes its
        /// `[defaults]` (give it to every process of the platform)
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
    },
    /// Apply pending database migrations (of one service, or of all) and, with --amqp-url, declare the
    /// services' RabbitMQ queues. Run it before starting `agon serve` processes.
    Migrate {
        service: Option<String>,
        /// PostgreSQL URL; without it, the SQLite files under --data-dir
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// RabbitMQ URL: also declare every consumer's queue, so no event published before a consumer first
        /// starts is missed
        #[arg(long, value_name = "URL")]
        amqp_url: Option<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Administer accounts directly on the databases (when no administrator can log in, or from scripts).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
        /// PostgreSQL URL; without it, the SQLite files under --data-dir
        #[arg(long, value_name = "URL", global = true)]
        database_url: Option<String>,
        #[arg(long, value_name = "DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Inspect the event bus: dead letters (events a consumer gave up on), unrouted events, and their replay.
    Bus {
        #[command(subcommand)]
        action: BusAction,
        /// RabbitMQ URL (for `unrouted`)
        #[arg(long, value_name = "URL", global = true)]
        amqp_url: Option<String>,
        /// PostgreSQL URL; without it, the SQLite files under --data-dir
        #[arg(long, value_name = "URL", global = true)]
        database_url: Option<String>,
        #[arg(long, value_name = "DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Business metrics: recompute the projection from the event store (after adding a metric, say).
    Metrics {
        #[command(subcommand)]
        action: MetricsAction,
        /// PostgreSQL URL; without it, the SQLite files under --data-dir
        #[arg(long, value_name = "URL", global = true)]
        database_url: Option<String>,
        #[arg(long, value_name = "DIR", global = true)]
        data_dir: Option<PathBuf>,
    },
    /// Print a new key for `secret_keys` (AGON_SECRET_KEYS), which seals signing keys and TOTP secrets at rest.
    SecretKey,
    /// Print the resolved route table of the gateway.
    Routes {
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MetricsAction {
    /// Recount every stored event into the business metrics, printing progress.
    Rebuild,
}

#[derive(Subcommand)]
enum BusAction {
    /// Dead letters: list them, or have their consumers try them again.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Events RabbitMQ could route to no queue (published before their consumer's queue existed).
    Unrouted {
        #[command(subcommand)]
        action: UnroutedAction,
    },
}

#[derive(Subcommand)]
enum UnroutedAction {
    /// Publish them again, now that the queues exist (needs --amqp-url).
    Replay,
}

#[derive(Subcommand)]
enum DlqAction {
    /// List dead letters as JSON lines, oldest first.
    List {
        /// Only this service's consumers
        #[arg(long)]
        service: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Mark dead letters for replay; the running service retries them within seconds.
    Replay {
        /// Only this service's consumers
        #[arg(long)]
        service: Option<String>,
        /// One event (by id); without it, every dead letter
        #[arg(long)]
        id: Option<uuid::Uuid>,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create an active account with the given roles.
    CreateUser {
        #[arg(long)]
        email: String,
        /// The password (or set AGON_CLI_PASSWORD to keep it out of the shell history)
        #[arg(long, env = "AGON_CLI_PASSWORD", hide_env_values = true)]
        password: String,
        /// athlete, trainer, coach or admin; repeat for several
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Set an account's password; its sessions end.
    SetPassword {
        /// The account's email or username.
        #[arg(long, visible_alias = "login")]
        email: String,
        #[arg(long, env = "AGON_CLI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// End every session of an account.
    RevokeSessions {
        /// The account's email or username.
        #[arg(long, visible_alias = "login")]
        email: String,
    },
    /// Approve a pending trainer or coach account.
    Approve {
        /// The account's email or username.
        #[arg(long, visible_alias = "login")]
        email: String,
    },
    /// Ban an account: it cannot log in, its sessions end.
    Ban {
        /// The account's email or username.
        #[arg(long, visible_alias = "login")]
        email: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a ban.
    Unban {
        /// The account's email or username.
        #[arg(long, visible_alias = "login")]
        email: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let flags = flags(&cli.command);
    let config = Config::load(cli.config.as_deref(), flags)?;
    agon_kit::telemetry::init_logging(config.log_format(), &config.log.filter)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command, config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Up { .. } => up(config).await,
        Command::Serve { service, .. } => serve(&service, config).await,
        Command::Migrate { service, .. } => migrate(service.as_deref(), &config).await,
        Command::Routes { .. } => routes(config).await,
        Command::SecretKey => {
            println!("{}", agon_kit::sealed::Keyring::generate_key()?);
            Ok(())
        }
        Command::Admin { action, .. } => admin(action, &config).await,
        Command::Bus { action, .. } => bus(action, &config).await,
        Command::Metrics {
            action: MetricsAction::Rebuild,
            ..
        } => {
            let db = agon_metrics::open(&databases(&config)).await?;
            let started = std::time::Instant::now();
            let counted = agon_metrics::rebuild(&db, |done, total| {
                eprintln!("rebuilding metrics: {done}/{total} events");
            })
            .await?;
            println!(
                "metrics rebuilt from {counted} events in {} ms",
                started.elapsed().as_millis()
            );
            Ok(())
        }
    }
}

async fn up(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let embedded =
        platform::Embedded::build(&config, Databases::SqliteDir(config.data_dir.clone())).await?;
    let listener = bind(&config).await?;
    let addr = listener.local_addr()?;
    let mut tasks = spawn(embedded.tasks);
    let mut banner = format!(
        "Agon is up in {} ms\n  API      http://{addr}/\n  Docs     http://{addr}/docs\n  Health   http://{addr}/healthz\n  Data     {}\n",
        started.elapsed().as_millis(),
        config.data_dir.display()
    );
    if let Some(profile) = &config.profile {
        banner.push_str(&format!("  Profile  {profile}\n"));
    }
    // A server must not die because nobody reads its standard output (`println!` panics on a closed pipe).
    let mut stdout = std::io::stdout();
    let _ = std::io::Write::write_all(&mut stdout, banner.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout));
    embedded
        .gateway
        .serve(listener, agon_kit::server::shutdown_signal())
        .await?;
    tasks.abort_all();
    tracing::info!("stopped");
    Ok(())
}

async fn serve(service: &str, config: Config) -> anyhow::Result<()> {
    let deps = platform::distributed_deps(service, &config).await?;
    if service == "gateway" {
        let (gateway, mut tasks) = platform::distributed_gateway(&config, &deps).await?;
        tasks.push(Box::pin(deps.verifier.clone().sync_forever()));
        let mut tasks = spawn(tasks);
        let threads = match config.gateway.threads {
            0 => std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
            n => n,
        };
        let serving = gateway.serve_per_thread(
            address(&config)?,
            threads,
            agon_kit::server::shutdown_signal(),
        )?;
        tracing::info!(addr = %serving.addr, threads, "gateway listening");
        serving.wait().await;
        tasks.abort_all();
        return Ok(());
    }
    let listener = bind(&config).await?;
    if let Err(error) = deps.verifier.preload().await {
        // The auth service may start later; keys are fetched again on the first unknown key id.
        tracing::warn!(error = format!("{error:#}"), "JWKS not loaded yet");
    }
    let mut built = platform::build_service(service, &deps, &config).await?;
    built
        .tasks
        .push(Box::pin(deps.verifier.clone().sync_forever()));
    let mut tasks = spawn(std::mem::take(&mut built.tasks));
    tracing::info!(service, addr = %listener.local_addr()?, "listening");
    agon_kit::server::serve(
        listener,
        built.standalone(),
        deps.trusted_proxies.clone(),
        agon_kit::server::shutdown_signal(),
    )
    .await?;
    tasks.abort_all();
    Ok(())
}

/// The databases operational commands work on: PostgreSQL when a URL is configured, else `agon up`'s files.
fn databases(config: &Config) -> Databases {
    match &config.database_url {
        Some(url) => Databases::Postgres {
            url: url.clone(),
            schema_prefix: config.schema_prefix.clone(),
        },
        None => Databases::SqliteDir(config.data_dir.clone()),
    }
}

async fn bus(action: BusAction, config: &Config) -> anyhow::Result<()> {
    let action = match action {
        BusAction::Dlq { action } => action,
        BusAction::Unrouted {
            action: UnroutedAction::Replay,
        } => {
            let url = config.amqp_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!("give RabbitMQ's URL: --amqp-url or AGON_AMQP_URL")
            })?;
            let broker = agon_bus::RabbitMq::connect(url, &config.schema_prefix).await?;
            let replayed = broker.replay_unrouted().await?;
            println!("{replayed} unrouted event(s) published again");
            return Ok(());
        }
    };
    let only = match &action {
        DlqAction::List { service, .. } | DlqAction::Replay { service, .. } => service.clone(),
    };
    let services: Vec<&str> = match &only {
        Some(name) => vec![platform::service(name)?.name],
        None => platform::SERVICES.iter().map(|s| s.name).collect(),
    };
    let databases = databases(config);
    let mut out = std::io::stdout().lock();
    for service in services {
        let db = databases.open(service).await?;
        match &action {
            DlqAction::List { limit, .. } => {
                for letter in agon_bus::dead_letters(&db, (*limit).clamp(1, 10_000)).await? {
                    let mut line = serde_json::to_value(&letter)?;
                    line["service"] = service.into();
                    std::io::Write::write_all(&mut out, format!("{line}\n").as_bytes())?;
                }
            }
            DlqAction::Replay { id, .. } => {
                let marked = agon_bus::request_replay(&db, *id).await?;
                std::io::Write::write_all(
                    &mut out,
                    format!("{service}: {marked} dead letter(s) marked for replay\n").as_bytes(),
                )?;
            }
        }
    }
    Ok(())
}

async fn migrate(service: Option<&str>, config: &Config) -> anyhow::Result<()> {
    let databases = databases(config);
    // Building a service applies its migrations and subscribes its consumers; nothing is served or consumed.
    let mut deps = platform::embedded_deps(config, databases)?;
    if let Some(url) = &config.amqp_url {
        deps.bus = agon_bus::Bus::rabbitmq_topology(url, &config.schema_prefix).await?;
    }
    let names: Vec<&str> = match service {
        Some(name) => vec![name],
        None => platform::service_names(),
    };
    for name in names {
        if name == "gateway" {
            agon_gateway::build(&deps, config.gateway.clone(), None, Vec::new()).await?;
        } else {
            platform::build_service(name, &deps, config).await?;
        }
        println!("{name}: migrated");
    }
    Ok(())
}

async fn admin(action: AdminAction, config: &Config) -> anyhow::Result<()> {
    let databases = databases(config);
    let deps = platform::embedded_deps(config, databases)?;
    let decision = match &action {
        AdminAction::Approve { email } => Some((email, agon_users::Decision::Approve)),
        AdminAction::Ban { email, reason } => {
            Some((email, agon_users::Decision::Ban(reason.clone())))
        }
        AdminAction::Unban { email } => Some((email, agon_users::Decision::Unban)),
        _ => None,
    };
    if let Some((email, decision)) = decision {
        // The users service decides; the auth service applies it (refused logins, ended sessions) when it
        // consumes the event.
        let users = agon_users::AdminCli::open(&deps, config.users.clone()).await?;
        let status = users.decide(email, decision).await?;
        println!("{email} is now {status}");
        return Ok(());
    }
    let cli = agon_auth::AdminCli::open(&deps, config.auth.clone()).await?;
    match action {
        AdminAction::CreateUser {
            email,
            password,
            roles,
        } => {
            let roles = roles
                .iter()
                .map(|r| serde_json::from_value(serde_json::Value::String(r.to_lowercase())))
                .collect::<Result<Vec<agon_kit::Role>, _>>()
                .map_err(|_| anyhow::anyhow!("--role must be athlete, trainer, coach or admin"))?;
            let id = cli.create_user(&email, &password, &roles).await?;
            println!("created {email} ({id}); the profile follows when the platform runs");
        }
        AdminAction::SetPassword { email, password } => {
            cli.set_password(&email, &password).await?;
            println!("password set for {email}; its sessions ended");
        }
        AdminAction::RevokeSessions { email } => {
            let n = cli.revoke_sessions(&email).await?;
            println!("{n} session(s) of {email} ended");
        }
        AdminAction::Approve { .. } | AdminAction::Ban { .. } | AdminAction::Unban { .. } => {}
    }
    Ok(())
}

async fn routes(config: Config) -> anyhow::Result<()> {
    // With an existing data directory the table includes its registry; otherwise a scratch one is used.
    let existing = config.data_dir.join("gateway.db").exists();
    let scratch =
        std::env::temp_dir().join(format!("agon-routes-{}", uuid::Uuid::now_v7().simple()));
    let dir = if existing {
        config.data_dir.clone()
    } else {
        scratch.clone()
    };
    let built = platform::Embedded::build(&config, Databases::SqliteDir(dir)).await;
    if !existing {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let embedded = built?;
    println!(
        "{:<36} {:<28} {:<8} {:<7} {:<14} SOURCE",
        "MATCH", "REWRITE", "METHODS", "AUTH", "UPSTREAM"
    );
    for row in embedded.gateway.routes() {
        let auth = serde_json::to_value(row.auth)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        println!(
            "{:<36} {:<28} {:<8} {:<7} {:<14} {}",
            row.matcher,
            row.rewrite.unwrap_or_else(|| "-".into()),
            row.methods,
            auth,
            row.upstream,
            row.source
        );
    }
    Ok(())
}

async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    let addr = address(config)?;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

fn address(config: &Config) -> anyhow::Result<SocketAddr> {
    format!("{}:{}", config.host, config.port)
        .parse()
        .with_context(|| format!("invalid host/port {}:{}", config.host, config.port))
}

fn spawn(tasks: Vec<agon_kit::Task>) -> tokio::task::JoinSet<()> {
    let mut set = tokio::task::JoinSet::new();
    for task in tasks {
        set.spawn(async move {
            if let Err(error) = task.await {
                tracing::error!(error = format!("{error:#}"), "background task stopped");
            }
        });
    }
    set
}

/// The flags given on the command line, as a config layer (absent flags leave lower layers alone).
fn flags(command: &Command) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    let mut put = |key: &str, value: Option<serde_json::Value>| {
        if let Some(v) = value {
            map.insert(key.to_owned(), v);
        }
    };
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| serde_json::json!(p));
    match command {
        Command::Up {
            data_dir,
            port,
            host,
            profile,
        } => {
            put("data_dir", path(data_dir));
            put("port", port.map(|p| p.into()));
            put("host", host.clone().map(Into::into));
            put("profile", profile.clone().map(Into::into));
        }
        Command::Serve {
            port,
            host,
            database_url,
            auth_url,
            amqp_url,
            redis_url,
            profile,
            ..
        } => {
            put("amqp_url", amqp_url.clone().map(Into::into));
            put("redis_url", redis_url.clone().map(Into::into));
            put("port", port.map(|p| p.into()));
            put("host", host.clone().map(Into::into));
            put("database_url", database_url.clone().map(Into::into));
            put("auth_url", auth_url.clone().map(Into::into));
            put("profile", profile.clone().map(Into::into));
        }
        Command::Migrate {
            database_url,
            data_dir,
            amqp_url,
            ..
        }
        | Command::Bus {
            database_url,
            data_dir,
            amqp_url,
            ..
        } => {
            put("amqp_url", amqp_url.clone().map(Into::into));
            put("database_url", database_url.clone().map(Into::into));
            put("data_dir", path(data_dir));
        }
        Command::Admin {
            database_url,
            data_dir,
            ..
        }
        | Command::Metrics {
            database_url,
            data_dir,
            ..
        } => {
            put("database_url", database_url.clone().map(Into::into));
            put("data_dir", path(data_dir));
        }
        Command::Routes { profile, data_dir } => {
            put("profile", profile.clone().map(Into::into));
            put("data_dir", path(data_dir));
        }
        Command::SecretKey => {}
    }
    serde_json::Value::Object(map)
}
