//! What a target is and which changes are valid: pure rules, no I/O.

use agon_kit::{FieldError, text::Lines};
use chrono::{DateTime, Utc};

pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const MAX_MEDIA: usize = 4;
/// Large enough for any real goal (a year of steps), small enough that sums stay exact in a double.
pub const MAX_AMOUNT: f64 = 1e9;

/// What a target measures. Adding one is a line here (stored by name).
pub const METRICS: &[&str] = &[
    "distance_km",
    "time_minutes",
    "calories",
    "steps",
    "targets_completed",
    "sessions",
    "elevation_m",
];

/// A target's fields as its owner writes them, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub description: String,
    pub metric: String,
    pub goal: f64,
    pub current: f64,
    pub deadline: DateTime<Utc>,
    /// IANA zone the deadline is shown in (`Europe/Madrid`); the deadline itself is an instant.
    pub time_zone: String,
    pub media: Vec<String>,
}

/// A partial change: only the fields given change.
#[derive(Debug, Default)]
pub struct Edit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub goal: Option<f64>,
    pub current: Option<f64>,
    pub deadline: Option<DateTime<Utc>>,
    pub time_zone: Option<String>,
    pub media: Option<Vec<String>>,
}

impl Draft {
    /// Applies `edit` and checks the result as a whole.
    pub fn edited(&self, edit: Edit) -> Result<Draft, Vec<FieldError>> {
        check(Draft {
            name: edit.name.unwrap_or_else(|| self.name.clone()),
            description: edit.description.unwrap_or_else(|| self.description.clone()),
            metric: self.metric.clone(),
            goal: edit.goal.unwrap_or(self.goal),
            current: edit.current.unwrap_or(self.current),
            deadline: edit.deadline.unwrap_or(self.deadline),
            time_zone: edit.time_zone.unwrap_or_else(|| self.time_zone.clone()),
            media: edit.media.unwrap_or_else(|| self.media.clone()),
        })
    }
}

/// Checks a whole target, trimming its text; every problem is reported. Progress above the goal saturates.
pub fn check(draft: Draft) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let text = agon_kit::text::checked;
    let name = agon_kit::text::required(
        "name",
        draft.name,
        NAME_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    let description = text(
        "description",
        draft.description,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    let metric = draft.metric.trim().to_lowercase();
    if !METRICS.contains(&metric.as_str()) {
        problems.push(FieldError::new(
            "metric",
            &format!("must be one of {}", METRICS.join(", ")),
        ));
    }
    if !amount_ok(draft.goal) || draft.goal == 0.0 {
        problems.push(FieldError::new("goal", "must be above 0 and at most 1e9"));
    }
    if !amount_ok(draft.current) {
        problems.push(FieldError::new("current", "must be from 0 to 1e9"));
    }
    if jiff::tz::TimeZone::get(&draft.time_zone).is_err() {
        problems.push(FieldError::new(
            "time_zone",
            "must be an IANA time zone such as Europe/Madrid",
        ));
    }
    let media = agon_kit::text::media("media", draft.media, MAX_MEDIA, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Draft {
        name,
        description,
        metric,
        current: draft.current.min(draft.goal),
        goal: draft.goal,
        deadline: draft.deadline,
        time_zone: draft.time_zone,
        media,
    })
}

/// A finite amount from 0 to [`MAX_AMOUNT`].
pub fn amount_ok(amount: f64) -> bool {
    amount.is_finite() && (0.0..=MAX_AMOUNT).contains(&amount)
}

/// Where a target stands at `now`.
pub fn status(completed: bool, deadline: DateTime<Utc>, now: DateTime<Utc>) -> &'static str {
    if completed {
        "completed"
    } else if deadline <= now {
        "expired"
    } else {
        "open"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            name: " 100 km in May ".into(),
            description: String::new(),
            metric: "Distance_KM".into(),
            goal: 100.0,
            current: 120.0,
            deadline: "2030-05-31T21:59:59Z".parse().unwrap(),
            time_zone: "Europe/Madrid".into(),
            media: vec![],
        }
    }

    #[test]
    fn a_draft_is_normalised_and_progress_saturates() {
        let checked = check(draft()).unwrap();
        assert_eq!(
            (checked.name.as_str(), checked.metric.as_str()),
            ("100 km in May", "distance_km")
        );
        assert_eq!(checked.current, 100.0);
    }

    #[test]
    fn every_problem_is_reported() {
        let bad = Draft {
            name: String::new(),
            metric: "happiness".into(),
            goal: 0.0,
            current: -1.0,
            time_zone: "Mars/Olympus".into(),
            media: vec!["x".into(); 5],
            ..draft()
        };
        let fields: Vec<String> = check(bad)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        for field in [
            "name",
            "metric",
            "goal",
            "current",
            "time_zone",
            "media",
            "media.0",
        ] {
            assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
        }
    }

    #[test]
    fn status_follows_completion_then_the_deadline() {
        let deadline: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let before = deadline - chrono::Duration::seconds(1);
        assert_eq!(status(false, deadline, before), "open");
        assert_eq!(status(false, deadline, deadline), "expired");
        assert_eq!(status(true, deadline, deadline), "completed");
    }
}
