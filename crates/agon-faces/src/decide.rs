//! Verification decisions. A request's photo arrives from the auth service (`auth.verification_photo.v1`); its
//! one face is compared with the member's reference face: closer than the threshold is `verified`, farther is
//! `rejected` (`different_face`), a photo with no face or several is `rejected` with that reason. A member with
//! no reference either enrols with this photo (where `faces.enrol_first_photo` allows) or waits until staff set
//! a reference, which decides every waiting request at once. Each decision goes out as
//! `faces.verification_decided.v1`, in the transaction that records it; a photo sent again is answered with the
//! decision already taken.

use agon_bus::{Consume, Envelope};
use agon_db::{Tx, now_text, time_text};
use agon_messages::{auth::VerificationPhoto, faces::VerificationDecided};
use base64::Engine as _;
use chrono::Utc;
use uuid::Uuid;

use crate::{
    SERVICE, State,
    model::{Refusal, Vector, distance},
    store::{Decision, Store, Verification, parse_vector},
};

/// What a photo leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    Decided(Decision),
    /// Verified, and its face becomes the member's reference.
    Enrol,
    /// No reference to compare with: the request waits for one.
    Wait,
}

/// The rule, pure: the photo's face (or why it has none) against the reference.
pub fn judge(
    threshold: f32,
    photo: Result<&[f32], &Refusal>,
    reference: Option<&[f32]>,
    enrol_first_photo: bool,
) -> Judgement {
    match (photo, reference) {
        (Err(refusal), _) => Judgement::Decided(Decision {
            status: "rejected",
            reason: Some(refusal.code()),
            distance: None,
        }),
        (Ok(face), Some(reference)) => Judgement::Decided(compare(threshold, face, reference)),
        (Ok(_), None) if enrol_first_photo => Judgement::Enrol,
        (Ok(_), None) => Judgement::Wait,
    }
}

pub fn compare(threshold: f32, face: &[f32], reference: &[f32]) -> Decision {
    let d = distance(face, reference);
    Decision {
        status: if d < threshold {
            "verified"
        } else {
            "rejected"
        },
        reason: (d >= threshold).then_some("different_face"),
        distance: Some(d),
    }
}

/// Publishes a decision in the caller's transaction.
pub async fn announce(
    tx: &mut Tx,
    id: Uuid,
    user_id: Uuid,
    decision: &Decision,
) -> anyhow::Result<()> {
    let event = VerificationDecided {
        request_id: id,
        user_id,
        status: decision.status.to_owned(),
        reason: decision.reason.map(str::to_owned),
        distance: decision.distance,
        decided_at: Utc::now(),
    };
    agon_bus::enqueue(tx, SERVICE, &event).await?;
    Ok(())
}

impl Consume<VerificationPhoto> for State {
    async fn consume(
        &self,
        tx: &mut Tx,
        photo: VerificationPhoto,
        _: &Envelope,
    ) -> anyhow::Result<()> {
        if let Some(known) = Store::verification_in(tx, photo.request_id).await? {
            return again(tx, known).await;
        }
        let described = match base64::engine::general_purpose::STANDARD.decode(&photo.photo) {
            Ok(bytes) => self.engine.describe(bytes).await?,
            Err(_) => Err(Refusal::NotAnImage),
        };
        let face: Result<Vector, Refusal> = described.map(|d| d.vector);
        let reference = match Store::reference(tx, photo.user_id).await? {
            Some(r) => Some(parse_vector(&r.vector)?),
            None => None,
        };
        let judgement = judge(
            self.config.threshold,
            face.as_deref(),
            reference.as_deref(),
            self.config.enrol_first_photo,
        );
        let now = now_text();
        let requested_at = time_text(photo.requested_at);
        let (id, user) = (photo.request_id, photo.user_id);
        match judgement {
            Judgement::Decided(decision) => {
                Store::insert_verification(tx, id, user, &decision, None, &requested_at, &now)
                    .await?;
                announce(tx, id, user, &decision).await?;
            }
            Judgement::Enrol => {
                let vector = face.as_deref().unwrap_or_default();
                Store::set_reference(tx, user, vector, "first_photo", Some(id), None, &now).await?;
                let decision = Decision {
                    status: "verified",
                    reason: None,
                    distance: None,
                };
                Store::insert_verification(tx, id, user, &decision, None, &requested_at, &now)
                    .await?;
                announce(tx, id, user, &decision).await?;
            }
            Judgement::Wait => {
                let waiting = Decision {
                    status: "pending",
                    reason: Some("awaiting_reference"),
                    distance: None,
                };
                let vector = face.as_deref().ok();
                Store::insert_verification(tx, id, user, &waiting, vector, &requested_at, &now)
                    .await?;
                tracing::info!(request = %id, user = %user, "verification waits for a reference face");
            }
        }
        Ok(())
    }
}

