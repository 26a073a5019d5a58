//! What a training is and which edits are valid: pure rules, no I/O.

use agon_kit::{FieldError, text::Lines};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub const TITLE_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const MAX_DIFFICULTY: i64 = 10;
pub const MAX_MEDIA: usize = 8;
pub const MAX_GOALS: usize = 64;
pub const GOAL_NAME_MAX_CHARS: usize = 60;
pub const MAX_SCORE: f64 = 5.0;
pub const COMMENT_MAX_CHARS: usize = 1000;

/// The kinds of training. Adding one is a line here (stored as its name, so existing rows keep theirs).
pub const KINDS: &[&str] = &[
    "walking",
    "running",
    "cycling",
    "swimming",
    "strength",
    "mobility",
    "yoga",
    "pilates",
    "hiit",
    "rowing",
    "climbing",
    "team_sport",
    "racket_sport",
    "other",
];

/// A goal of a training: what the athlete works towards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// The fields of a training as its author writes them, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub title: String,
    pub description: String,
    pub kind: String,
    pub difficulty: i64,
    pub media: Vec<String>,
    pub goals: Vec<Goal>,
}

/// A partial edit: only the fields given change (a difficulty of 0 or an empty description included).
#[derive(Debug, Default)]
pub struct Edit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub difficulty: Option<i64>,
    pub media: Option<Vec<String>>,
    pub goals: Option<Vec<Goal>>,
}

impl Draft {
    /// Applies `edit` and checks the result as a whole, collecting every problem.
    pub fn edited(&self, edit: Edit) -> Result<Draft, Vec<FieldError>> {
        check(Draft {
            title: edit.title.unwrap_or_else(|| self.title.clone()),
            description: edit.description.unwrap_or_else(|| self.description.clone()),
            kind: edit.kind.unwrap_or_else(|| self.kind.clone()),
            difficulty: edit.difficulty.unwrap_or(self.difficulty),
            media: edit.media.unwrap_or_else(|| self.media.clone()),
            goals: edit.goals.unwrap_or_else(|| self.goals.clone()),
        })
    }
}

/// The key a title is unique by, per author: trimmed, without case.
pub fn title_key(title: &str) -> String {
    title.trim().to_lowercase()
}

/// Checks a whole training, trimming its text; every problem is reported.
pub fn check(draft: Draft) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let text = agon_kit::text::checked;
    let title = agon_kit::text::required(
        "title",
        draft.title,
        TITLE_MAX_CHARS,
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
    let kind = draft.kind.trim().to_lowercase();
    if !KINDS.contains(&kind.as_str()) {
        problems.push(FieldError::new(
            "kind",
            &format!("must be one of {}", KINDS.join(", ")),
        ));
    }
    if !(0..=MAX_DIFFICULTY).contains(&draft.difficulty) {
        problems.push(FieldError::new("difficulty", "must be from 0 to 10"));
    }
    let media = agon_kit::text::media("media", draft.media, MAX_MEDIA, &mut problems);
    let goals = check_goals(draft.goals, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Draft {
        title,
        description,
        kind,
        difficulty: draft.difficulty,
        media,
        goals,
    })
}

fn check_goals(goals: Vec<Goal>, problems: &mut Vec<FieldError>) -> Vec<Goal> {
    if goals.len() > MAX_GOALS {
        problems.push(FieldError::new("goals", "holds at most 64 goals"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut checked = Vec::with_capacity(goals.len());
    for (i, goal) in goals.into_iter().enumerate() {
        let text = agon_kit::text::checked;
        let field = format!("goals.{i}.name");
        let name = agon_kit::text::required(
            &field,
            goal.name,
            GOAL_NAME_MAX_CHARS,
            Lines::Single,
            problems,
        );
        if !name.is_empty() && !seen.insert(name.to_lowercase()) {
            problems.push(FieldError::new(
                &format!("goals.{i}.name"),
                "is already a goal of this training",
            ));
        }
        let description = text(
            &format!("goals.{i}.description"),
            goal.description,
            DESCRIPTION_MAX_CHARS,
            Lines::Multi,
            problems,
        );
        checked.push(Goal { name, description });
    }
    checked
}

/// A score as stored: hundredths from 0 to 500.
pub fn score_hundredths(score: f64) -> Result<i64, FieldError> {
    if !score.is_finite() || !(0.0..=MAX_SCORE).contains(&score) {
        return Err(FieldError::new("score", "must be from 0 to 5"));
    }
    // In range, so the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation)]
    Ok((score * 100.0).round() as i64)
}

/// The average of `count` scores totalling `total` hundredths, to two decimals (0 when none).
pub fn average(total: i64, count: i64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let mean = total as f64 / count as f64 / 100.0;
    (mean * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            title: " Morning run ".into(),
            description: "Easy pace".into(),
            kind: "Running".into(),
            difficulty: 3,
            media: vec![" https://club.example/run.jpg ".into()],
            goals: vec![Goal {
                name: "Endurance".into(),
                description: String::new(),
            }],
        }
    }

    #[test]
    fn a_draft_is_trimmed_and_normalised() {
        let checked = check(draft()).unwrap();
        assert_eq!(checked.title, "Morning run");
        assert_eq!(checked.kind, "running");
        assert_eq!(checked.media, ["https://club.example/run.jpg"]);
        assert_eq!(title_key(" Morning RUN"), "morning run");
    }

    #[test]
    fn every_problem_is_reported() {
        let bad = Draft {
            title: String::new(),
            description: "x".repeat(2001),
            kind: "flying".into(),
            difficulty: 11,
            media: vec!["ftp://x".into(); 9],
            goals: vec![
                Goal {
                    name: "Speed".into(),
                    description: String::new(),
                },
                Goal {
                    name: "speed".into(),
                    description: String::new(),
                },
            ],
        };
        let fields: Vec<String> = check(bad)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        for field in [
            "title",
            "description",
            "kind",
            "difficulty",
            "media",
            "media.0",
            "goals.1.name",
        ] {
            assert!(fields.iter().any(|f| f == field), "{field}: {fields:?}");
        }
    }

    #[test]
    fn an_edit_can_set_zero_and_empty_values() {
        let original = check(draft()).unwrap();
        let edited = original
            .edited(Edit {
                difficulty: Some(0),
                description: Some(String::new()),
                ..Edit::default()
            })
            .unwrap();
        assert_eq!((edited.difficulty, edited.description.as_str()), (0, ""));
        assert_eq!(edited.title, original.title);
    }

    #[test]
    fn scores_are_hundredths_and_averages_two_decimals() {
        assert_eq!(score_hundredths(4.5).unwrap(), 450);
        assert_eq!(score_hundredths(0.0).unwrap(), 0);
        assert!(score_hundredths(5.01).is_err() && score_hundredths(-1.0).is_err());
        assert!(score_hundredths(f64::NAN).is_err());
        assert_eq!(average(0, 0), 0.0);
        assert_eq!(average(450 + 300 + 500, 3), 4.17);
    }
}
