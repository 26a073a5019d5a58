//! Event contracts between services: versioned payloads and their topic names, nothing else.
//!
//! Every topic has exactly one producing service, named by the module it sits in. A breaking change to a payload
//! is a new struct with a new topic version (`….v2`), published beside the old one until every consumer moved.

use serde::{Serialize, de::DeserializeOwned};

/// A payload that travels on the bus under a fixed topic.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    const TOPIC: &'static str;
}

/// Every event, whatever its topic, as raw JSON: for consumers that keep all of them (the metrics event store).
/// Its topic is the wildcard every broker routes all events to.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AnyEvent(pub serde_json::Value);

impl Event for AnyEvent {
    const TOPIC: &'static str = ALL_TOPICS;
}

/// The topic pattern that matches every topic (RabbitMQ's multi-word wildcard).
pub const ALL_TOPICS: &str = "#";

/// Topics whose payloads are personal data meant for their consumers alone: stores of every event (metrics) keep
/// that such an event happened, never its payload.
pub const PERSONAL_TOPICS: &[&str] = &[auth::VerificationPhoto::TOPIC];

/// The face service's decisions on photo verification.
pub mod faces {
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

    impl super::Event for VerificationDecided {
        const TOPIC: &'static str = "faces.verification_decided.v1";
    }
}

pub mod auth {
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

    impl super::Event for LoggedIn {
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

    impl super::Event for PasswordChanged {
        const TOPIC: &'static str = "auth.password_changed.v1";
    }

    impl super::Event for UserRegistered {
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

    impl super::Event for VerificationRequested {
        const TOPIC: &'static str = "auth.verification_requested.v1";
    }

    /// The photo of a pending verification request, for the face service alone: sent with the request and again
    /// while it stays undecided (a face service that was down, or deployed after the request, still decides
    /// it). Personal data: the event store keeps that it happened, not the photo ([`super::PERSONAL_TOPICS`]).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct VerificationPhoto {
        pub request_id: Uuid,
        pub user_id: Uuid,
        pub content_type: String,
        /// The image, base64 (standard alphabet, padded).
        pub photo: String,
        pub requested_at: chrono::DateTime<chrono::Utc>,
    }

    impl super::Event for VerificationPhoto {
        const TOPIC: &'static str = "auth.verification_photo.v1";
    }
}

/// Events produced by the users service, the authority on account state: approval, bans, roles, deletion.
pub mod users {
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

    impl super::Event for UserFollowed {
        const TOPIC: &'static str = "users.user_followed.v1";
    }
    impl super::Event for DeviceRegistered {
        const TOPIC: &'static str = "users.device_registered.v1";
    }
    impl super::Event for DeviceRemoved {
        const TOPIC: &'static str = "users.device_removed.v1";
    }
    impl super::Event for UserApproved {
        const TOPIC: &'static str = "users.user_approved.v1";
    }
    impl super::Event for UserBanned {
        const TOPIC: &'static str = "users.user_banned.v1";
    }
    impl super::Event for UserUnbanned {
        const TOPIC: &'static str = "users.user_unbanned.v1";
    }
    impl super::Event for RolesChanged {
        const TOPIC: &'static str = "users.roles_changed.v1";
    }
    impl super::Event for UserDeleted {
        const TOPIC: &'static str = "users.user_deleted.v1";
    }
}

/// Events produced by the trainings service.
pub mod trainings {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// A trainer published a training.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingCreated {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub title: String,
        pub kind: String,
        pub difficulty: i64,
        pub at: DateTime<Utc>,
    }

