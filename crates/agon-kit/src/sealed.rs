//! Secrets at rest: values a service must keep but never store readable (private signing keys, TOTP secrets)
//! are sealed with ChaCha20-Poly1305 under a key from configuration, or from a key file beside `agon up`'s data.
//!
//! A sealed value reads `s1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id (the first 8 bytes of
//! the key's SHA-256, in hex) names the key that sealed it, so rotation is a list: the first key seals, every key
//! opens, and [`Keyring::is_current`] tells a caller which stored values to seal again under the first key. The
//! caller's `context` (table and row) is bound in as associated data: a sealed value copied to another row does
//! not open there.

use std::{io::Write, path::Path, sync::Arc};

use anyhow::Context as _;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use ring::{
    aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const PREFIX: &str = "s1:";
const KEY_LEN: usize = 32;

/// The keys that seal and open secrets at rest; the first one seals.
#[derive(Clone)]
pub struct Keyring {
    keys: Arc<[(String, LessSafeKey)]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

/// What a stored value turned out to be.
pub struct Opened {
    pub value: Vec<u8>,
    /// Stored in clear (written before sealing existed) or sealed by a key other than the first: seal it again.
    pub stale: bool,
}

impl Keyring {
    /// Keys as base64 (standard or URL-safe) of 32 random bytes, each as `agon secret-key` prints one.
    pub fn new(keys: &[SecretString]) -> anyhow::Result<Self> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let text = key.expose_secret().trim();
                let bytes = STANDARD
                    .decode(text)
                    .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                    .ok()
                    .filter(|b| b.len() == KEY_LEN)
                    .with_context(|| format!("secret key {i} is not base64 of {KEY_LEN} bytes"))?;
                let id = hex::encode(&Sha256::digest(&bytes)[..8]);
                let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
                    .map_err(|_| anyhow::anyhow!("secret key {i} is unusable"))?;
                Ok((id, LessSafeKey::new(key)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { keys: keys.into() })
    }

    /// A keyring that seals nothing: for processes that keep no secrets.
    pub fn empty() -> Self {
        Self { keys: Arc::new([]) }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A new key, base64 of 32 random bytes.
    pub fn generate_key() -> anyhow::Result<String> {
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("no randomness for a secret key"))?;
        Ok(STANDARD.encode(bytes))
    }

    /// The key in `path`, created (mode 0600, with a new key) when the file does not exist yet. A file others
    /// can read is refused: the key would be no secret.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let key = Self::generate_key()?;
            let mut file = private_file(path)
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            writeln!(file, "{key}")?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created the key that seals secrets at rest");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "{} is readable by others (mode {:o}); chmod 600 it",
                    path.display(),
                    mode & 0o777
                );
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        Self::new(&[SecretString::from(text)]).with_context(|| format!("in {}", path.display()))
    }

    /// Seals `value` for the row `context` names, under the first key.
    pub fn seal(&self, value: &[u8], context: &str) -> anyhow::Result<String> {
        let (id, key) = self
            .keys
            .first()
            .context("no secret key configured to seal secrets at rest (secret_keys)")?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut sealed = value.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.append(&mut sealed);
        Ok(format!("{PREFIX}{id}:{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a stored value. A value without the sealed prefix was stored in clear and is returned as it is,
    /// marked stale so the caller seals it.
    pub fn open(&self, stored: &str, context: &str) -> anyhow::Result<Opened> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(Opened {
                value: stored.as_bytes().to_vec(),
                stale: true,
            });
        };
        let (id, data) = rest.split_once(':').context("malformed sealed value")?;
        let position = self
            .keys
            .iter()
            .position(|(k, _)| k == id)
            .with_context(|| format!("sealed by key {id}, which is not in secret_keys"))?;
        let mut data = URL_SAFE_NO_PAD
            .decode(data)
            .ok()
            .filter(|d| d.len() > NONCE_LEN)
            .context("malformed sealed value")?;
        let nonce = Nonce::try_assume_unique_for_key(&data[..NONCE_LEN])
            .map_err(|_| anyhow::anyhow!("malformed sealed value"))?;
        let value = self.keys[position]
            .1
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data[NONCE_LEN..])
            .map_err(|_| anyhow::anyhow!("a sealed value for {context} does not open"))?
            .to_vec();
        Ok(Opened {
            value,
            stale: position != 0,
        })
    }

    /// The start of every value the first key seals (`s1:<key id>:`), for finding the others in SQL.
    pub fn current_prefix(&self) -> Option<String> {
        self.keys.first().map(|(id, _)| format!("{PREFIX}{id}:"))
    }

    /// True when `stored` is sealed by the first key (nothing to redo).
    pub fn is_current(&self, stored: &str) -> bool {
        match (stored.strip_prefix(PREFIX), self.keys.first()) {
            (Some(rest), Some((id, _))) => rest.split_once(':').is_some_and(|(k, _)| k == id),
            _ => false,
        }
    }
}

/// Creates `path` for writing, readable by its owner only whatever the umask (fails if it exists).
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&str]) -> Keyring {
        let keys: Vec<SecretString> = keys.iter().map(|k| SecretString::from(*k)).collect();
        Keyring::new(&keys).unwrap()
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let (a, b) = (
            Keyring::generate_key().unwrap(),
            Keyring::generate_key().unwrap(),
        );
        let old = ring(&[&a]);
        let sealed = old.seal(b"the private key", "signing_keys:k1").unwrap();
        assert!(sealed.starts_with("s1:"));
        assert!(!sealed.contains("private"));
        assert_eq!(
            old.open(&sealed, "signing_keys:k1").unwrap().value,
            b"the private key"
        );
        assert!(
            old.open(&sealed, "signing_keys:k2").is_err(),
            "moved to another row"
        );
        assert!(ring(&[&b]).open(&sealed, "signing_keys:k1").is_err());
        // Rotation: the new key seals, the old one still opens and marks the value stale.
        let rotated = ring(&[&b, &a]);
        let opened = rotated.open(&sealed, "signing_keys:k1").unwrap();
        assert!(opened.stale && !rotated.is_current(&sealed));
        let resealed = rotated.seal(&opened.value, "signing_keys:k1").unwrap();
        assert!(rotated.is_current(&resealed));
        assert!(!rotated.open(&resealed, "signing_keys:k1").unwrap().stale);
        // Tampering is detected.
        let mut tampered = resealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(rotated.open(&tampered, "signing_keys:k1").is_err());
    }

    #[test]
    fn clear_values_are_read_and_marked_stale() {
        let keys = ring(&[&Keyring::generate_key().unwrap()]);
        let opened = keys.open("JBSWY3DPEHPK3PXP", "mfa_totp:u").unwrap();
        assert_eq!(opened.value, b"JBSWY3DPEHPK3PXP");
        assert!(opened.stale);
        assert!(Keyring::empty().seal(b"x", "c").is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        for bad in ["", "not base64!", "c2hvcnQ="] {
            assert!(Keyring::new(&[SecretString::from(bad)]).is_err(), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_created_private_and_refused_when_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = Keyring::from_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = first.seal(b"x", "c").unwrap();
        assert_eq!(
            Keyring::from_file(&path)
                .unwrap()
                .open(&sealed, "c")
                .unwrap()
                .value,
            b"x",
            "the same key on the next start"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Keyring::from_file(&path).is_err());
    }
}
