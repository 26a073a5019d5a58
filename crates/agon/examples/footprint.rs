//! What each service costs at rest in `agon up`: builds the services of the catalog one after another on fresh
//! SQLite files with the in-process bus, lets each settle, and prints the resident memory, threads and open
//! database files the process gained with it. `bench/memory.sh` runs it.
//!
//!   cargo run --release -p agon --example footprint

use std::{path::Path, time::Duration};

use agon::{Config, platform};
use agon_db::Databases;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long a freshly built service is left alone before it is measured: past the SQLite idle timeout, so
/// what remains is what it keeps.
const SETTLE: Duration = Duration::from_secs(35);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let deps = platform::embedded_deps(&config, Databases::SqliteDir(config.data_dir.clone()))?;
    let mut running = tokio::task::JoinSet::new();
    let mut before = Held::now()?;
    println!(
        "{:<14} {:>9} {:>8} {:>9}",
        "", "RSS (MB)", "threads", "db files"
    );
    println!(
        "{:<14} {:>9.1} {:>8} {:>9}",
        "runtime", before.rss_mb, before.threads, before.db_files
    );
    for def in platform::SERVICES {
        let mut service = (def.build)(&deps, &config).await?;
        for task in service.tasks.drain(..) {
            running.spawn(task);
        }
        before = settled(def.name, &before).await?;
    }
    let (_gateway, tasks) =
        agon_gateway::build(&deps, config.gateway.clone(), None, Vec::new()).await?;
    for task in tasks {
        running.spawn(task);
    }
    before = settled("gateway", &before).await?;
    println!(
        "{:<14} {:>9.1} {:>8} {:>9}",
        "all", before.rss_mb, before.threads, before.db_files
    );
    running.abort_all();
    Ok(())
}

/// Waits for what was just built to settle, prints what it added, and returns what the process holds now.
async fn settled(name: &str, before: &Held) -> anyhow::Result<Held> {
    tokio::time::sleep(SETTLE).await;
    let after = Held::now()?;
    println!(
        "+ {:<12} {:>+9.1} {:>+8} {:>+9}",
        name,
        after.rss_mb - before.rss_mb,
        after.threads as i64 - before.threads as i64,
        after.db_files as i64 - before.db_files as i64
    );
    Ok(after)
}

/// What the process holds now.
struct Held {
    rss_mb: f64,
    threads: usize,
    db_files: usize,
}

impl Held {
    fn now() -> anyhow::Result<Self> {
        let status = std::fs::read_to_string("/proc/self/status")?;
        let rss_kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let db_files = std::fs::read_dir("/proc/self/fd")?
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.extension().is_some_and(|e| e == "db"))
            .count();
        Ok(Self {
            rss_mb: rss_kb / 1024.0,
            threads: std::fs::read_dir(Path::new("/proc/self/task"))?.count(),
            db_files,
        })
    }
}