    /// Its author changed a training.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingUpdated {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub at: DateTime<Utc>,
    }

    /// A training was deleted, by its author or an administrator (`by`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingDeleted {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub by: Uuid,
        pub at: DateTime<Utc>,
    }

    /// An administrator blocked a training (`blocked`), or lifted the block.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingBlocked {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub blocked: bool,
        pub by: Uuid,
        pub at: DateTime<Utc>,
    }

    /// A member made a training one of their favourites.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingFavourited {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub user_id: Uuid,
        pub at: DateTime<Utc>,
    }

    /// A member scored a training (0 to 5), or changed their score.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TrainingScored {
        pub training_id: Uuid,
        pub author_id: Uuid,
        pub user_id: Uuid,
        pub score: f64,
        pub at: DateTime<Utc>,
    }

    /// An instructor published a course.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CourseCreated {
        pub course_id: Uuid,
        pub instructor_id: Uuid,
        pub title: String,
        pub category: String,
        pub level: String,
        pub at: DateTime<Utc>,
    }

    /// A member enrolled in a course.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CourseEnrolled {
        pub course_id: Uuid,
        pub instructor_id: Uuid,
        pub user_id: Uuid,
        pub title: String,
        pub at: DateTime<Utc>,
    }

    /// A member finished a lesson of a course they are enrolled in.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct LessonCompleted {
        pub course_id: Uuid,
        pub lesson_id: Uuid,
        pub user_id: Uuid,
        pub at: DateTime<Utc>,
    }

    /// A member submitted answers to an assessment (of a course, or standing alone), scored on the spot.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct AssessmentSubmitted {
        pub assessment_id: Uuid,
        pub course_id: Option<Uuid>,
        pub submission_id: Uuid,
        pub user_id: Uuid,
        /// Of the points, 0 to 100 with two decimals.
        pub percentage: f64,
        pub passed: bool,
        pub at: DateTime<Utc>,
    }

    /// A member finished every lesson and passed every assessment of a course: it is complete (once).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CourseCompleted {
        pub course_id: Uuid,
        pub user_id: Uuid,
        pub certificate_id: Uuid,
        pub at: DateTime<Utc>,
    }

    /// A certificate was issued to a member for a completed course; anyone holding its id can verify it.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct CertificateIssued {
        pub certificate_id: Uuid,
        pub course_id: Uuid,
        pub user_id: Uuid,
        pub course_title: String,
        pub at: DateTime<Utc>,
    }

    impl super::Event for TrainingCreated {
        const TOPIC: &'static str = "trainings.training_created.v1";
    }
    impl super::Event for TrainingUpdated {
        const TOPIC: &'static str = "trainings.training_updated.v1";
    }
    impl super::Event for TrainingDeleted {
        const TOPIC: &'static str = "trainings.training_deleted.v1";
    }
    impl super::Event for TrainingBlocked {
        const TOPIC: &'static str = "trainings.training_blocked.v1";
    }
    impl super::Event for TrainingFavourited {
        const TOPIC: &'static str = "trainings.training_favourited.v1";
    }
    impl super::Event for TrainingScored {
        const TOPIC: &'static str = "trainings.training_scored.v1";
    }
    impl super::Event for CourseCreated {
        const TOPIC: &'static str = "trainings.course_created.v1";
    }
    impl super::Event for CourseEnrolled {
        const TOPIC: &'static str = "trainings.course_enrolled.v1";
    }
    impl super::Event for LessonCompleted {
        const TOPIC: &'static str = "trainings.lesson_completed.v1";
    }
    impl super::Event for AssessmentSubmitted {
        const TOPIC: &'static str = "trainings.assessment_submitted.v1";
    }
    impl super::Event for CourseCompleted {
        const TOPIC: &'static str = "trainings.course_completed.v1";
    }
    impl super::Event for CertificateIssued {
        const TOPIC: &'static str = "trainings.certificate_issued.v1";
    }
}

