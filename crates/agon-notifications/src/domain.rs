//! What a notification is: its kinds (with their channels, criticality and digest rule) and the table that turns
//! other services' events into notifications. Adding a notification for a new event is a row in [`TEMPLATES`]
//! (and its consumer in `events.rs` subscribed by topic), not code per event.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a notification can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Stored, listed and pushed live over the WebSocket.
    InApp,
    Email,
    Sms,
    Push,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::InApp, Channel::Email, Channel::Sms, Channel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A kind of notification: the channels it uses unless the member opted out, and whether opting out is allowed.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    /// Security notices: sent on their channels whatever the member's preferences.
    pub critical: bool,
    /// Channels used by default (a member can opt out of non-critical ones, or into others).
    pub channels: &'static [Channel],
    /// Bursts of this kind merge into one message per member and window on the external channels.
    pub digest: bool,
}

use Channel::{Email, InApp, Push};

pub const KINDS: &[Kind] = &[
    Kind {
        name: "welcome",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "account_approved",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "account_suspended",
        critical: true,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "account_restored",
        critical: true,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "roles_changed",
        critical: false,
        channels: &[InApp],
        digest: false,
    },
    Kind {
        name: "new_device_login",
        critical: true,
        channels: &[InApp, Email, Push],
        digest: false,
    },
    Kind {
        name: "password_changed",
        critical: true,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "new_follower",
        critical: false,
        channels: &[InApp, Push, Email],
        digest: true,
    },
    Kind {
        name: "target_completed",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    Kind {
        name: "tournament_entry_approved",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    // A re-plan may move many matches at once: bursts merge on the external channels.
    Kind {
        name: "match_scheduled",
        critical: false,
        channels: &[InApp, Push],
        digest: true,
    },
    Kind {
        name: "match_ready",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    Kind {
        name: "order_completed",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "order_cancelled",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    Kind {
        name: "result_disputed",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    Kind {
        name: "tournament_won",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "course_enrolled",
        critical: false,
        channels: &[InApp],
        digest: false,
    },
    Kind {
        name: "certificate_issued",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "session_booked",
        critical: false,
        channels: &[InApp, Email],
        digest: false,
    },
    Kind {
        name: "session_changed",
        critical: false,
        channels: &[InApp, Email, Push],
        digest: false,
    },
    Kind {
        name: "session_reminder",
        critical: false,
        channels: &[InApp, Push],
        digest: false,
    },
    // Sent by staff to members, and broadcast by administrators.
    Kind {
        name: "message",
        critical: false,
        channels: &[InApp],
        digest: false,
    },
    Kind {
        name: "announcement",
        critical: false,
        channels: &[InApp],
        digest: false,
    },
];

pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// One event type's notification. `{field}` in the title and body is replaced by that field of the event's
/// payload (arrays are joined with ", "; a missing or null field by `fallback`).
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub topic: &'static str,
    pub kind: &'static str,
    /// The payload field naming the recipient.
    pub recipient: &'static str,
    /// A boolean payload field that must be true for the notification to exist.
    pub only_if: Option<&'static str>,
    pub title: &'static str,
    pub body: &'static str,
    pub link: Option<&'static str>,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        topic: "tournaments.participant_approved.v1",
        kind: "tournament_entry_approved",
        recipient: "user_id",
        only_if: None,
        title: "You are in: {tournament_name}",
        body: "Your entry to \"{tournament_name}\" was approved. Good luck!",
        link: Some("/tournaments/{tournament_id}"),
    },
    Template {
        topic: "tournaments.match_scheduled.v1",
        kind: "match_scheduled",
        recipient: "user_id",
        only_if: None,
        title: "Match at {local_time}",
        body: "You play {opponent} in \"{tournament_name}\" on {court}, {local_time}.",
        link: Some("/tournaments/{tournament_id}"),
    },
    Template {
        topic: "tournaments.match_ready.v1",
        kind: "match_ready",
        recipient: "user_id",
        only_if: None,
        title: "Your match in {tournament_name}",
        body: "You play {opponent} next in \"{tournament_name}\" ({when}).",
        link: Some("/tournaments/{tournament_id}"),
    },
    Template {
        topic: "shop.order_completed.v1",
        kind: "order_completed",
        recipient: "buyer_id",
        only_if: None,
        title: "Your order: {item_name}",
        body: "You bought {quantity} × {item_name} for {total}. Thank you!",
        link: Some("/shop/orders/{order_id}"),
    },
    Template {
        topic: "shop.order_cancelled.v1",
        kind: "order_cancelled",
        recipient: "buyer_id",
        only_if: None,
        title: "Your order of {item_name} did not go through",
        body: "The payment was declined ({reason}): nothing was charged.",
        link: Some("/shop/orders/{order_id}"),
    },
    Template {
        topic: "tournaments.result_disputed.v1",
        kind: "result_disputed",
        recipient: "organiser_id",
        only_if: None,
        title: "A result is disputed in {tournament_name}",
        body: "{players} reported different results: record the result.",
        link: Some("/tournaments/{tournament_id}/matches/{position}"),
    },
    Template {
        topic: "tournaments.tournament_completed.v1",
        kind: "tournament_won",
        recipient: "champion_user_id",
        only_if: None,
        title: "You won {name}!",
        body: "Congratulations, champion of \"{name}\"!",
        link: Some("/tournaments/{tournament_id}"),
    },
    Template {
        topic: "trainings.course_enrolled.v1",
        kind: "course_enrolled",
        recipient: "user_id",
        only_if: None,
        title: "Enrolled in a course",
        body: "You are enrolled in \"{title}\". Enjoy the course!",
        link: Some("/courses/{course_id}"),
    },
    Template {
        topic: "trainings.certificate_issued.v1",
        kind: "certificate_issued",
        recipient: "user_id",
        only_if: None,
        title: "Your certificate is ready",
        body: "Congratulations on completing \"{course_title}\"! Your certificate can be verified and downloaded at /certificates/{certificate_id}.",
        link: Some("/certificates/{certificate_id}"),
    },
    Template {
        topic: "coaching.booking_confirmed.v1",
        kind: "session_booked",
        recipient: "athlete_id",
        only_if: None,
        title: "Session booked with {coach_name}",
        body: "Your session with {coach_name} is on {local_start}.",
        link: Some("/coaching/bookings/{booking_id}"),
    },
    Template {
        topic: "coaching.booking_rescheduled.v1",
        kind: "session_changed",
        recipient: "athlete_id",
        only_if: None,
        title: "Your session with {coach_name} moved",
        body: "It is now on {local_start} ({reason}).",
        link: Some("/coaching/bookings/{booking_id}"),
    },
    Template {
        topic: "coaching.booking_cancelled.v1",
        kind: "session_changed",
        recipient: "athlete_id",
        only_if: None,
        title: "Your session with {coach_name} is cancelled",
        body: "The session on {local_start} is cancelled ({reason}).",
        link: Some("/coaching/bookings/{booking_id}"),
    },
    Template {
        topic: "coaching.session_reminder.v1",
        kind: "session_reminder",
        recipient: "athlete_id",
        only_if: None,
        title: "Coaching session soon",
        body: "Your session with {coach_name} is on {local_start}.",
        link: Some("/coaching/bookings/{booking_id}"),
    },
    Template {
        topic: "targets.target_completed.v1",
        kind: "target_completed",
        recipient: "owner_id",
        only_if: None,
        title: "Target completed",
        body: "Congratulations on completing your target \"{name}\"!",
        link: Some("/targets/{target_id}"),
    },
    Template {
        topic: "auth.user_registered.v1",
        kind: "welcome",
        recipient: "user_id",
        only_if: None,
        title: "Welcome to the club",
        body: "Hello {display_name}, your account is ready.",
        link: None,
    },
    Template {
        topic: "users.user_approved.v1",
        kind: "account_approved",
        recipient: "user_id",
        only_if: None,
        title: "Your account was approved",
        body: "An administrator approved your account; you can log in now.",
        link: None,
    },
    Template {
        topic: "users.user_banned.v1",
        kind: "account_suspended",
        recipient: "user_id",
        only_if: None,
        title: "Your account was suspended",
        body: "An administrator suspended your account. Reason: {reason}",
        link: None,
    },
    Template {
        topic: "users.user_unbanned.v1",
        kind: "account_restored",
        recipient: "user_id",
        only_if: None,
        title: "Your account was restored",
        body: "Your account is active again.",
        link: None,
    },
    Template {
        topic: "users.roles_changed.v1",
        kind: "roles_changed",
        recipient: "user_id",
        only_if: None,
        title: "Your roles changed",
        body: "Your roles are now: {roles}.",
        link: None,
    },
    Template {
        topic: "auth.logged_in.v1",
        kind: "new_device_login",
        recipient: "user_id",
        only_if: Some("new_device"),
        title: "New login to your account",
        body: "Your account was used from a new device ({user_agent}) at {at}. If this was not you, change your password now.",
        link: None,
    },
    Template {
        topic: "auth.password_changed.v1",
        kind: "password_changed",
        recipient: "user_id",
        only_if: None,
        title: "Your password was changed",
        body: "The password of your account was changed ({via}) at {at}. If this was not you, reset it now.",
        link: None,
    },
    Template {
        topic: "users.user_followed.v1",
        kind: "new_follower",
        recipient: "followee_id",
        only_if: None,
        title: "New follower",
        body: "{follower_name} follows you now.",
        link: Some("/users/{follower_id}"),
    },
];

pub fn template(topic: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.topic == topic)
}

/// Fills `{field}` placeholders from `payload`.
pub fn render(text: &str, payload: &serde_json::Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let field = &rest[start + 1..start + end];
        out.push_str(&value_text(payload.get(field)));
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "unknown".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|i| value_text(Some(i)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_a_kind_and_one_template_per_topic() {
        for t in TEMPLATES {
            assert!(kind(t.kind).is_some(), "{} has no kind", t.kind);
            assert_eq!(
                TEMPLATES.iter().filter(|o| o.topic == t.topic).count(),
                1,
                "{}: the notification id is the event id, so one template per topic",
                t.topic
            );
        }
    }

    #[test]
    fn placeholders_are_filled_from_the_payload() {
        let payload = serde_json::json!({"display_name": "Ana", "roles": ["coach", "athlete"], "reason": null});
        assert_eq!(render("Hello {display_name}!", &payload), "Hello Ana!");
        assert_eq!(render("{roles}.", &payload), "coach, athlete.");
        assert_eq!(render("Reason: {reason}", &payload), "Reason: unknown");
        assert_eq!(render("no {close", &payload), "no {close");
    }
}
