//! The signing keys: the newest signs, every unretired one verifies and is published.

use std::sync::Arc;

use agon_kit::auth::KeySet;
use jsonwebtoken::jwk::JwkSet;

use crate::{domain::SigningKey, store::Store};

#[derive(Clone)]
pub struct Keys {
    active: Arc<SigningKey>,
    jwks: Arc<JwkSet>,
}

impl Keys {
    /// Loads the keys, creating the first one on a fresh database, and publishes them into `published`.
    pub async fn load(store: &Store, published: &KeySet) -> anyhow::Result<Self> {
        let mut keys = store.signing_keys().await?;
        if keys.is_empty() {
            let key = SigningKey::generate()?;
            store
                .insert_signing_key(&key, &agon_bus::now_text())
                .await?;
            // Another replica may have created one at the same moment: read back what the database holds.
            keys = store.signing_keys().await?;
        }
        let jwks = Arc::new(JwkSet {
            keys: keys.iter().map(SigningKey::jwk).collect(),
        });
        published.replace(&jwks);
        let active = Arc::new(keys.swap_remove(0));
        Ok(Self { active, jwks })
    }

    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    pub fn jwks(&self) -> Arc<JwkSet> {
        self.jwks.clone()
    }
}