/// Events produced by the tournaments service.
pub mod tournaments {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// An organiser created a tournament.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TournamentCreated {
        pub tournament_id: Uuid,
        pub name: String,
        /// `single_elimination`, `double_elimination`, `round_robin` or `swiss`.
        pub format: String,
        pub created_by: Uuid,
        pub at: DateTime<Utc>,
    }

    /// An entry was approved (by an organiser, or at once with open entry).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ParticipantApproved {
        pub tournament_id: Uuid,
        pub tournament_name: String,
        pub participant_id: Uuid,
        /// The member, for an entry that is one.
        pub user_id: Option<Uuid>,
        pub name: String,
        pub at: DateTime<Utc>,
    }

    /// A match's result was recorded (or corrected).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ResultRecorded {
        pub tournament_id: Uuid,
        /// The match's place in the bracket.
        pub position: i64,
        /// None for a drawn round-robin match.
        pub winner_id: Option<Uuid>,
        pub at: DateTime<Utc>,
    }

    /// Nothing is left to play: the tournament has its champion — none for a round robin in several groups, each
    /// group having its winner. A corrected result that changes the champion says so again.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TournamentCompleted {
        pub tournament_id: Uuid,
        pub name: String,
        pub champion_id: Option<Uuid>,
        pub champion_user_id: Option<Uuid>,
        pub champion_name: Option<String>,
        pub at: DateTime<Utc>,
    }

    /// Members may ask to join.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RegistrationOpened {
        pub tournament_id: Uuid,
        pub name: String,
        pub capacity: i64,
        pub at: DateTime<Utc>,
    }

    /// A player's match was given (or moved to) a court and time: one event per player with an account.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MatchScheduled {
        pub tournament_id: Uuid,
        pub tournament_name: String,
        pub position: i64,
        pub user_id: Uuid,
        /// The other side's name, or "an opponent to be decided".
        pub opponent: String,
        pub court: String,
        pub starts_at: DateTime<Utc>,
        /// `starts_at` in the tournament's zone, as people read it ("Sat 16 Jan 2027, 10:30 CET").
        pub local_time: String,
        pub at: DateTime<Utc>,
    }

    /// Both players of a match are known and it can be played: one event per player with an account.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MatchReady {
        pub tournament_id: Uuid,
        pub tournament_name: String,
        pub position: i64,
        pub user_id: Uuid,
        pub opponent: String,
        /// Where and when, once scheduled ("on Court 1, Sat 16 Jan 2027, 10:30 CET"), else "time to be announced".
        pub when: String,
        pub at: DateTime<Utc>,
    }

    /// A match's two players reported different results: its organiser decides. One event per report that
    /// disagrees.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ResultDisputed {
        pub tournament_id: Uuid,
        pub tournament_name: String,
        pub position: i64,
        /// The tournament's organiser, who records the result.
        pub organiser_id: Uuid,
        /// The two sides' names, as "Ana v Bo".
        pub players: String,
        pub at: DateTime<Utc>,
    }

    impl super::Event for TournamentCreated {
        const TOPIC: &'static str = "tournaments.tournament_created.v1";
    }
    impl super::Event for RegistrationOpened {
        const TOPIC: &'static str = "tournaments.registration_opened.v1";
    }
    impl super::Event for MatchScheduled {
        const TOPIC: &'static str = "tournaments.match_scheduled.v1";
    }
    impl super::Event for MatchReady {
        const TOPIC: &'static str = "tournaments.match_ready.v1";
    }
    impl super::Event for ParticipantApproved {
        const TOPIC: &'static str = "tournaments.participant_approved.v1";
    }
    impl super::Event for ResultRecorded {
        const TOPIC: &'static str = "tournaments.result_recorded.v1";
    }
    impl super::Event for ResultDisputed {
        const TOPIC: &'static str = "tournaments.result_disputed.v1";
    }
    impl super::Event for TournamentCompleted {
        const TOPIC: &'static str = "tournaments.tournament_completed.v1";
    }
}

/// Events produced by the targets service.
pub mod targets {
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

    impl super::Event for TargetCreated {
        const TOPIC: &'static str = "targets.target_created.v1";
    }
    impl super::Event for TargetCompleted {
        const TOPIC: &'static str = "targets.target_completed.v1";
    }
    impl super::Event for ActivityReported {
        const TOPIC: &'static str = "targets.activity_reported.v1";
    }
}

