//! The signing keys. Every unretired key is published (JWKS and this process's verifier); the newest key whose
//! `activates_at` has passed signs. Rotation publishes a new key at once but lets it sign only after
//! `key_publish_delay_secs`, longer than verifiers in other processes take to reload the JWKS, so no verifier
//! ever meets a token signed by a key it has not seen. A replaced key keeps verifying until every token it
//! signed has expired, and is then retired.

use std::{sync::Arc, time::Duration};

use agon_db::time_text;
use agon_kit::auth::KeySet;
use arc_swap::ArcSwap;
use chrono::Utc;
use jsonwebtoken::jwk::JwkSet;

use crate::{domain::SigningKey, store::Store};

#[derive(Clone)]
pub struct Keys {
    store: Store,
    published: KeySet,
    current: Arc<ArcSwap<Current>>,
}

struct Current {
    /// Unretired keys with when each signs from, newest first.
    keys: Vec<(Arc<SigningKey>, String)>,
    jwks: Arc<JwkSet>,
}

impl Keys {
    /// Loads the keys, creating the first one on a fresh database, and publishes them into `published`.
    pub async fn load(store: &Store, published: &KeySet) -> anyhow::Result<Self> {
        if store.signing_keys().await?.is_empty() {
            let now = time_text(Utc::now());
            store
                .insert_signing_key(&SigningKey::generate()?, &now, &now)
                .await?;
        }
        let keys = Self {
            store: store.clone(),
            published: published.clone(),
            current: Arc::new(ArcSwap::from_pointee(Current {
                keys: Vec::new(),
                jwks: Arc::new(JwkSet { keys: Vec::new() }),
            })),
        };
        keys.refresh().await?;
        Ok(keys)
    }

    /// Re-reads the keys: picks the signing key, publishes the set.
    pub async fn refresh(&self) -> anyhow::Result<()> {
        let keys = self.store.signing_keys().await?;
        if keys.is_empty() {
            anyhow::bail!("no signing key");
        }
        let jwks = Arc::new(JwkSet {
            keys: keys.iter().map(|(k, _)| k.jwk()).collect(),
        });
        self.published.replace(&jwks);
        let keys = keys.into_iter().map(|(k, at)| (Arc::new(k), at)).collect();
        self.current.store(Arc::new(Current { keys, jwks }));
        Ok(())
    }

    /// The key that signs now: the newest whose activation time has passed. (Two replicas creating the first
    /// key at once both end up with the same choice, since all sort the same way.)
    pub fn active(&self) -> anyhow::Result<Arc<SigningKey>> {
        let current = self.current.load();
        let now = time_text(Utc::now());
        current
            .keys
            .iter()
            .find(|(_, from)| from.as_str() <= now.as_str())
            .or_else(|| current.keys.last())
            .map(|(k, _)| k.clone())
            .ok_or_else(|| anyhow::anyhow!("no signing key loaded"))
    }

    pub fn jwks(&self) -> Arc<JwkSet> {
        self.current.load().jwks.clone()
    }

    /// Adds a key that is published now and signs after `publish_delay`; returns its id.
    pub async fn rotate(&self, publish_delay: chrono::Duration) -> anyhow::Result<String> {
        let key = SigningKey::generate()?;
        let now = Utc::now();
        self.store
            .insert_signing_key(&key, &time_text(now), &time_text(now + publish_delay))
            .await?;
        self.refresh().await?;
        Ok(key.kid)
    }

    /// Keeps the keys current and retires replaced ones, forever.
    pub async fn maintain(self, token_ttl_secs: i64) -> anyhow::Result<()> {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if let Err(error) = self.retire(token_ttl_secs).await.and(self.refresh().await) {
                tracing::warn!(error = format!("{error:#}"), "signing keys not refreshed");
            }
        }
    }

    /// Retires keys replaced longer ago than a token lives (plus the verifiers' leeway).
    async fn retire(&self, token_ttl_secs: i64) -> anyhow::Result<()> {
        let active = self.active()?;
        let keys = self.store.signing_keys().await?;
        let Some((_, active_since)) = keys.iter().find(|(k, _)| k.kid == active.kid) else {
            return Ok(());
        };
        let active_since = agon_db::parse_time(active_since)?;
        // Tokens signed by an older key were issued before `active_since`: once a token's lifetime has passed
        // since then, none of them is valid any more.
        if Utc::now() - active_since > chrono::Duration::seconds(token_ttl_secs + 60) {
            let retired = self
                .store
                .retire_keys_before(
                    &active.kid,
                    &time_text(active_since),
                    &time_text(Utc::now()),
                )
                .await?;
            if retired > 0 {
                tracing::info!(retired, "signing keys retired");
            }
        }
        Ok(())
    }
}
