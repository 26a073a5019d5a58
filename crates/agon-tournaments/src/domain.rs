//! What a tournament is as its organisers write it, and which match results are consistent: pure rules, no I/O.

use agon_kit::{FieldError, text::Lines};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    bracket::{Elimination, GrandFinal},
    standings::Points,
};

pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const MAX_CAPACITY: i64 = 1024;
pub const SCORE_MAX_CHARS: usize = 50;

/// A new tournament, as organisers send it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTournament {
    /// 1 to 100 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `single_elimination`, `double_elimination`, `round_robin` or `swiss`.
    pub format: String,
    /// Single elimination: a match between the semi-finals' losers. Default false.
    #[serde(default)]
    pub third_place: bool,
    /// Double elimination: `none`, `single` or `reset` (default).
    pub grand_final: Option<GrandFinal>,
    /// Round robin: each pairing once (1, default) or twice with sides swapped (2).
    pub legs: Option<u32>,
    /// Round robin: groups (1 to 16, default 1), filled by seed in snake order.
    pub groups: Option<u32>,
    /// Swiss: the number of rounds, fewer than the field (default: log2 of the capacity, rounded up).
    pub rounds: Option<u32>,
    /// Round robin and Swiss: points for a win, a draw, a loss and a bye (default 3, 1, 0, 3). A bye is a Swiss
    /// player's round without an opponent; in a round robin every player of an odd group rests equally often, and
    /// a rest earns nothing.
    pub points: Option<Points>,
    /// Games per match: 1, 3, 5 or 7 (default 1).
    pub best_of: Option<i64>,
    /// 2 to 1024 approved participants (default 16).
    pub capacity: Option<i64>,
    /// Members who ask to join are approved at once (default false: organisers approve).
    #[serde(default)]
    pub open_entry: bool,
    /// Who reports results: `organisers` (default), or `players` — both players of a match report it, and the
    /// result is recorded when their reports agree (organisers may still record or correct any result).
    pub reporting: Option<Reporting>,
    /// RFC 3339 with an offset; before `starts_at`.
    pub registration_deadline: Option<String>,
    /// RFC 3339 with an offset.
    pub starts_at: String,
    /// The IANA zone the tournament's times are shown in (`Europe/Madrid`).
    pub time_zone: String,
}

/// Who reports a match's result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reporting {
    /// Organisers record every result.
    #[default]
    Organisers,
    /// Each player reports; agreeing reports record the result.
    Players,
}

/// How a tournament is played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elimination(Elimination),
    RoundRobin { legs: u32, groups: u32 },
    Swiss { rounds: u32 },
}

/// A tournament's settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub name: String,
    pub description: String,
    pub format: Format,
    pub points: Points,
    pub best_of: i64,
    pub capacity: i64,
    pub open_entry: bool,
    pub reporting: Reporting,
    /// As stored (fixed-width RFC 3339 UTC).
    pub registration_deadline: Option<String>,
    pub starts_at: String,
    pub time_zone: String,
}

/// Checks a new tournament; every problem is reported.
pub fn check(t: NewTournament) -> Result<Draft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let format = format(&t, &mut problems);
    let name =
        agon_kit::text::required("name", t.name, NAME_MAX_CHARS, Lines::Single, &mut problems);
    let description = agon_kit::text::checked(
        "description",
        t.description,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    let points = t.points.unwrap_or_default();
    let values = [points.win, points.draw, points.loss, points.bye];
    if values.iter().any(|p| !(-100..=100).contains(p)) {
        problems.push(FieldError::new("points", "each must be from -100 to 100"));
    }
    let best_of = t.best_of.unwrap_or(1);
    if ![1, 3, 5, 7].contains(&best_of) {
        problems.push(FieldError::new("best_of", "must be 1, 3, 5 or 7"));
    }
    let capacity = t.capacity.unwrap_or(16);
    if !(2..=MAX_CAPACITY).contains(&capacity) {
        problems.push(FieldError::new("capacity", "must be from 2 to 1024"));
    }
    let starts_at = instant("starts_at", &t.starts_at, &mut problems);
    let deadline = t
        .registration_deadline
        .as_deref()
        .and_then(|d| instant("registration_deadline", d, &mut problems));
    if let (Some(deadline), Some(start)) = (deadline, starts_at)
        && deadline >= start
    {
        problems.push(FieldError::new(
            "registration_deadline",
            "must be before starts_at",
        ));
    }
    let time_zone = t.time_zone.trim().to_owned();
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        problems.push(FieldError::new(
            "time_zone",
            "must be an IANA time zone, such as Europe/Madrid",
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Draft {
        name,
        description,
        format,
        points,
        best_of,
        capacity,
        open_entry: t.open_entry,
        reporting: t.reporting.unwrap_or_default(),
        registration_deadline: deadline.map(agon_db::time_text),
        starts_at: starts_at.map(agon_db::time_text).unwrap_or_default(),
        time_zone,
    })
}

/// The format a new tournament asks for, with its own settings checked (legs and groups of a round robin,
/// rounds of a Swiss).
fn format(t: &NewTournament, problems: &mut Vec<FieldError>) -> Format {
    match t.format.trim() {
        "single_elimination" => Format::Elimination(Elimination::Single {
            third_place: t.third_place,
        }),
        "double_elimination" => Format::Elimination(Elimination::Double {
            grand_final: t.grand_final.unwrap_or(GrandFinal::Reset),
        }),
        "round_robin" => {
            let (legs, groups) = (t.legs.unwrap_or(1), t.groups.unwrap_or(1));
            if !(1..=2).contains(&legs) {
                problems.push(FieldError::new("legs", "must be 1 or 2"));
            }
            if !(1..=16).contains(&groups) {
                problems.push(FieldError::new("groups", "must be from 1 to 16"));
            }
            // Two players a group at least, and at most 64: a group of 64 already plays 2,016 matches a leg.
            let capacity = t.capacity.unwrap_or(16);
            if capacity < 2 * i64::from(groups) || capacity > 64 * i64::from(groups) {
                problems.push(FieldError::new(
                    "capacity",
                    "must give each group 2 to 64 players",
                ));
            }
            Format::RoundRobin { legs, groups }
        }
        "swiss" => {
            let capacity = t.capacity.unwrap_or(16).clamp(2, MAX_CAPACITY);
            let log2 = 64 - (capacity - 1).leading_zeros();
            let rounds = t.rounds.unwrap_or(log2);
            if !(1..=30).contains(&rounds) || i64::from(rounds) >= capacity {
                problems.push(FieldError::new(
                    "rounds",
                    "must be from 1 to 30, and fewer than the capacity",
                ));
            }
            Format::Swiss { rounds }
        }
        _ => {
            problems.push(FieldError::new(
                "format",
                "must be single_elimination, double_elimination, round_robin or swiss",
            ));
            Format::Elimination(Elimination::Single { third_place: false })
        }
    }
}

/// A format's stored name.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Elimination(Elimination::Single { .. }) => "single_elimination",
        Format::Elimination(Elimination::Double { .. }) => "double_elimination",
        Format::RoundRobin { .. } => "round_robin",
        Format::Swiss { .. } => "swiss",
    }
}

