//! Access-token verification and the extractors built on it.
//!
//! Every service verifies tokens itself (identity headers from clients are never trusted). Tokens are EdDSA JWTs
//! with header `typ: at+jwt` (RFC 9068); only EdDSA is accepted, so `alg: none`, HMAC-with-the-public-key and
//! other algorithm confusions fail before any key is used, the `jku`/`jwk`/`x5u` headers are never followed, and a
//! token with critical header extensions (`crit`) is refused, since none is understood.
//! Asymmetric verification costs tens of microseconds, more than a whole proxy hop, so verified tokens are cached
//! by their SHA-256 until they expire.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::{ErrorCode, error_response};

/// The `typ` header of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// A platform role, carried in the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Athlete,
    Trainer,
    Coach,
    Admin,
}

/// The claims of an access token: the contract between the auth service, which signs, and every verifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    /// The session this token belongs to; revocation works per session.
    pub sid: Uuid,
    pub jti: Uuid,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The public keys tokens may be signed with, by key id. The auth service fills it in-process; in distributed
/// mode the verifier also loads it from the auth service's JWKS.
#[derive(Clone, Default)]
pub struct KeySet(Arc<ArcSwap<HashMap<String, DecodingKey>>>);

impl KeySet {
    /// Replaces the whole set atomically with the keys of a JWKS document (EdDSA keys only; others are ignored).
    pub fn replace(&self, jwks: &JwkSet) {
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let is_ed = matches!(&jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(p)
                if p.curve == jsonwebtoken::jwk::EllipticCurve::Ed25519);
            if !is_ed {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, key);
            }
        }
        self.0.store(Arc::new(keys));
    }

    fn get(&self, kid: &str) -> Option<DecodingKey> {
        self.0.load().get(kid).cloned()
    }

    pub fn len(&self) -> usize {
        self.0.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sessions revoked before their tokens expire (logout, ban, password change, reuse of a refresh token). Read on
/// every request, written rarely: readers load an immutable map, writers replace it.
#[derive(Clone, Default)]
pub struct Revocations {
    revoked: Arc<ArcSwap<HashMap<Uuid, i64>>>,
    /// The auth service's revocation sequence already applied (distributed sync).
    cursor: Arc<std::sync::atomic::AtomicI64>,
}

/// One revoked session, as the auth service publishes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Revoked {
    pub seq: i64,
    #[sqlx(try_from = "String")]
    pub session_id: Uuid,
    /// Unix time after which every token of the session has expired anyway.
    pub until: i64,
}

