//! Events produced by the tournaments service.

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

impl crate::Event for TournamentCreated {
    const TOPIC: &'static str = "tournaments.tournament_created.v1";
}
impl crate::Event for RegistrationOpened {
    const TOPIC: &'static str = "tournaments.registration_opened.v1";
}
impl crate::Event for MatchScheduled {
    const TOPIC: &'static str = "tournaments.match_scheduled.v1";
}
impl crate::Event for MatchReady {
    const TOPIC: &'static str = "tournaments.match_ready.v1";
}
impl crate::Event for ParticipantApproved {
    const TOPIC: &'static str = "tournaments.participant_approved.v1";
}
impl crate::Event for ResultRecorded {
    const TOPIC: &'static str = "tournaments.result_recorded.v1";
}
impl crate::Event for ResultDisputed {
    const TOPIC: &'static str = "tournaments.result_disputed.v1";
}
impl crate::Event for TournamentCompleted {
    const TOPIC: &'static str = "tournaments.tournament_completed.v1";
}
