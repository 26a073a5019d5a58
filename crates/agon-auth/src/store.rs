//! All SQL of the auth service, written once for SQLite and PostgreSQL.

use agon_db::{Db, ResultExt, Row, Tx};
use uuid::Uuid;

use crate::{domain::SigningKey, error::Error};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// What the token endpoint needs of an account.
pub struct Credentials {
    pub user_id: Uuid,
    pub password_hash: String,
    pub roles: String,
}

/// The outcome of presenting a refresh token.
pub enum Redeemed {
    /// Valid and now spent: a new token may be issued for this session.
    Fresh {
        session_id: Uuid,
        user_id: Uuid,
        roles: String,
    },
    /// Already spent: someone replayed it, so its session was revoked.
    Reused,
    /// Unknown, expired, or its session is over.
    Invalid,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn insert_account(
        &self,
        tx: &mut Tx,
        id: Uuid,
        email: &str,
        password_hash: &str,
        roles: &str,
        now: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into accounts (id, email, password_hash, roles, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.to_string())
        .bind(email)
        .bind(password_hash)
        .bind(roles)
        .bind(now)
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::EmailTaken)?;
        Ok(())
    }

    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, Error> {
        let row = sqlx::query("select id, password_hash, roles from accounts where email = $1")
            .bind(email)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|row| {
            Ok(Credentials {
                user_id: parse_id(&row.try_get::<String, _>("id")?)?,
                password_hash: row.try_get("password_hash")?,
                roles: row.try_get("roles")?,
            })
        })
        .transpose()
    }

    pub async fn create_session(
        &self,
        tx: &mut Tx,
        session_id: Uuid,
        user_id: Uuid,
        now: &str,
        expires_at: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into sessions (id, user_id, created_at, expires_at) values ($1, $2, $3, $4)",
        )
        .bind(session_id.to_string())
        .bind(user_id.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn insert_refresh_token(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        session_id: Uuid,
        now: &str,
        expires_at: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "insert into refresh_tokens (token_hash, session_id, expires_at, created_at) values ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(session_id.to_string())
        .bind(expires_at)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Spends a refresh token atomically: of two concurrent redemptions exactly one wins, and the loser is
    /// treated as a replay.
    pub async fn redeem_refresh_token(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        now: &str,
    ) -> Result<Redeemed, Error> {
        let spent = sqlx::query(
            "update refresh_tokens set used_at = $1 where token_hash = $2 and used_at is null and expires_at > $1 \
             returning session_id",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = spent {
            let session_id: String = row.try_get("session_id")?;
            let session = sqlx::query(
                "select s.user_id, a.roles from sessions s join accounts a on a.id = s.user_id \
                 where s.id = $1 and s.revoked_at is null and s.expires_at > $2",
            )
            .bind(&session_id)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
            return match session {
                Some(row) => Ok(Redeemed::Fresh {
                    session_id: parse_id(&session_id)?,
                    user_id: parse_id(&row.try_get::<String, _>("user_id")?)?,
                    roles: row.try_get("roles")?,
                }),
                None => Ok(Redeemed::Invalid),
            };
        }
        let used = sqlx::query(
            "select session_id from refresh_tokens where token_hash = $1 and used_at is not null",
        )
        .bind(token_hash)
        .fetch_optional(&mut **tx)
        .await?;
        match used {
            Some(row) => {
                let session_id: String = row.try_get("session_id")?;
                sqlx::query(
                    "update sessions set revoked_at = $1 where id = $2 and revoked_at is null",
                )
                .bind(now)
                .bind(&session_id)
                .execute(&mut **tx)
                .await?;
                Ok(Redeemed::Reused)
            }
            None => Ok(Redeemed::Invalid),
        }
    }

    /// True when the session exists, is not revoked and has not expired.
    pub async fn session_active(&self, session_id: Uuid, now: &str) -> Result<bool, Error> {
        let row = sqlx::query("select 1 as one from sessions where id = $1 and revoked_at is null and expires_at > $2")
            .bind(session_id.to_string())
            .bind(now)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Signing keys not yet retired, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKey>, Error> {
        let rows = sqlx::query(
            "select kid, private_pkcs8, public_x from signing_keys where retired_at is null order by created_at desc",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKey {
                    kid: row.try_get("kid")?,
                    private_pkcs8: row.try_get("private_pkcs8")?,
                    public_x: row.try_get("public_x")?,
                })
            })
            .collect()
    }

    pub async fn insert_signing_key(&self, key: &SigningKey, now: &str) -> Result<(), Error> {
        sqlx::query("insert into signing_keys (kid, private_pkcs8, public_x, created_at) values ($1, $2, $3, $4)")
            .bind(&key.kid)
            .bind(&key.private_pkcs8)
            .bind(&key.public_x)
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

fn parse_id(text: &str) -> Result<Uuid, Error> {
    text.parse()
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored id {text:?}: {e}")))
}