pub mod shop {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// A seller put an item up for sale.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ItemAdded {
        pub item_id: Uuid,
        pub seller_id: Uuid,
        pub name: String,
        /// In minor units.
        pub price: i64,
        pub currency: String,
        pub at: DateTime<Utc>,
    }

    /// A member ordered an item: its stock is reserved and its payment asked of the ledger.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct OrderPlaced {
        pub order_id: Uuid,
        pub buyer_id: Uuid,
        pub item_id: Uuid,
        pub item_name: String,
        pub seller_id: Uuid,
        pub quantity: i64,
        /// The whole order, in minor units.
        pub amount: i64,
        pub currency: String,
        /// `wallet` (from what the buyer deposited) or `account` (on the club's tab, within its credit limit).
        pub payment: String,
        pub at: DateTime<Utc>,
    }

    /// An order was paid: it is the buyer's.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct OrderCompleted {
        pub order_id: Uuid,
        pub buyer_id: Uuid,
        pub item_id: Uuid,
        pub item_name: String,
        pub quantity: i64,
        pub amount: i64,
        pub currency: String,
        /// The amount as people read it ("12.50 EUR").
        pub total: String,
        pub at: DateTime<Utc>,
    }

    /// An order did not go through (its payment was declined): its stock is back on sale.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct OrderCancelled {
        pub order_id: Uuid,
        pub buyer_id: Uuid,
        pub item_name: String,
        pub reason: String,
        pub at: DateTime<Utc>,
    }

    /// A paid order is given back: the ledger refunds its payment.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RefundRequested {
        pub order_id: Uuid,
        pub buyer_id: Uuid,
        pub at: DateTime<Utc>,
    }

    impl super::Event for ItemAdded {
        const TOPIC: &'static str = "shop.item_added.v1";
    }
    impl super::Event for OrderPlaced {
        const TOPIC: &'static str = "shop.order_placed.v1";
    }
    impl super::Event for OrderCompleted {
        const TOPIC: &'static str = "shop.order_completed.v1";
    }
    impl super::Event for OrderCancelled {
        const TOPIC: &'static str = "shop.order_cancelled.v1";
    }
    impl super::Event for RefundRequested {
        const TOPIC: &'static str = "shop.refund_requested.v1";
    }
}

pub mod ledger {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// Money moved on a member's account.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct TransactionRecorded {
        pub transaction_id: Uuid,
        pub user_id: Uuid,
        /// `deposit`, `withdrawal`, `purchase` or `refund`.
        pub kind: String,
        /// In minor units, positive.
        pub amount: i64,
        pub currency: String,
        /// What it paid for (a shop order).
        pub reference: Option<String>,
        pub at: DateTime<Utc>,
    }

    /// An order's payment was taken from the buyer's account.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PaymentCaptured {
        pub order_id: Uuid,
        pub transaction_id: Uuid,
        pub at: DateTime<Utc>,
    }

    /// An order's payment was refused.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct PaymentDeclined {
        pub order_id: Uuid,
        /// `insufficient_funds`.
        pub reason: String,
        pub at: DateTime<Utc>,
    }

    /// An order's payment went back to the buyer.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct RefundIssued {
        pub order_id: Uuid,
        pub transaction_id: Uuid,
        pub at: DateTime<Utc>,
    }

    impl super::Event for TransactionRecorded {
        const TOPIC: &'static str = "ledger.transaction_recorded.v1";
    }
    impl super::Event for PaymentCaptured {
        const TOPIC: &'static str = "ledger.payment_captured.v1";
    }
    impl super::Event for PaymentDeclined {
        const TOPIC: &'static str = "ledger.payment_declined.v1";
    }
    impl super::Event for RefundIssued {
        const TOPIC: &'static str = "ledger.refund_issued.v1";
    }
}
