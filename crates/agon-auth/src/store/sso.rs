//! Single sign-on: logins in progress at an OpenID provider, and the identities linked to accounts.

use agon_db::{Row, RowExt, query};
use uuid::Uuid;

use super::Store;
use crate::error::Error;

/// A login in progress at an OpenID provider.
pub struct SsoState {
    pub provider: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub return_to: Option<String>,
}

impl Store {
    pub async fn put_sso_state(
        &self,
        state: &str,
        s: &SsoState,
        expires_at: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into sso_states (state, provider, pkce_verifier, nonce, return_to, expires_at, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
            (
                state,
                &s.provider,
                &s.pkce_verifier,
                &s.nonce,
                s.return_to.clone(),
                expires_at,
                now,
            ),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) an unexpired login state: each is used once.
    pub async fn take_sso_state(&self, state: &str, now: &str) -> Result<Option<SsoState>, Error> {
        let row = query(
            "delete from sso_states where state = $1 and expires_at > $2 returning provider, \
             pkce_verifier, nonce, return_to",
            (state, now),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| {
            Ok(SsoState {
                provider: r.try_get("provider")?,
                pkce_verifier: r.try_get("pkce_verifier")?,
                nonce: r.try_get("nonce")?,
                return_to: r.try_get("return_to")?,
            })
        })
        .transpose()
    }

    pub async fn sso_identity(&self, provider: &str, subject: &str) -> Result<Option<Uuid>, Error> {
        let row = query(
            "select user_id from sso_identities where provider = $1 and subject = $2",
            (provider, subject),
        )
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| Ok(r.id("user_id")?)).transpose()
    }

    pub async fn link_sso_identity(
        &self,
        provider: &str,
        subject: &str,
        user_id: Uuid,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into sso_identities (provider, subject, user_id, created_at) values ($1, $2, $3, $4) \
             on conflict (provider, subject) do nothing",
            (provider, subject, user_id.to_string(), now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