impl Revocations {
    /// Marks sessions revoked; `until` is when their last token expires, after which the entry can go.
    pub fn revoke(&self, entries: impl IntoIterator<Item = (Uuid, i64)>) {
        let now = chrono::Utc::now().timestamp();
        let mut next: HashMap<Uuid, i64> = self
            .revoked
            .load()
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(k, v)| (*k, *v))
            .collect();
        next.extend(entries);
        self.revoked.store(Arc::new(next));
    }

    pub fn is_revoked(&self, session_id: &Uuid) -> bool {
        self.revoked.load().contains_key(session_id)
    }

    /// Applies a page from the auth service and advances the cursor.
    pub fn apply(&self, page: &[Revoked]) {
        if page.is_empty() {
            return;
        }
        self.revoke(page.iter().map(|r| (r.session_id, r.until)));
        let last = page.iter().map(|r| r.seq).max().unwrap_or(0);
        self.cursor
            .fetch_max(last, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn cursor(&self) -> i64 {
        self.cursor.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Verifies access tokens; cheap to clone and shared by every handler of a process.
#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: KeySet,
    revocations: Revocations,
    validation: Validation,
    cache: moka::sync::Cache<[u8; 32], Arc<AccessClaims>>,
    remote: Option<Remote>,
    /// Redis, where revocations are pushed to every process the moment they happen (`agon serve`).
    redis: std::sync::OnceLock<crate::pubsub::Channel>,
}

/// The auth service, for processes that do not hold its keys and revocations themselves.
struct Remote {
    /// Base URL of the auth service.
    base: String,
    last_fetch: Mutex<Option<Instant>>,
}

/// Why a request is not authenticated or not allowed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("this endpoint needs an access token")]
    Missing,
    #[error("the authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the access token is invalid")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the session of this access token has ended")]
    Revoked,
    #[error("this action needs the {0:?} role")]
    MissingRole(Role),
}

impl TokenVerifier {
    /// A verifier over `keys`; with `auth_url` (the auth service's base URL), unknown key ids make it (re)load the
    /// auth service's JWKS, and [`TokenVerifier::sync_forever`] follows its revocations.
    pub fn new(keys: KeySet, issuer: &str, audience: &str, auth_url: Option<String>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let cache = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(Duration::from_secs(3600))
            .build();
        let remote = auth_url.map(|base| Remote {
            base: base.trim_end_matches('/').to_owned(),
            last_fetch: Mutex::new(None),
        });
        Self {
            inner: Arc::new(Inner {
                keys,
                revocations: Revocations::default(),
                validation,
                cache,
                remote,
                redis: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Shares revocations through Redis `channel`: [`TokenVerifier::announce`] publishes there and
    /// [`TokenVerifier::sync_forever`] applies what any process publishes — milliseconds instead of the feed's
    /// polling interval, which stays as the durable catch-up.
    pub async fn connect_redis(&self, url: &str, channel: &str) -> anyhow::Result<()> {
        let channel = crate::pubsub::Channel::connect(url, channel).await?;
        let _ = self.inner.redis.set(channel);
        Ok(())
    }

    /// Marks sessions revoked in this process and, with Redis, in every other one at once.
    pub async fn announce(&self, entries: Vec<(Uuid, i64)>) {
        self.inner.revocations.revoke(entries.iter().copied());
        // Should the push fail, the feed still carries it, within its polling interval.
        if let Some(channel) = self.inner.redis.get() {
            channel.publish(&entries).await;
        }
    }

    /// Applies revocations pushed through Redis until the process stops, resubscribing after failures.
    async fn follow_redis(&self) {
        if let Some(channel) = self.inner.redis.get() {
            channel
                .follow(None, |entries: Vec<(Uuid, i64)>| {
                    self.inner.revocations.revoke(entries)
                })
                .await;
        }
    }

    pub fn keys(&self) -> &KeySet {
        &self.inner.keys
    }

    pub fn revocations(&self) -> &Revocations {
        &self.inner.revocations
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessClaims>, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.inner.cache.get(&digest) {
            // Cached until `exp`: a hit past it is verified again, which reports the expiry.
            if claims.exp > now {
                return self.unrevoked(claims);
            }
            self.inner.cache.invalidate(&digest);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        // No header extension is understood here, so a token that marks any as critical is refused (RFC 7515
        // §4.1.11).
        if header.alg != Algorithm::EdDSA
            || header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE)
            || header.crit.is_some()
        {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::Invalid)?;
        let key = match self.inner.keys.get(&kid) {
            Some(key) => key,
            None => {
                self.refresh_remote().await;
                self.inner.keys.get(&kid).ok_or(AuthError::Invalid)?
            }
        };
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key, &self.inner.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid,
            })?;
        let claims = Arc::new(data.claims);
        self.inner.cache.insert(digest, claims.clone());
        self.unrevoked(claims)
    }

    fn unrevoked(&self, claims: Arc<AccessClaims>) -> Result<Arc<AccessClaims>, AuthError> {
        if self.inner.revocations.is_revoked(&claims.sid) {
            Err(AuthError::Revoked)
        } else {
            Ok(claims)
        }
    }

    /// Follows revocations pushed through Redis (when connected) and, in processes other than the auth service,
    /// the auth service's revocation feed (every 250 ms) and key set (every 60 s). Runs until the process stops.
    pub async fn sync_forever(self) -> anyhow::Result<()> {
        tokio::join!(self.follow_redis(), self.follow_feed());
        Ok(())
    }

    async fn follow_feed(&self) {
        let Some(remote) = &self.inner.remote else {
            return;
        };
        let mut last_keys = Instant::now();
        loop {
            let url = format!(
                "{}/auth/revocations?after={}",
                remote.base,
                self.inner.revocations.cursor()
            );
            match crate::client::get_json::<Vec<Revoked>>(&url).await {
                Ok(page) => self.inner.revocations.apply(&page),
                Err(error) => {
                    tracing::debug!(error = format!("{error:#}"), "revocations not synced")
                }
            }
            if last_keys.elapsed() > Duration::from_secs(60) {
                last_keys = Instant::now();
                let _ = self.preload().await;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Loads the JWKS from the auth service, at most once every 10 s so a flood of forged key ids cannot turn
    /// into a flood of requests to the auth service.
    async fn refresh_remote(&self) {
        let Some(remote) = &self.inner.remote else {
            return;
        };
        let mut last = remote.last_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *last = Some(Instant::now());
        let url = format!("{}/.well-known/jwks.json", remote.base);
        match crate::client::get_json::<JwkSet>(&url).await {
            Ok(jwks) => self.inner.keys.replace(&jwks),
            Err(error) => tracing::warn!(%url, error = format!("{error:#}"), "cannot load JWKS"),
        }
    }

    /// Loads the remote JWKS now (at start-up), ignoring the throttle.
    pub async fn preload(&self) -> anyhow::Result<()> {
        if let Some(remote) = &self.inner.remote {
            let jwks = crate::client::get_json::<JwkSet>(&format!(
                "{}/.well-known/jwks.json",
                remote.base
            ))
            .await?;
            self.inner.keys.replace(&jwks);
            *remote.last_fetch.lock().await = Some(Instant::now());
        }
        Ok(())
    }
}

/// The caller, proven by a valid access token. As a handler argument it makes the endpoint require login.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub roles: Vec<Role>,
}

/// The caller if a token was sent: no `Authorization` header gives `None`, a bad token is still a 401.
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(AuthError::MissingRole(role))
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    #[tracing::instrument(level = "debug", skip_all)] // Never log the token.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(AuthError::Missing)?;
        authenticate(header, &TokenVerifier::from_ref(state)).await
    }
}

impl<S> FromRequestParts<S> for MaybeAuthUser
where
    TokenVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    #[tracing::instrument(level = "debug", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(header::AUTHORIZATION) {
            None => Ok(MaybeAuthUser(None)),
            Some(header) => authenticate(header, &TokenVerifier::from_ref(state))
                .await
                .map(|u| MaybeAuthUser(Some(u))),
        }
    }
}