fn instant(field: &str, text: &str, problems: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            problems.push(FieldError::new(
                field,
                "must be an RFC 3339 instant with an offset",
            ));
            None
        }
    }
}

/// Checks a match's games against its format: at most `best_of` games, none drawn, and the winner (side 0 or 1)
/// the first to win a majority — no game after that. No games at all is a result without detail.
pub fn check_games(games: &[[u32; 2]], best_of: i64, winner: usize) -> Result<(), FieldError> {
    if games.is_empty() {
        return Ok(());
    }
    let need = best_of / 2 + 1;
    let mut won = [0_i64; 2];
    for (i, [a, b]) in games.iter().enumerate() {
        if a == b {
            return Err(FieldError::new(
                &format!("games.{i}"),
                "a game has a winner",
            ));
        }
        if won[0] == need || won[1] == need {
            return Err(FieldError::new(
                "games",
                "the match was decided before this game",
            ));
        }
        won[usize::from(b > a)] += 1;
    }
    if won[winner] != need {
        return Err(FieldError::new(
            "games",
            &format!("the winner must have won {need} games"),
        ));
    }
    Ok(())
}

/// Checks a drawn match's games: at most `best_of`, none tied, as many won by each side.
pub fn check_draw_games(games: &[[u32; 2]], best_of: i64) -> Result<(), FieldError> {
    if games.len() as i64 > best_of {
        return Err(FieldError::new("games", "more games than the match has"));
    }
    if games.iter().any(|[a, b]| a == b) {
        return Err(FieldError::new("games", "a game has a winner"));
    }
    let first = games.iter().filter(|[a, b]| a > b).count();
    if first * 2 != games.len() {
        return Err(FieldError::new(
            "games",
            "a drawn match has as many games won by each side",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(format: &str, deadline: Option<&str>) -> NewTournament {
        NewTournament {
            name: " Club open ".into(),
            description: String::new(),
            format: format.into(),
            third_place: true,
            grand_final: None,
            legs: None,
            groups: None,
            points: None,
            rounds: None,
            best_of: Some(3),
            capacity: Some(6),
            open_entry: false,
            reporting: Some(Reporting::Players),
            registration_deadline: deadline.map(Into::into),
            starts_at: "2026-12-12T10:00:00+01:00".into(),
            time_zone: "Europe/Madrid".into(),
        }
    }

    #[test]
    fn a_tournament_is_checked_whole() {
        let d = check(new("double_elimination", Some("2026-12-11T20:00:00Z"))).unwrap();
        assert_eq!(d.name, "Club open");
        assert_eq!(
            d.format,
            Format::Elimination(Elimination::Double {
                grand_final: GrandFinal::Reset
            })
        );
        assert_eq!(d.starts_at, "2026-12-12T09:00:00.000000Z");
        let late = check(new("swiss_chess", Some("2026-12-12T10:00:00+01:00"))).unwrap_err();
        let fields: Vec<String> = late.into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["format", "registration_deadline"]);
    }

    #[test]
    fn games_must_make_the_winner_the_first_to_a_majority() {
        assert!(check_games(&[], 3, 0).is_ok());
        assert!(check_games(&[[6, 4], [3, 6], [6, 2]], 3, 0).is_ok());
        assert!(check_games(&[[6, 4], [6, 2]], 3, 0).is_ok());
        assert!(
            check_games(&[[6, 4], [6, 2]], 3, 1).is_err(),
            "the other side won"
        );
        assert!(
            check_games(&[[6, 4], [6, 2], [1, 6]], 3, 0).is_err(),
            "a game after the decision"
        );
        assert!(
            check_games(&[[6, 4]], 3, 0).is_err(),
            "one game does not decide a best of three"
        );
        assert!(check_games(&[[5, 5]], 1, 0).is_err(), "a drawn game");
        assert!(check_draw_games(&[[6, 4], [3, 6]], 2).is_ok());
        assert!(
            check_draw_games(&[[6, 4], [6, 3]], 2).is_err(),
            "one side won both"
        );
        assert!(
            check_draw_games(&[[6, 4], [3, 6]], 1).is_err(),
            "more games than the match has"
        );
    }
}
