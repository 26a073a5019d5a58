//! Pure rules of the auth service: what a valid email and password are, how passwords are hashed, how tokens
//! are made. No I/O except the bounded hashing pool.

use std::sync::Arc;

use agon_kit::{FieldError, Role, auth::AccessClaims, text::Lines};
use agon_messages::auth::InitialProfile;
use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{
        Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{EncodingKey, Header, jwk};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

pub const PASSWORD_MIN_CHARS: usize = 8;
/// ASVS asks that at least 64 characters be allowed; the cap only bounds hashing work.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// A normalised email address (trimmed, lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = |message: &str| FieldError {
            field: "email".into(),
            message: message.into(),
        };
        if email.len() > 254 {
            return Err(invalid("must be at most 254 characters"));
        }
        agon_kit::text::check("email", &email, Lines::Single)?;
        let Some((local, domain)) = email.split_once('@') else {
            return Err(invalid("must be an email address"));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty()
            || local.len() > 64
            || local.chars().any(char::is_whitespace)
            || !domain_ok
        {
            return Err(invalid("must be an email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, compared without case (kept lowercase). It never
/// holds `@`, so one login field takes either a username or an email and cannot confuse them; and ASCII only,
/// so no two names look alike (`аdmin` with a Cyrillic `а` is refused, not a second `admin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim().to_lowercase();
        let invalid = |message: &str| FieldError {
            field: "username".into(),
            message: message.into(),
        };
        if name.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(invalid("must be at most 64 characters"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid(
                "may hold only ASCII letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const DISPLAY_NAME_MAX_CHARS: usize = 100;

/// A new account's checked login (an email, a username or both), display name and initial profile fields (its
/// password checked too).
pub struct Signup {
    pub email: Option<Email>,
    pub username: Option<Username>,
    pub display_name: Option<String>,
    pub profile: Option<InitialProfile>,
}

impl Signup {
    /// An account opened by email without profile fields (staff, the first administrator, a provider's login).
    pub fn named(email: Email, display_name: Option<String>) -> Self {
        Self {
            email: Some(email),
            username: None,
            display_name,
            profile: None,
        }
    }
}

/// Checks the profile fields a sign-up carries, by the users service's limits: text trimmed (blank is absent),
/// coordinates in range and both or neither.
pub fn initial_profile(given: InitialProfile, problems: &mut Vec<FieldError>) -> InitialProfile {
    let mut text = |field: &str, value: Option<String>, max: usize, lines: Lines| {
        let value = agon_kit::text::checked(field, value?, max, lines, problems);
        (!value.is_empty()).then_some(value)
    };
    let bio = text(
        "profile.bio",
        given.bio,
        InitialProfile::BIO_MAX_CHARS,
        Lines::Multi,
    );
    let place = InitialProfile::PLACE_MAX_CHARS;
    let city = text("profile.city", given.city, place, Lines::Single);
    let country = text("profile.country", given.country, place, Lines::Single);
    let (latitude, longitude) = (given.latitude, given.longitude);
    let mut range = |field: &str, value: Option<f64>, bound: f64| {
        if value.is_some_and(|v| !v.is_finite() || v.abs() > bound) {
            problems.push(FieldError {
                field: format!("profile.{field}"),
                message: format!("must be between -{bound} and {bound}"),
            });
        }
    };
    range("latitude", latitude, 90.0);
    range("longitude", longitude, 180.0);
    if latitude.is_some() != longitude.is_some() {
        problems.push(FieldError {
            field: "profile.latitude".into(),
            message: "give latitude and longitude together".into(),
        });
    }
    InitialProfile {
        bio,
        city,
        country,
        latitude,
        longitude,
    }
}

/// What a sign-up gives to log in with: an email, a username, or both.
pub struct Login<'a> {
    pub email: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// Checks what a new account is opened with, collecting every problem into `problems`.
pub fn signup(
    login: Login<'_>,
    password: &str,
    display_name: Option<String>,
    profile: Option<InitialProfile>,
    problems: &mut Vec<FieldError>,
) -> Option<Signup> {
    if login.email.is_none() && login.username.is_none() {
        problems.push(FieldError {
            field: "email".into(),
            message: "give an email, a username or both".into(),
        });
    }
    // `None` when given but invalid, `Some(None)` when not given.
    let email = login.email.map(Email::parse).transpose();
    let email = email.map_err(|e| problems.push(e)).ok();
    let username = login.username.map(Username::parse).transpose();
    let username = username.map_err(|e| problems.push(e)).ok();
    if let Err(e) = check_password(password) {
        problems.push(e);
    }
    let display_name = self::display_name(display_name)
        .map_err(|e| problems.push(e))
        .ok()
        .flatten();
    let profile = profile.map(|p| initial_profile(p, problems));
    Some(Signup {
        email: email?,
        username: username?,
        display_name,
        profile,
    })
}

/// A display name given at account creation, trimmed; `None` if absent or blank (the profile then starts from the
/// email's local part). Held to the same rules as a profile edit: a length and `agon_kit::text`.
pub fn display_name(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(name) = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(FieldError {
            field: "display_name".into(),
            message: format!("must be at most {DISPLAY_NAME_MAX_CHARS} characters"),
        });
    }
    agon_kit::text::check("display_name", &name, Lines::Single)?;
    Ok(Some(name))
}

/// Checks the password policy (ASVS 2.1): length only, no composition rules.
pub fn check_password(password: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    let invalid = |message: String| FieldError {
        field: "password".into(),
        message,
    };
    if chars < PASSWORD_MIN_CHARS {
        return Err(invalid(format!(
            "must be at least {PASSWORD_MIN_CHARS} characters"
        )));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(invalid(format!(
            "must be at most {PASSWORD_MAX_CHARS} characters"
        )));
    }
    if is_common(password) {
        return Err(invalid(
            "is one of the most common passwords; choose another".into(),
        ));
    }
    Ok(())
}

/// The 10,000 most used passwords, most used first: zxcvbn's list (MIT, `data/LICENSE-zxcvbn`), one per line.
/// ASVS 6.2.4 asks for at least the top 3,000.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Characters written for letters (`P@ssw0rd`) and the letters each may stand for: zxcvbn's l33t table.
const L33T: [(char, &str); 20] = [
    ('4', "a"),
    ('@', "a"),
    ('8', "b"),
    ('(', "c"),
    ('{', "c"),
    ('[', "c"),
    ('<', "c"),
    ('3', "e"),
    ('6', "g"),
    ('9', "g"),
    ('1', "il"),
    ('!', "i"),
    ('|', "il"),
    ('7', "lt"),
    ('0', "o"),
    ('$', "s"),
    ('5', "s"),
    ('+', "t"),
    ('%', "x"),
    ('2', "z"),
];

/// Most readings of one password tried: a password of many l33t characters is long and unusual anyway.
const MAX_READINGS: usize = 512;

/// True when the whole password, without case and with its l33t characters read as letters, is one of the most
/// used ones. A list check, not a strength score: long unusual passwords pass whatever their shape. The list is
/// a set of slices of the embedded text, built at the first check (about 0.5 MB).
pub fn is_common(password: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| COMMON_PASSWORDS.lines().collect());
    readings(&password.to_lowercase())
        .iter()
        .any(|reading| list.contains(reading.as_str()))
}

/// Every way to read `text` with each l33t character as itself or as a letter it stands for.
fn readings(text: &str) -> Vec<String> {
    let mut out = vec![String::with_capacity(text.len())];
    for c in text.chars() {
        let letters = L33T
            .iter()
            .find(|(l33t, _)| *l33t == c)
            .map_or("", |(_, l)| *l);
        if letters.is_empty() || out.len() * (letters.len() + 1) > MAX_READINGS {
            out.iter_mut().for_each(|reading| reading.push(c));
            continue;
        }
        out = out
            .into_iter()
            .flat_map(|reading| {
                std::iter::once(c)
                    .chain(letters.chars())
                    .map(move |read_as| {
                        let mut next = reading.clone();
                        next.push(read_as);
                        next
                    })
            })
            .collect();
    }
    out
}

/// The state of an account as the auth service enforces it (the users service decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Pending,
    Banned,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Pending => "pending",
            AccountStatus::Banned => "banned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Pending, Self::Banned]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl TryFrom<String> for AccountStatus {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| format!("unknown account status {text:?}"))
    }
}

/// Argon2id hashing on the blocking pool, at most `permits` at once.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the account does not exist so that the answer takes as long
    /// either way (no account enumeration by timing).
    decoy: Arc<String>,
}

impl Hasher {
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2)
        } else {
            concurrency
        };
        let decoy = decoy(&params)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            decoy: Arc::new(decoy),
        })
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no account.
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.as_ref().clone());
        let ok = tokio::task::spawn_blocking(move || {
            let parsed =
                PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            Ok::<_, anyhow::Error>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await??;
        Ok(ok && exists)
    }
}