/// The token of a `Bearer` authorization header.
pub fn bearer_token(header: &HeaderValue) -> Option<&str> {
    let value = header.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn authenticate(
    header: &HeaderValue,
    verifier: &TokenVerifier,
) -> Result<AuthUser, AuthError> {
    let token = bearer_token(header).ok_or(AuthError::Malformed)?;
    AuthUser::from_token(token, verifier).await
}

impl AuthUser {
    /// The caller behind a bare access token, for the places a header cannot carry it (a browser's WebSocket
    /// handshake sends it as a query parameter, RFC 6750 §2.3).
    pub async fn from_token(token: &str, verifier: &TokenVerifier) -> Result<Self, AuthError> {
        let claims = verifier.verify(token).await?;
        Ok(AuthUser {
            user_id: claims.sub,
            session_id: claims.sid,
            roles: claims.roles.clone(),
        })
    }
}

impl ErrorCode for AuthError {
    fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "unauthenticated",
            AuthError::Malformed | AuthError::Invalid => "invalid_token",
            AuthError::Expired => "token_expired",
            AuthError::Revoked => "session_revoked",
            AuthError::MissingRole(_) => "forbidden",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AuthError::MissingRole(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing_is_strict() {
        assert_eq!(
            bearer_token(&HeaderValue::from_static("Bearer abc")),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&HeaderValue::from_static("bearer abc")),
            Some("abc")
        );
        assert_eq!(bearer_token(&HeaderValue::from_static("Basic abc")), None);
        assert_eq!(bearer_token(&HeaderValue::from_static("Bearer ")), None);
        assert_eq!(bearer_token(&HeaderValue::from_static("abc")), None);
    }
}
