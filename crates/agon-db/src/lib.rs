//! Database handle shared by every service: SQLite (embedded mode) or PostgreSQL (distributed mode).
//!
//! Owns connecting, per-service isolation (one SQLite file or one Postgres schema per service), running a
//! service's migrations for the right dialect, and mapping constraint violations to domain errors. It knows
//! nothing about any service's tables. SQL is written once where the dialects agree (`$1` placeholders,
//! `returning`, `on conflict`): services query through [`sqlx::Any`], so the same `store.rs` serves both.
//!
//! Entry points: [`Databases`] (how to reach a service's database), [`Db`] (the pool), [`Migrations`] with the
//! [`migrations!`] macro, [`ResultExt`], and [`RowExt`] with the timestamp helpers (how values are stored).

use std::{path::PathBuf, str::FromStr, sync::Once, time::Duration};

use anyhow::Context;
use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

mod query;
mod row;

pub use query::{Float, Params, Statement, query, query_as};
pub use row::{Flag, JsonText, OptionalId, RowExt, TimeText, now_text, parse_time, time_text};
pub use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

/// A transaction on a service's database.
pub type Tx = Transaction<'static, Any>;

/// The two engines Agon runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Where services find their databases.
#[derive(Debug, Clone)]
pub enum Databases {
    /// One SQLite file per service under this directory.
    SqliteDir(PathBuf),
    /// One schema per service (named `<prefix><service>`) in this PostgreSQL database.
    Postgres { url: String, schema_prefix: String },
}

/// A service's migrations: those both dialects share (`migrations/*.sql`) and each dialect's own
/// (`migrations/sqlite`, `migrations/postgres`), merged by version when applied. Build it with [`migrations!`].
pub struct Migrations {
    pub shared: Migrator,
    pub sqlite: Migrator,
    pub postgres: Migrator,
}

/// Embeds the calling crate's migrations: `migrations!()` reads `migrations/*.sql` plus `migrations/sqlite` and
/// `migrations/postgres`; `migrations!(shared)` only `migrations/*.sql`, for a crate whose SQL is the same on
/// both engines.
#[macro_export]
macro_rules! migrations {
    () => {
        $crate::Migrations {
            shared: ::sqlx::migrate!("./migrations"),
            sqlite: ::sqlx::migrate!("migrations/sqlite"),
            postgres: ::sqlx::migrate!("migrations/postgres"),
        }
    };
    (shared) => {
        $crate::Migrations {
            shared: ::sqlx::migrate!("./migrations"),
            sqlite: ::sqlx::migrate::Migrator::DEFAULT,
            postgres: ::sqlx::migrate::Migrator::DEFAULT,
        }
    };
}

impl Migrations {
    /// The migrations one dialect applies, in version order. A version both shared and dialect-specific is a
    /// mistake in the crate, refused before anything is applied.
    pub fn for_dialect(&self, dialect: Dialect) -> anyhow::Result<Migrator> {
        let own = match dialect {
            Dialect::Sqlite => &self.sqlite,
            Dialect::Postgres => &self.postgres,
        };
        if let Some(m) = own
            .iter()
            .find(|m| self.shared.iter().any(|s| s.version == m.version))
        {
            anyhow::bail!(
                "migration {} is both shared and {dialect:?}-specific",
                m.version
            );
        }
        Ok(Migrator::with_migrations(
            self.shared.iter().chain(own.iter()).cloned().collect(),
        ))
    }
}

/// How long an idle SQLite connection stays open.
const SQLITE_IDLE: Duration = Duration::from_secs(30);

/// A pool on one service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    name: String,
}

/// Creates `dir` (and its parents) if needed and makes it the owner's alone (0700), whatever the umask: it holds
/// every service's database and the key that seals secrets.
pub fn private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private (chmod 700)", dir.display()))?;
            tracing::info!(dir = %dir.display(), from = format!("{mode:o}"), "data directory made private (0700)");
        }
    }
    Ok(())
}