impl Hasher {
    /// True when `hash` was made with other parameters than the configured ones (it is then redone at login).
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        let value = |name: &str| parsed.params.get_decimal(name);
        parsed.algorithm.as_str() != "argon2id"
            || value("m") != Some(self.params.m_cost())
            || value("t") != Some(self.params.t_cost())
            || value("p") != Some(self.params.p_cost())
    }
}

/// A hash no password matches that costs as much to verify as a real one with `params`: a random salt and a random
/// output. Nothing is hashed to make it, so starting costs no hashing time and no hashing memory.
fn decoy(params: &Params) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut output = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut output);
    let decoy = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: params
            .try_into()
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(|e| anyhow::anyhow!("argon2: {e}"))?),
    };
    Ok(decoy.to_string())
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

/// 256 random bits, base64url: refresh tokens and other bearer secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How secrets are stored: SHA-256, hex. They carry 256 bits of entropy, so a fast hash is enough.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An Ed25519 signing key.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub private_pkcs8: String,
    pub public_x: String,
}

impl SigningKey {
    pub fn generate() -> anyhow::Result<Self> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().context("encoding the signing key")?;
        let public_x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        Ok(Self {
            kid: Uuid::now_v7().simple().to_string(),
            private_pkcs8: URL_SAFE_NO_PAD.encode(der.as_bytes()),
            public_x,
        })
    }

    pub fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        let der = URL_SAFE_NO_PAD.decode(&self.private_pkcs8)?;
        let mut header = Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some(agon_kit::auth::ACCESS_TOKEN_TYPE.to_owned());
        Ok(jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_ed_der(&der),
        )?)
    }

    pub fn jwk(&self) -> jwk::Jwk {
        jwk::Jwk {
            common: jwk::CommonParameters {
                public_key_use: Some(jwk::PublicKeyUse::Signature),
                key_algorithm: Some(jwk::KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..Default::default()
            },
            algorithm: jwk::AlgorithmParameters::OctetKeyPair(jwk::OctetKeyPairParameters {
                key_type: jwk::OctetKeyPairType::OctetKeyPair,
                curve: jwk::EllipticCurve::Ed25519,
                x: self.public_x.clone(),
            }),
        }
    }
}

