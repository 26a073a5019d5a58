//! The face service's decisions on photo verification.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A verification request decided: `verified` when the photo shows the member's reference face, `rejected`
/// with a `reason` (`no_face`, `several_faces`, `not_an_image`, `different_face`) otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationDecided {
    pub request_id: Uuid,
    pub user_id: Uuid,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// The distance between the photo's face and the reference (below the threshold: the same person).
    #[serde(default)]
    pub distance: Option<f32>,
    pub decided_at: chrono::DateTime<chrono::Utc>,
}

impl crate::Event for VerificationDecided {
    const TOPIC: &'static str = "faces.verification_decided.v1";
}