/// Makes a SQLite database file the owner's alone (0600) before SQLite opens it: a new file is created so, and
/// SQLite gives its `-wal` and `-shm` files the database file's mode. Files left readable by an earlier version
/// are tightened too.
fn private_database_file(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", path.display()));
            }
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            match std::fs::metadata(&file) {
                Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .with_context(|| format!("cannot chmod 600 {}", file.display()))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Databases {
    /// Opens (creating if needed) the database of `service` without migrating it.
    pub async fn open(&self, service: &str) -> anyhow::Result<Db> {
        install_drivers();
        let (pool, dialect) = match self {
            Databases::SqliteDir(dir) => (open_sqlite(dir, service).await?, Dialect::Sqlite),
            Databases::Postgres { url, schema_prefix } => (
                open_postgres(url, &format!("{schema_prefix}{service}")).await?,
                Dialect::Postgres,
            ),
        };
        Ok(Db {
            pool,
            dialect,
            name: service.to_owned(),
        })
    }

    /// Opens the database of `service` and applies its pending migrations.
    pub async fn open_migrated(
        &self,
        service: &str,
        migrations: &Migrations,
    ) -> anyhow::Result<Db> {
        let db = self.open(service).await?;
        db.migrate(migrations).await?;
        Ok(db)
    }
}

impl Db {
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The service whose database this is.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts a transaction; the returned value owns its connection.
    ///
    /// On SQLite the transaction takes the write lock at once (`begin immediate`): a deferred transaction that
    /// reads and then writes fails with `SQLITE_BUSY_SNAPSHOT` when another writer committed in between, which the
    /// busy timeout cannot absorb. SQLite has a single writer anyway, so nothing is lost; keep transactions short.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("begin immediate").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    /// Applies the pending migrations of this service for this database's dialect.
    pub async fn migrate(&self, migrations: &Migrations) -> anyhow::Result<()> {
        self.run_migrator(&migrations.for_dialect(self.dialect)?)
            .await
    }

    /// Applies a migration set that lives beside a service's own (a kit crate's tables, such as the bus's
    /// outbox), recorded in its own history table so the two histories never mix.
    pub async fn migrate_component(
        &self,
        history_table: &'static str,
        migrations: &Migrations,
    ) -> anyhow::Result<()> {
        let mut migrator = migrations.for_dialect(self.dialect)?;
        migrator.dangerous_set_table_name(history_table);
        self.run_migrator(&migrator).await
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("select 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn run_migrator(&self, migrator: &Migrator) -> anyhow::Result<()> {
        migrator
            .run(&self.pool)
            .await
            .with_context(|| format!("migrating the {} database", self.name))?;
        Ok(())
    }
}

/// One SQLite file per service under `dir`, private to its owner.
async fn open_sqlite(dir: &std::path::Path, service: &str) -> anyhow::Result<AnyPool> {
    private_dir(dir)?;
    let path = dir.join(format!("{service}.db"));
    private_database_file(&path)?;
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let options = AnyConnectOptions::from_str(&url)?;
    // SQLite allows one writer: a small pool and a busy timeout let writers queue instead of failing,
    // and WAL lets readers proceed while one writes. Each connection holds a worker thread and a page
    // cache, so connections a burst opened close after a while idle: at rest a service keeps one. Opening
    // a new file (WAL set-up, fsyncs) on a loaded machine has taken over 10 s: the wait for a connection
    // matches the gateway's default upstream timeout instead.
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .idle_timeout(SQLITE_IDLE)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(
                    "pragma journal_mode = wal; pragma synchronous = normal; \
                     pragma busy_timeout = 10000; pragma foreign_keys = on;",
                )
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok(pool)
}

/// The service's own schema in the PostgreSQL database at `url`, created if missing.
async fn open_postgres(url: &str, schema: &str) -> anyhow::Result<AnyPool> {
    if !schema
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        anyhow::bail!("invalid schema name {schema:?}: use letters, digits and underscores");
    }
    let options = AnyConnectOptions::from_str(url).context("invalid database url")?;
    // `if not exists` on an existing schema is a notice, not a problem: keep it out of the logs.
    let create =
        format!("set client_min_messages to warning; create schema if not exists {schema}");
    let bootstrap = AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await;
    let bootstrap = bootstrap.with_context(|| format!("cannot connect to {}", redact(url)))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(create))
        .execute(&bootstrap)
        .await?;
    bootstrap.close().await;
    // Migrations' `if not exists` notices ("already exists, skipping") would read like errors.
    let search_path = format!("set search_path to {schema}; set client_min_messages to warning");
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| {
            let search_path = search_path.clone();
            Box::pin(async move {
                sqlx::raw_sql(sqlx::AssertSqlSafe(search_path))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Maps constraint violations to the caller's domain errors, so they become 409/422 instead of 500.
pub trait ResultExt<T> {
    /// Turns a unique-constraint violation into `f()`.
    fn on_unique<E>(self, f: impl FnOnce() -> E) -> Result<T, E>
    where
        E: From<sqlx::Error>;

    /// Turns a foreign-key violation into `f()`.
    fn on_foreign_key<E>(self, f: impl FnOnce() -> E) -> Result<T, E>
    where
        E: From<sqlx::Error>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_unique<E: From<sqlx::Error>>(self, f: impl FnOnce() -> E) -> Result<T, E> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => f(),
            _ => E::from(e),
        })
    }

    fn on_foreign_key<E: From<sqlx::Error>>(self, f: impl FnOnce() -> E) -> Result<T, E> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => f(),
            _ => E::from(e),
        })
    }
}

/// A URL with its password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_password_only() {
        assert_eq!(
            redact("postgres://agon:secret@db:5432/agon"),
            "postgres://agon:***@db:5432/agon"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    fn migrator(versions: &[i64]) -> Migrator {
        use sqlx::migrate::{Migration, MigrationType};
        Migrator::with_migrations(
            versions
                .iter()
                .map(|v| {
                    let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(format!(
                        "create table t{v} (id integer)"
                    )));
                    let description = format!("t{v}").into();
                    Migration::new(*v, description, MigrationType::Simple, sql, false)
                })
                .collect(),
        )
    }

    #[test]
    fn each_dialect_gets_the_shared_migrations_and_its_own_in_version_order() {
        let migrations = Migrations {
            shared: migrator(&[1, 3]),
            sqlite: migrator(&[2]),
            postgres: migrator(&[4]),
        };
        let versions = |d| {
            let merged = migrations.for_dialect(d).unwrap();
            merged.iter().map(|m| m.version).collect::<Vec<_>>()
        };
        assert_eq!(versions(Dialect::Sqlite), [1, 2, 3]);
        assert_eq!(versions(Dialect::Postgres), [1, 3, 4]);
        let clash = Migrations {
            shared: migrator(&[1]),
            sqlite: migrator(&[1]),
            postgres: migrator(&[]),
        };
        assert!(clash.for_dialect(Dialect::Sqlite).is_err());
    }
}