pub fn parse_roles(text: &str) -> Vec<Role> {
    text.split(',')
        .filter_map(|r| serde_json::from_value(serde_json::Value::String(r.to_owned())).ok())
        .collect()
}

pub fn format_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .filter_map(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_never_look_like_an_email() {
        assert_eq!(Username::parse(" Ana.B-1_ ").unwrap().as_str(), "ana.b-1_");
        for bad in [
            "zoë",
            "\u{430}dmin",
            "",
            "  ",
            "ana@club.org",
            "a b",
            "ana\u{7}",
            "ana/b",
            &"x".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_signup_needs_an_email_or_a_username() {
        let login = |email, username| Login { email, username };
        let mut problems = Vec::new();
        assert!(
            signup(
                login(None, None),
                "a long passphrase",
                None,
                None,
                &mut problems
            )
            .is_some()
        );
        assert_eq!(problems.len(), 1, "neither is a problem");
        let mut problems = Vec::new();
        let named = signup(
            login(None, Some("ana")),
            "a long passphrase",
            None,
            None,
            &mut problems,
        );
        assert!(problems.is_empty());
        assert_eq!(named.and_then(|s| s.username).unwrap().as_str(), "ana");
        let mut problems = Vec::new();
        let bad = signup(
            login(Some("nope"), Some("ana")),
            "a long passphrase",
            None,
            None,
            &mut problems,
        );
        assert!(bad.is_none());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ana@Club.ORG ").unwrap().as_str(),
            "ana@club.org"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@club.org",
            "ana@club",
            "a na@club.org",
            "ana@.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_common_passwords_are_refused() {
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "P@ssw0rd",
            "Password1",
            "sunshine",
            "football",
        ] {
            assert!(check_password(common).is_err(), "{common}");
        }
        for fine in [
            "correct horse battery",
            "my club runs on tuesdays",
            "drowssap-but-longer-7",
        ] {
            assert!(check_password(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn l33t_is_read_as_letters_within_a_bound() {
        for common in ["P@$$w0rd", "1etme1n", "$UP3RMAN", "dr@g0n"] {
            assert!(is_common(common), "{common}");
        }
        assert!(!is_common("p@ssw0rd-of-mine"));
        assert_eq!(readings("a1").len(), 3, "1 reads as itself, i or l");
        let many = "1".repeat(40);
        assert!(readings(&many).len() <= MAX_READINGS);
        assert!(!is_common(&many));
    }

    #[test]
    fn password_policy_is_length_only() {
        assert!(check_password("short").is_err());
        assert!(check_password("all lowercase words").is_ok());
        assert!(check_password(&"x".repeat(64)).is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn roles_round_trip() {
        let roles = vec![Role::Athlete, Role::Admin];
        assert_eq!(parse_roles(&format_roles(&roles)), roles);
    }

    #[tokio::test]
    async fn hashes_verify_and_decoy_never_matches() {
        let hasher = Hasher::new(19 * 1024, 2, 1).unwrap();
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // The decoy costs what a real hash costs to verify: the same algorithm and parameters.
        assert!(hasher.decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(PasswordHash::new(&hasher.decoy).is_ok());
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }
}
