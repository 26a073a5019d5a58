//! All SQL of the auth service, written once for SQLite and PostgreSQL.

use agon_db::{Db, ResultExt, Row, RowExt, Tx, query, query_as};
use uuid::Uuid;

use crate::{domain::AccountStatus, error::Error};

mod secrets;
mod sso;
mod verification;
pub use sso::SsoState;

#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Seals private signing keys and TOTP secrets (`secrets.rs`).
    keyring: agon_kit::sealed::Keyring,
}

/// A row of `accounts` to insert.
#[derive(Clone, Copy)]
pub struct NewAccount<'a> {
    pub id: Uuid,
    pub email: Option<&'a str>,
    pub username: Option<&'a str>,
    pub password_hash: &'a str,
    pub roles: &'a str,
    pub status: AccountStatus,
    pub now: &'a str,
}

/// What the token endpoint needs of an account.
#[derive(sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(rename = "id", try_from = "String")]
    pub user_id: Uuid,
    pub password_hash: String,
    pub roles: String,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
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
    pub fn new(db: Db, keyring: agon_kit::sealed::Keyring) -> Self {
        Self { db, keyring }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn insert_account(&self, tx: &mut Tx, a: &NewAccount<'_>) -> Result<(), Error> {
        let NewAccount {
            id,
            email,
            username,
            password_hash,
            roles,
            status,
            now,
        } = *a;
        let inserted = query(
            "insert into accounts (id, email, username, password_hash, roles, status, created_at, \
             updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)",
            (
                id.to_string(),
                email,
                username,
                password_hash,
                roles,
                status.as_str(),
                now,
            ),
        )
        .execute(&mut **tx)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            // Both engines name the column or its constraint (`accounts.username`, `accounts_username_key`).
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(if e.message().contains("username") {
                    Error::UsernameTaken
                } else {
                    Error::EmailTaken
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The account that logs in as `login`: an email or a username (normalised; a username never holds `@`).
    pub async fn credentials(&self, login: &str) -> Result<Option<Credentials>, Error> {
        let column = if login.contains('@') {
            "email"
        } else {
            "username"
        };
        Ok(query_as(
            sqlx::AssertSqlSafe(format!(
                "select id, password_hash, roles, status from accounts where {column} = $1"
            )),
            (login,),
        )
        .fetch_optional(self.db.pool())
        .await?)
    }

    pub async fn create_session(
        &self,
        tx: &mut Tx,
        session_id: Uuid,
        user_id: Uuid,
        now: &str,
        expires_at: &str,
    ) -> Result<(), Error> {
        query(
            "insert into sessions (id, user_id, created_at, expires_at) values ($1, $2, $3, $4)",
            (session_id.to_string(), user_id.to_string(), now, expires_at),
        )
        .execute(&mut **tx)
        .await
        // The account was deleted while its password was being checked: as if it never existed.
        .on_foreign_key(|| Error::InvalidGrant)?;
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
        query(
            "insert into refresh_tokens (token_hash, session_id, expires_at, created_at) values \
             ($1, $2, $3, $4)",
            (token_hash, session_id.to_string(), expires_at, now),
        )
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
        let spent = query(
            "update refresh_tokens set used_at = $1 where token_hash = $2 and used_at is null and expires_at > $1 \
             returning session_id",
            (now, token_hash),
        )
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = spent {
            let session_id = row.id("session_id")?;
            let session = query(
                "select s.user_id, a.roles from sessions s join accounts a on a.id = s.user_id \
                 where s.id = $1 and s.revoked_at is null and s.expires_at > $2 and a.status = 'active'",
                (session_id.to_string(), now),
            )
            .fetch_optional(&mut **tx)
            .await?;
            return match session {
                Some(row) => Ok(Redeemed::Fresh {
                    session_id,
                    user_id: row.id("user_id")?,
                    roles: row.try_get("roles")?,
                }),
                None => Ok(Redeemed::Invalid),
            };
        }
        let used = query(
            "select session_id from refresh_tokens where token_hash = $1 and used_at is not null",
            (token_hash,),
        )
        .fetch_optional(&mut **tx)
        .await?;
        match used {
            Some(row) => {
                let session_id = row.id("session_id")?;
                query(
                    "update sessions set revoked_at = $1 where id = $2 and revoked_at is null",
                    (now, session_id.to_string()),
                )
                .execute(&mut **tx)
                .await?;
                Ok(Redeemed::Reused)
            }
            None => Ok(Redeemed::Invalid),
        }
    }

    /// True when the session exists, is not revoked and has not expired.
    pub async fn session_active(&self, session_id: Uuid, now: &str) -> Result<bool, Error> {
        let row = query(
            "select 1 as one from sessions where id = $1 and revoked_at is null and expires_at > \
             $2",
            (session_id.to_string(), now),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Retires every key but `keep` that stopped signing before `before` (all its tokens have expired).
    pub async fn retire_keys_before(
        &self,
        keep: &str,
        before: &str,
        now: &str,
    ) -> Result<u64, Error> {
        let done = query(
            "update signing_keys set retired_at = $3 where retired_at is null and kid <> $1 and \
             activates_at < $2",
            (keep, before, now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

/// An account's stored status.
fn status(row: &agon_db::AnyRow) -> Result<AccountStatus, Error> {
    let text: String = row.try_get("status")?;
    AccountStatus::parse(&text)
        .ok_or_else(|| anyhow::anyhow!("stored account status {text:?}").into())
}

/// A session as its owner sees it.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: String,
    pub user_agent: Option<String>,
}

impl Store {
    /// Revokes sessions (all open ones of `user_id`, or just `only`), recording each in the revocation feed.
    /// Returns the revoked session ids.
    pub async fn revoke_sessions(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        only: Option<Uuid>,
        except: Option<Uuid>,
        now: &str,
        until_unix: i64,
    ) -> Result<Vec<Uuid>, Error> {
        let rows = query(
            "select id from sessions where user_id = $1 and revoked_at is null and expires_at > $2 \
             and ($3 = '' or id = $3) and ($4 = '' or id <> $4)",
            (
                user_id.to_string(),
                now,
                only.map(|i| i.to_string()).unwrap_or_default(),
                except.map(|i| i.to_string()).unwrap_or_default(),
            ),
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut revoked = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.id("id")?;
            query(
                "update sessions set revoked_at = $1 where id = $2",
                (now, id.to_string()),
            )
            .execute(&mut **tx)
            .await?;
            query(
                "insert into revocations (session_id, until_unix, created_at) values ($1, $2, $3)",
                (id.to_string(), until_unix, now),
            )
            .execute(&mut **tx)
            .await?;
            revoked.push(id);
        }
        Ok(revoked)
    }

    /// The revocation feed after `seq`, oldest first, skipping entries whose tokens have all expired.
    pub async fn revocations_after(
        &self,
        seq: i64,
        now_unix: i64,
        limit: i64,
    ) -> Result<Vec<agon_kit::auth::Revoked>, Error> {
        Ok(query_as(
            "select seq, session_id, until_unix as until from revocations \
             where seq > $1 and until_unix > $2 order by seq limit $3",
            (seq, now_unix, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// Open sessions of a user, newest first, after the `after` id (a page cursor).
    pub async fn sessions(
        &self,
        user_id: Uuid,
        now: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SessionRow>, Error> {
        Ok(query_as(
            "select id, created_at, last_used_at, expires_at, user_agent from sessions \
             where user_id = $1 and revoked_at is null and expires_at > $2 and ($3 = '' or id < $3) \
             order by id desc limit $4",
            (user_id.to_string(), now, after.unwrap_or_default(), limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }

    /// The owner of an open session.
    pub async fn session_owner(&self, session_id: Uuid, now: &str) -> Result<Option<Uuid>, Error> {
        let row = query(
            "select user_id from sessions where id = $1 and revoked_at is null and expires_at > $2",
            (session_id.to_string(), now),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| Ok(r.id("user_id")?)).transpose()
    }

    /// Whether a login from `user_agent` is from a device the account has not used: it had sessions before and
    /// none from this agent. A first login is not a new device; nor is a login without a user agent.
    pub async fn new_device(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        user_agent: Option<&str>,
    ) -> Result<bool, Error> {
        let Some(agent) = user_agent else {
            return Ok(false);
        };
        let row = query(
            "select (select count(*) from sessions where user_id = $1) as total, \
             (select count(*) from sessions where user_id = $1 and user_agent = $2) as same",
            (user_id.to_string(), agent),
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get::<i64, _>("total")? > 0 && row.try_get::<i64, _>("same")? == 0)
    }

    pub async fn touch_session(
        &self,
        tx: &mut Tx,
        session_id: Uuid,
        now: &str,
        user_agent: Option<&str>,
    ) -> Result<(), Error> {
        query(
            "update sessions set last_used_at = $2, user_agent = coalesce($3, user_agent) where id \
             = $1",
            (session_id.to_string(), now, user_agent.map(str::to_owned)),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn password_hash(&self, user_id: Uuid) -> Result<Option<String>, Error> {
        let row = query(
            "select password_hash from accounts where id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
    }

    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        hash: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update accounts set password_hash = $2, updated_at = $3 where id = $1",
            (user_id.to_string(), hash, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Failed password checks of `subject` since `since`, and the oldest of them.
    pub async fn failures_since(
        &self,
        subject: &str,
        since: &str,
    ) -> Result<(i64, Option<String>), Error> {
        let row = query(
            "select count(*) as n, min(at) as oldest from login_failures where subject = $1 and at \
             > $2",
            (subject, since),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok((row.try_get("n")?, row.try_get("oldest")?))
    }

    pub async fn record_failure(&self, subject: &str, now: &str) -> Result<(), Error> {
        query(
            "insert into login_failures (subject, at) values ($1, $2)",
            (subject, now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn clear_failures(&self, subject: &str) -> Result<(), Error> {
        query("delete from login_failures where subject = $1", (subject,))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Drops throttle records and revocation entries that no longer matter.
    pub async fn prune(&self, failures_before: &str, now_unix: i64) -> Result<(), Error> {
        query(
            "delete from login_failures where at < $1",
            (failures_before,),
        )
        .execute(self.db.pool())
        .await?;
        query("delete from revocations where until_unix < $1", (now_unix,))
            .execute(self.db.pool())
            .await?;
        let now = chrono::DateTime::from_timestamp(now_unix, 0).unwrap_or_default();
        query(
            "delete from account_tokens where expires_at < $1",
            (agon_db::time_text(now),),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Sets the status of an account, only from one of `from`; true when it changed.
    pub async fn set_status(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        status: AccountStatus,
        from: &[AccountStatus],
        now: &str,
    ) -> Result<bool, Error> {
        let mut changed = false;
        for old in from {
            let done = query(
                "update accounts set status = $2, updated_at = $3 where id = $1 and status = $4",
                (user_id.to_string(), status.as_str(), now, old.as_str()),
            )
            .execute(&mut **tx)
            .await?;
            changed |= done.rows_affected() > 0;
        }
        Ok(changed)
    }

    pub async fn set_roles(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        roles: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update accounts set roles = $2, updated_at = $3 where id = $1",
            (user_id.to_string(), roles, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Deletes the account with its sessions and refresh tokens (cascade).
    pub async fn delete_account(&self, tx: &mut Tx, user_id: Uuid) -> Result<(), Error> {
        let statements = [
            "delete from refresh_tokens where session_id in (select id from sessions where user_id \
             = $1)",
            "delete from sessions where user_id = $1",
            "delete from accounts where id = $1",
        ];
        for sql in statements {
            query(sql, (user_id.to_string(),))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Records a secret as used once, until `expires_at`; false when it was recorded already.
    pub async fn spend_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        purpose: &str,
        expires_at: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "insert into account_tokens (token_hash, user_id, purpose, expires_at, used_at, created_at) \
             values ($1, $2, $3, $4, $5, $5) on conflict (token_hash) do nothing",
            (token_hash, user_id.to_string(), purpose, expires_at, now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_token(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        user_id: Uuid,
        purpose: &str,
        expires_at: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into account_tokens (token_hash, user_id, purpose, expires_at, created_at) \
             values ($1, $2, $3, $4, $5)",
            (token_hash, user_id.to_string(), purpose, expires_at, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Spends a mailed token: its user when it is unused, unexpired and for `purpose`.
    pub async fn redeem_token(
        &self,
        tx: &mut Tx,
        token_hash: &str,
        purpose: &str,
        now: &str,
    ) -> Result<Option<Uuid>, Error> {
        let row = query(
            "update account_tokens set used_at = $3 where token_hash = $1 and purpose = $2 and used_at is null \
             and expires_at > $3 returning user_id",
            (token_hash, purpose, now),
        )
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| Ok(r.id("user_id")?)).transpose()
    }

    /// Tokens issued to `user_id` for `purpose` since `since`.
    pub async fn tokens_since(
        &self,
        user_id: Uuid,
        purpose: &str,
        since: &str,
    ) -> Result<i64, Error> {
        let row = query(
            "select count(*) as n from account_tokens where user_id = $1 and purpose = $2 and \
             created_at > $3",
            (user_id.to_string(), purpose, since),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn confirm_email(&self, tx: &mut Tx, user_id: Uuid, now: &str) -> Result<(), Error> {
        query(
            "update accounts set email_confirmed_at = coalesce(email_confirmed_at, $2) where id = \
             $1",
            (user_id.to_string(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Records `step` as used, only if it is newer than the last one: false means a replayed code.
    pub async fn use_totp_step(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        step: i64,
        confirm_at: Option<&str>,
    ) -> Result<bool, Error> {
        let done = query(
            "update mfa_totp set last_step = $2, confirmed_at = coalesce(confirmed_at, $3) where \
             user_id = $1 and last_step < $2",
            (user_id.to_string(), step, confirm_at.map(str::to_owned)),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_totp(&self, tx: &mut Tx, user_id: Uuid) -> Result<(), Error> {
        for table in ["mfa_totp", "recovery_codes"] {
            let sql = format!("delete from {table} where user_id = $1");
            query(sqlx::AssertSqlSafe(sql), (user_id.to_string(),))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn replace_recovery_codes(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        hashes: &[String],
        now: &str,
    ) -> Result<(), Error> {
        query(
            "delete from recovery_codes where user_id = $1",
            (user_id.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        for hash in hashes {
            query(
                "insert into recovery_codes (code_hash, user_id, created_at) values ($1, $2, $3)",
                (hash, user_id.to_string(), now),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Spends a recovery code of `user_id`; false when it is unknown or spent.
    pub async fn use_recovery_code(
        &self,
        tx: &mut Tx,
        user_id: Uuid,
        hash: &str,
        now: &str,
    ) -> Result<bool, Error> {
        let done = query(
            "update recovery_codes set used_at = $3 where code_hash = $1 and user_id = $2 and \
             used_at is null",
            (hash, user_id.to_string(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn recovery_codes_left(&self, user_id: Uuid) -> Result<i64, Error> {
        let row = query(
            "select count(*) as n from recovery_codes where user_id = $1 and used_at is null",
            (user_id.to_string(),),
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// What the account logs in with: its email, else its username.
    pub async fn account_login(&self, user_id: Uuid) -> Result<Option<String>, Error> {
        let row = query(
            "select coalesce(email, username) as login from accounts where id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(|r| r.try_get("login")).transpose()?)
    }
}

impl Store {
    pub async fn roles_and_status(
        &self,
        user_id: Uuid,
    ) -> Result<Option<(String, AccountStatus)>, Error> {
        let row = query(
            "select roles, status from accounts where id = $1",
            (user_id.to_string(),),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| Ok((r.try_get("roles")?, status(&r)?)))
            .transpose()
    }
}

impl Store {
    /// The user of a valid (unused, unexpired) mailed or challenge token, without spending it.
    pub async fn peek_token(
        &self,
        token_hash: &str,
        purpose: &str,
        now: &str,
    ) -> Result<Option<Uuid>, Error> {
        let row = query(
            "select user_id from account_tokens where token_hash = $1 and purpose = $2 and used_at \
             is null and expires_at > $3",
            (token_hash, purpose, now),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| Ok(r.id("user_id")?)).transpose()
    }
}
