//! Events produced by the targets service.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An athlete set a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCreated {
    pub target_id: Uuid,
    pub owner_id: Uuid,
    pub metric: String,
    pub goal: f64,
    pub at: DateTime<Utc>,
}

/// A target reached its goal: announced once per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetCompleted {
    pub target_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub metric: String,
    pub goal: f64,
    pub at: DateTime<Utc>,
}

/// The app reported activity (counted once, however often it was retried).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityReported {
    pub report_id: Uuid,
    pub owner_id: Uuid,
    pub metric: String,
    pub amount: f64,
    pub at: DateTime<Utc>,
}

impl crate::Event for TargetCreated {
    const TOPIC: &'static str = "targets.target_created.v1";
}
impl crate::Event for TargetCompleted {
    const TOPIC: &'static str = "targets.target_completed.v1";
}
impl crate::Event for ActivityReported {
    const TOPIC: &'static str = "targets.activity_reported.v1";
}
