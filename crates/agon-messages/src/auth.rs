//! Events produced by the auth service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new account exists; the users service creates its profile from this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    /// Absent for an account opened with a username alone. Events from before usernames always carry it;
    /// a consumer built before them dead-letters a username-only account's event (replayable once updated)
    /// rather than losing it.
    #[serde(default)]
    pub email: Option<String>,
    /// The login name, for an account opened with one (lowercase; letters, digits, `.`, `_`, `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    /// Trainer and coach accounts wait for an admin's approval.
    #[serde(default)]
    pub pending: bool,
    /// How the account came to be: `password` (self-registration), `sso` or `admin`.
    #[serde(default = "password")]
    pub method: String,
    pub registered_at: chrono::DateTime<chrono::Utc>,
    /// Profile fields given at sign-up, already checked against the limits below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<InitialProfile>,
}

/// What a sign-up may carry for the profile beyond the display name (a client that registers and fills the
/// profile in one call). The limits are the users service's own for these fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InitialProfile {
    pub bio: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// Both or neither.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl InitialProfile {
    pub const BIO_MAX_CHARS: usize = 2000;
    pub const PLACE_MAX_CHARS: usize = 100;
}

fn password() -> String {
    "password".into()
}

/// A session started: a login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedIn {
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// `password`, `mfa` (password then a second factor) or `sso`.
    pub method: String,
    pub user_agent: Option<String>,
    /// The account had sessions before, none from this user agent.
    pub new_device: bool,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl crate::Event for LoggedIn {
    const TOPIC: &'static str = "auth.logged_in.v1";
}

/// The account's password was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordChanged {
    pub user_id: Uuid,
    /// `change` (by the member), `reset` (through a mailed link) or `admin`.
    pub via: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl crate::Event for PasswordChanged {
    const TOPIC: &'static str = "auth.password_changed.v1";
}

impl crate::Event for UserRegistered {
    const TOPIC: &'static str = "auth.user_registered.v1";
}

/// A member asked to be verified by photo; the face service decides, from the photo that follows in
/// [`VerificationPhoto`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationRequested {
    pub request_id: Uuid,
    pub user_id: Uuid,
    pub content_type: String,
    pub bytes: u64,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

impl crate::Event for VerificationRequested {
    const TOPIC: &'static str = "auth.verification_requested.v1";
}

/// The photo of a pending verification request, for the face service alone: sent with the request and again
/// while it stays undecided (a face service that was down, or deployed after the request, still decides
/// it). Personal data: the event store keeps that it happened, not the photo ([`crate::PERSONAL_TOPICS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationPhoto {
    pub request_id: Uuid,
    pub user_id: Uuid,
    pub content_type: String,
    /// The image, base64 (standard alphabet, padded).
    pub photo: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}

impl crate::Event for VerificationPhoto {
    const TOPIC: &'static str = "auth.verification_photo.v1";
}
