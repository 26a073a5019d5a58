//! Events produced by the users service, the authority on account state: approval, bans, roles, deletion.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An admin approved a pending (trainer or coach) account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserApproved {
    pub user_id: Uuid,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// An admin banned an account: it can no longer log in, and its sessions end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBanned {
    pub user_id: Uuid,
    pub by: Uuid,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// An admin lifted a ban.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserUnbanned {
    pub user_id: Uuid,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// An admin changed an account's roles; its sessions end so no token carries the old ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolesChanged {
    pub user_id: Uuid,
    pub by: Uuid,
    pub roles: Vec<String>,
    pub at: DateTime<Utc>,
}

/// An account was deleted (by its owner or an admin): every service removes or anonymises its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDeleted {
    pub user_id: Uuid,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// A member started following another (only a new follow is announced).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFollowed {
    pub follower_id: Uuid,
    pub follower_name: String,
    pub followee_id: Uuid,
    pub at: DateTime<Utc>,
}

/// A push token now belongs to `user_id` (taken over from any previous owner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRegistered {
    pub user_id: Uuid,
    pub token: String,
    pub platform: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRemoved {
    pub user_id: Uuid,
    pub token: String,
    pub at: DateTime<Utc>,
}

impl crate::Event for UserFollowed {
    const TOPIC: &'static str = "users.user_followed.v1";
}
impl crate::Event for DeviceRegistered {
    const TOPIC: &'static str = "users.device_registered.v1";
}
impl crate::Event for DeviceRemoved {
    const TOPIC: &'static str = "users.device_removed.v1";
}
impl crate::Event for UserApproved {
    const TOPIC: &'static str = "users.user_approved.v1";
}
impl crate::Event for UserBanned {
    const TOPIC: &'static str = "users.user_banned.v1";
}
impl crate::Event for UserUnbanned {
    const TOPIC: &'static str = "users.user_unbanned.v1";
}
impl crate::Event for RolesChanged {
    const TOPIC: &'static str = "users.roles_changed.v1";
}
impl crate::Event for UserDeleted {
    const TOPIC: &'static str = "users.user_deleted.v1";
}
