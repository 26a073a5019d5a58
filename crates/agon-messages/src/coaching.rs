//! Events produced by the coaching service: a session's booking through its life.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A session as the events name it: who, when, and the coach's zone to show the time in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub booking_id: Uuid,
    pub coach_id: Uuid,
    pub coach_name: String,
    pub athlete_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The coach's IANA zone.
    pub time_zone: String,
    /// The start on the coach's clock, as people read it: "Sat 13 Mar 2027, 09:00 CET".
    pub local_start: String,
}

/// An athlete booked a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingConfirmed {
    #[serde(flatten)]
    pub session: Session,
    pub at: DateTime<Utc>,
}

/// A booking was moved to another time (`session` holds the new one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRescheduled {
    #[serde(flatten)]
    pub session: Session,
    pub previous_start: DateTime<Utc>,
    pub by: Uuid,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A booking was cancelled, by its athlete, its coach or staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingCancelled {
    #[serde(flatten)]
    pub session: Session,
    pub by: Uuid,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A confirmed session is close (the configured hours ahead): once per booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReminder {
    #[serde(flatten)]
    pub session: Session,
    pub at: DateTime<Utc>,
}

/// The coach recorded whether the athlete came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionAttended {
    #[serde(flatten)]
    pub session: Session,
    pub attended: bool,
    pub at: DateTime<Utc>,
}

impl crate::Event for BookingConfirmed {
    const TOPIC: &'static str = "coaching.booking_confirmed.v1";
}
impl crate::Event for BookingRescheduled {
    const TOPIC: &'static str = "coaching.booking_rescheduled.v1";
}
impl crate::Event for BookingCancelled {
    const TOPIC: &'static str = "coaching.booking_cancelled.v1";
}
impl crate::Event for SessionReminder {
    const TOPIC: &'static str = "coaching.session_reminder.v1";
}
impl crate::Event for SessionAttended {
    const TOPIC: &'static str = "coaching.session_attended.v1";
}
