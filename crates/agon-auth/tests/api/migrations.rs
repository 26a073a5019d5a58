//! Upgrading a database that holds data: usernames (0009) rebuild `accounts` on SQLite, and what hangs off an
//! account (sessions, tokens) survives it.

use agon_db::{Databases, Migrations, RowExt, query};
use sqlx::{Row, migrate::Migrator};

/// `migrator`'s migrations up to `version`.
fn up_to(migrator: &Migrator, version: i64) -> Migrator {
    Migrator::with_migrations(
        (migrator.iter())
            .filter(|m| m.version <= version)
            .cloned()
            .collect(),
    )
}

#[tokio::test]
async fn usernames_keep_every_account_and_its_sessions() {
    let all = agon_db::migrations!();
    let before = Migrations {
        shared: up_to(&all.shared, 8),
        sqlite: up_to(&all.sqlite, 8),
        postgres: up_to(&all.postgres, 8),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let databases = match agon_testkit::test_database_url() {
        Some(url) => Databases::Postgres {
            url,
            schema_prefix: format!("m{}_", &id[..12]),
        },
        None => Databases::SqliteDir(std::env::temp_dir().join(format!("agon-migrate-{id}"))),
    };
    let db = databases.open_migrated("auth", &before).await.unwrap();
    let now = "2026-01-01T00:00:00.000000Z";
    let account = uuid::Uuid::now_v7().to_string();
    query(
        "insert into accounts (id, email, password_hash, roles, status, created_at, updated_at) \
         values ($1, 'ana@club.org', 'h', 'athlete', 'active', $2, $2)",
        (account.as_str(), now),
    )
    .execute(db.pool())
    .await
    .unwrap();
    query(
        "insert into sessions (id, user_id, created_at, expires_at) values ($1, $2, $3, $3)",
        (uuid::Uuid::now_v7().to_string(), account.as_str(), now),
    )
    .execute(db.pool())
    .await
    .unwrap();

    db.migrate(&all).await.unwrap();
    let count = |sql: &'static str| {
        let pool = db.pool().clone();
        async move {
            let row = query(sql, ()).fetch_one(&pool).await.unwrap();
            row.try_get::<i64, _>("n").unwrap()
        }
    };
    assert_eq!(count("select count(*) as n from sessions").await, 1);
    let row = query("select id, email from accounts", ())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(row.id("id").unwrap().to_string(), account);
    assert_eq!(row.try_get::<String, _>("email").unwrap(), "ana@club.org");
    // The rebuilt table still holds its rules: an account needs a login, and deleting one ends its sessions.
    let nameless = query(
        "insert into accounts (id, password_hash, roles, created_at, updated_at) \
         values ('x', 'h', 'athlete', $1, $1)",
        (now,),
    );
    assert!(nameless.execute(db.pool()).await.is_err());
    query("delete from accounts where id = $1", (account.as_str(),))
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(count("select count(*) as n from sessions").await, 0);
    db.close().await;
    if let Databases::SqliteDir(dir) = databases {
        let _ = std::fs::remove_dir_all(dir);
    }
}
