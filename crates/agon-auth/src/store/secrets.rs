//! The auth service's secrets at rest — private signing keys and TOTP secrets — sealed under the configured keys
//! (`agon_kit::sealed`), each bound to its row, and sealed again under the first key at start after a rotation.

use agon_db::{Row, query};
use uuid::Uuid;

use super::Store;
use crate::{domain::SigningKey, error::Error};

/// A TOTP enrolment.
pub struct Totp {
    pub secret: String,
    pub confirmed: bool,
}

fn key_context(kid: &str) -> String {
    format!("signing_keys:{kid}")
}

fn totp_context(user_id: &str) -> String {
    format!("mfa_totp:{user_id}")
}

/// A table, its id column, its sealed column, and the context its values are bound to.
type SealedColumn = (&'static str, &'static str, &'static str, fn(&str) -> String);

impl Store {
    fn open_secret(&self, stored: &str, context: &str) -> Result<String, Error> {
        let opened = self.keyring.open(stored, context)?;
        String::from_utf8(opened.value)
            .map_err(|_| Error::from(anyhow::anyhow!("{context}: not text once opened")))
    }

    /// Signing keys not yet retired, newest first, with when each starts signing.
    pub async fn signing_keys(&self) -> Result<Vec<(SigningKey, String)>, Error> {
        let rows = query(
            "select kid, private_pkcs8, public_x, activates_at from signing_keys where retired_at is null \
             order by activates_at desc, kid desc",
            (),
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let kid: String = row.try_get("kid")?;
                let sealed: String = row.try_get("private_pkcs8")?;
                let key = SigningKey {
                    private_pkcs8: self.open_secret(&sealed, &key_context(&kid))?,
                    kid,
                    public_x: row.try_get("public_x")?,
                };
                Ok((key, row.try_get("activates_at")?))
            })
            .collect()
    }

    pub async fn insert_signing_key(
        &self,
        key: &SigningKey,
        now: &str,
        activates_at: &str,
    ) -> Result<(), Error> {
        let sealed = self
            .keyring
            .seal(key.private_pkcs8.as_bytes(), &key_context(&key.kid))?;
        query(
            "insert into signing_keys (kid, private_pkcs8, public_x, created_at, activates_at) \
             values ($1, $2, $3, $4, $5)",
            (&key.kid, sealed, &key.public_x, now, activates_at),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn totp(&self, user_id: Uuid) -> Result<Option<Totp>, Error> {
        let id = user_id.to_string();
        let row = query(
            "select secret, confirmed_at from mfa_totp where user_id = $1",
            (&id,),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            let sealed: String = r.try_get("secret")?;
            Ok(Totp {
                secret: self.open_secret(&sealed, &totp_context(&id))?,
                confirmed: r.try_get::<Option<String>, _>("confirmed_at")?.is_some(),
            })
        })
        .transpose()
    }

    /// Starts (or restarts) an unconfirmed enrolment.
    pub async fn put_pending_totp(
        &self,
        user_id: Uuid,
        secret: &str,
        now: &str,
    ) -> Result<(), Error> {
        let id = user_id.to_string();
        let sealed = self.keyring.seal(secret.as_bytes(), &totp_context(&id))?;
        let mut tx = self.db.begin().await?;
        query(
            "delete from mfa_totp where user_id = $1 and confirmed_at is null",
            (&id,),
        )
        .execute(&mut *tx)
        .await?;
        query(
            "insert into mfa_totp (user_id, secret, created_at) values ($1, $2, $3)",
            (&id, sealed, now),
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Seals again, under the first key, every secret stored in clear (before sealing existed) or under another
    /// key (before a rotation); returns how many. Each row is replaced only if it still holds what was read, so
    /// replicas starting together do not overwrite each other.
    pub async fn reseal(&self) -> Result<u64, Error> {
        let tables: [SealedColumn; 2] = [
            ("signing_keys", "kid", "private_pkcs8", key_context),
            ("mfa_totp", "user_id", "secret", totp_context),
        ];
        let Some(current) = self.keyring.current_prefix() else {
            return Ok(0);
        };
        let mut resealed = 0;
        for (table, id_column, column, context) in tables {
            // Only rows not sealed by the first key are read: after the first start nothing is, whatever the size.
            let select = format!(
                "select {id_column} as id, {column} as value from {table} where {column} not like \
                 $1"
            );
            let rows = query(sqlx::AssertSqlSafe(select), (format!("{current}%"),))
                .fetch_all(self.db.pool())
                .await?;
            let update = format!(
                "update {table} set {column} = $1 where {id_column} = $2 and {column} = $3"
            );
            for row in rows {
                let (id, stored): (String, String) = (row.try_get("id")?, row.try_get("value")?);
                if self.keyring.is_current(&stored) {
                    continue;
                }
                let context = context(&id);
                let value = self.keyring.open(&stored, &context)?.value;
                let sealed = self.keyring.seal(&value, &context)?;
                let done = query(sqlx::AssertSqlSafe(update.clone()), (sealed, &id, &stored))
                    .execute(self.db.pool())
                    .await?;
                resealed += done.rows_affected();
            }
        }
        Ok(resealed)
    }
}
