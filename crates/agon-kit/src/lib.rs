//! The HTTP kit every Agon service is built with: mechanisms only, no domain.
//!
//! - [`error`]: RFC 9457 problem+json with stable codes ([`ErrorCode`], [`error_response`]).
//! - [`extract`]: `Json`, `Query`, `Path` whose rejections are problem+json.
//! - [`auth`]: token verification with a verified-token cache, `AuthUser` / `MaybeAuthUser`.
//! - [`observe`]: request ids, W3C trace context, metrics and 5xx logging as one middleware.
//! - [`forwarded`]: the client's address behind trusted proxies ([`ClientAddr`], [`TrustedProxies`]).
//! - [`page`]: cursor pagination with a hard maximum and typed, validated cursors.
//! - [`sealed`]: secrets at rest, sealed under configured keys with rotation ([`sealed::Keyring`]).
//! - [`feed`]: calendar feeds' keys (a secret in the URL, stored hashed) and iCalendar answers.
//! - [`text`]: the characters client text may hold (no controls, bidi overrides or invisible separators).
//! - [`service`]: the `Service` a crate builds and the `Deps` it is given; health, readiness, metrics, docs.
//! - [`server`], [`telemetry`], [`client`]: serving with draining, logging set-up, internal HTTP calls.
//!
//! It must not know any service: invariant 1 of ARCHITECTURE.md.

pub mod auth;
pub mod client;
pub mod error;
pub mod extract;
pub mod feed;
pub mod forwarded;
pub mod mail;
pub mod observe;
pub mod page;
pub mod pubsub;
pub mod sealed;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod text;

pub use auth::{AuthUser, MaybeAuthUser, Role, TokenVerifier};
pub use error::{ApiError, ErrorCode, FieldError, KitError, error_response};
pub use extract::{IdempotencyKey, Json, Path, Query};
pub use forwarded::{ClientAddr, TrustedProxies};
pub use mail::{Email, Mail, MailConfig};
pub use page::{CursorError, CursorKey, Page, PageParams};
pub use service::{Deps, ReadyCheck, Service, Skeleton, Task};

/// What the kit's macros name, so a service calling them needs no dependency of its own for it.
#[doc(hidden)]
pub mod __private {
    pub use anyhow;
    pub use axum;
    pub use sqlx;
}

/// Largest request body a service accepts (1 MiB); larger bodies get a 413 problem.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The issuer and audience of Agon access tokens.
pub const TOKEN_ISSUER: &str = "agon";
pub const TOKEN_AUDIENCE: &str = "agon";