/// A photo seen before: its decision again (the auth service asks while it has not heard one), or nothing while
/// it waits for a reference.
async fn again(tx: &mut Tx, known: Verification) -> anyhow::Result<()> {
    if known.status == "pending" {
        return Ok(());
    }
    let decision = Decision {
        status: if known.status == "verified" {
            "verified"
        } else {
            "rejected"
        },
        reason: known.reason.as_deref().map(static_reason),
        distance: known.distance.map(|d| d as f32),
    };
    announce(tx, known.id, known.user_id, &decision).await
}

fn static_reason(reason: &str) -> &'static str {
    match reason {
        "no_face" => "no_face",
        "several_faces" => "several_faces",
        "not_an_image" => "not_an_image",
        _ => "different_face",
    }
}

/// Decides a member's waiting requests against their new reference, in the caller's transaction; how many.
pub async fn decide_waiting(
    tx: &mut Tx,
    threshold: f32,
    user_id: Uuid,
    reference: &[f32],
) -> anyhow::Result<usize> {
    let now = now_text();
    let mut decided = 0;
    for (id, vector, _) in Store::waiting(tx, user_id).await? {
        let decision = compare(threshold, &parse_vector(&vector)?, reference);
        if Store::decide(tx, id, &decision, &now).await? {
            announce(tx, id, user_id, &decision).await?;
            decided += 1;
        }
    }
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32) -> Vec<f32> {
        let mut v = vec![0.0; 128];
        v[0] = x;
        v
    }

    #[test]
    fn a_face_closer_than_the_threshold_is_verified_and_farther_is_rejected() {
        let reference = at(0.0);
        let near = judge(0.6, Ok(&at(0.59)), Some(&reference), false);
        let far = judge(0.6, Ok(&at(0.6)), Some(&reference), true);
        let Judgement::Decided(near) = near else {
            panic!("{near:?}")
        };
        let Judgement::Decided(far) = far else {
            panic!("{far:?}")
        };
        assert_eq!((near.status, near.reason), ("verified", None));
        assert_eq!(
            (far.status, far.reason),
            ("rejected", Some("different_face"))
        );
        assert!((far.distance.unwrap_or_default() - 0.6).abs() < 1e-6);
    }

    #[test]
    fn without_a_reference_the_photo_enrols_only_where_allowed() {
        assert_eq!(judge(0.6, Ok(&at(1.0)), None, true), Judgement::Enrol);
        assert_eq!(judge(0.6, Ok(&at(1.0)), None, false), Judgement::Wait);
    }

    #[test]
    fn a_photo_without_one_face_is_rejected_with_its_reason_whatever_the_reference() {
        for (refusal, reason) in [
            (Refusal::NoFace, "no_face"),
            (Refusal::SeveralFaces(3), "several_faces"),
            (Refusal::NotAnImage, "not_an_image"),
        ] {
            let j = judge(0.6, Err(&refusal), None, true);
            assert_eq!(
                j,
                Judgement::Decided(Decision {
                    status: "rejected",
                    reason: Some(reason),
                    distance: None
                })
            );
        }
    }
}
