//! Secrets at rest, as `agon` leaves them on disk: a private data directory and database files whatever the
//! umask, signing keys sealed under `secret_keys` (or the key file), and a rotation that seals them again.

use std::os::unix::fs::PermissionsExt;

use agon_db::{Databases, Row};
use agon_kit::sealed::Keyring;
use secrecy::SecretString;

use crate::agon;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `agon migrate` on `data`, with `keys` (or the key file when `None`); returns its stderr on failure.
fn migrate(data: &str, keys: Option<&str>) -> Result<(), String> {
    let envs: Vec<(&str, &str)> = keys.map(|k| ("AGON_SECRET_KEYS", k)).into_iter().collect();
    let output = agon(&["migrate", "--data-dir", data], &envs)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

async fn stored_signing_key(data: &str) -> (String, String) {
    let db = Databases::SqliteDir(data.into())
        .open("auth")
        .await
        .unwrap();
    let row = sqlx::query("select kid, private_pkcs8 from signing_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    (
        row.try_get("kid").unwrap(),
        row.try_get("private_pkcs8").unwrap(),
    )
}

fn keyring(keys: &[&str]) -> Keyring {
    let keys: Vec<SecretString> = keys.iter().map(|k| SecretString::from(*k)).collect();
    Keyring::new(&keys).unwrap()
}

#[test]
fn the_data_directory_and_its_files_are_private_and_the_key_file_seals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A permissive umask, as on many desktops: nothing agon writes may follow it.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_str = data.to_str().unwrap();
    migrate(data_str, None).unwrap();
    assert_eq!(mode(&data), 0o700, "data directory");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(data.join("auth.db").exists() && data.join("secret.key").exists());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (kid, stored) = runtime.block_on(stored_signing_key(data_str));
    assert!(stored.starts_with("s1:"), "sealed, not clear: {stored:.12}");
    let file_key = Keyring::from_file(&data.join("secret.key")).unwrap();
    assert!(
        file_key
            .open(&stored, &format!("signing_keys:{kid}"))
            .is_ok()
    );
    // A key file others can read is refused, naming the fix.
    std::fs::set_permissions(
        data.join("secret.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let refused = migrate(data_str, None).unwrap_err();
    assert!(refused.contains("chmod 600"), "{refused}");
}

#[test]
fn a_rotated_key_seals_again_and_a_missing_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (old, new) = (
        Keyring::generate_key().unwrap(),
        Keyring::generate_key().unwrap(),
    );
    migrate(data, Some(&old)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (kid, sealed_old) = runtime.block_on(stored_signing_key(data));
    let context = format!("signing_keys:{kid}");
    let clear = keyring(&[&old]).open(&sealed_old, &context).unwrap().value;

    // The new key first, the old one still listed: every secret is sealed again under the new key.
    migrate(data, Some(&format!("{new},{old}"))).unwrap();
    let (_, sealed_new) = runtime.block_on(stored_signing_key(data));
    assert!(keyring(&[&new]).is_current(&sealed_new));
    assert_eq!(
        keyring(&[&new]).open(&sealed_new, &context).unwrap().value,
        clear
    );
    // Once resealed, the old key can go; a key that sealed nothing here is refused with the reason.
    migrate(data, Some(&new)).unwrap();
    let refused = migrate(data, Some(&old)).unwrap_err();
    assert!(refused.contains("not in secret_keys"), "{refused}");

    // A secret stored in clear by an earlier version is sealed at the next start.
    runtime.block_on(async {
        let db = Databases::SqliteDir(data.into())
            .open("auth")
            .await
            .unwrap();
        sqlx::query("update signing_keys set private_pkcs8 = $1")
            .bind(String::from_utf8(clear.clone()).unwrap())
            .execute(db.pool())
            .await
            .unwrap();
    });
    migrate(data, Some(&new)).unwrap();
    let (_, resealed) = runtime.block_on(stored_signing_key(data));
    assert!(keyring(&[&new]).is_current(&resealed));
}
