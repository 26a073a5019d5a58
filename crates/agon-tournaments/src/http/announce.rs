//! What a tournament tells its players, through the outbox in the transaction that made it so: a match
//! scheduled or moved, a match ready to play.

use std::collections::HashMap;

use agon_messages::tournaments::{MatchReady, MatchScheduled};
use chrono::{DateTime, Utc};

use crate::{
    State,
    bracket::{Bracket, Side},
    error::Error,
    store::{Court, MatchRow, Participant, Store, Tournament},
};

/// `at` in the tournament's zone, as people read it: "Sat 16 Jan 2027, 10:30 CET".
pub fn local_time(zone: &str, at: DateTime<Utc>) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(at.timestamp()) else {
        return agon_db::time_text(at);
    };
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(tz)
        .strftime("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

/// The tournament's matches and people, read in the transaction (after what it changed).
struct Scene {
    rows: Vec<MatchRow>,
    people: Vec<Participant>,
    courts: Vec<Court>,
    bracket: Bracket,
}

impl Scene {
    async fn load(state: &State, tx: &mut agon_db::Tx, t: &Tournament) -> Result<Self, Error> {
        let rows = state.store.matches(Some(&mut *tx), t.id).await?;
        let people = state.store.participants(Some(&mut *tx), t.id).await?;
        let courts = state.store.courts(Some(&mut *tx), t.id).await?;
        let bracket = Store::bracket(t, &rows);
        Ok(Self {
            rows,
            people,
            courts,
            bracket,
        })
    }

    /// The participants on each side of match `position` (none: a bye, or still to be decided).
    fn sides(&self, position: usize) -> [Option<&Participant>; 2] {
        let side = |s: Side| match s {
            Side::Seed(seed) => (self.people.iter()).find(|p| p.seed == Some(i64::from(seed))),
            _ => None,
        };
        let m = &self.bracket.matches[position];
        [side(m.sides[0]), side(m.sides[1])]
    }

    /// Where and when match `position` is played, once scheduled: the court's name and the start.
    fn place(&self, position: usize) -> Option<(String, DateTime<Utc>)> {
        let row = &self.rows[position];
        let start = agon_db::parse_time(row.starts_at.as_deref()?).ok()?;
        let court = self.courts.iter().find(|c| Some(c.id) == row.court_id)?;
        Some((court.name.clone(), start))
    }

    /// Each player of match `position` who has an account, with the other side's name.
    fn players(&self, position: usize) -> Vec<(uuid::Uuid, String)> {
        let sides = self.sides(position);
        (0..2)
            .filter_map(|i| {
                let user = sides[i]?.user_id?;
                let opponent = sides[1 - i].map_or_else(
                    || "an opponent to be decided".to_owned(),
                    |p| p.name.clone(),
                );
                Some((user, opponent))
            })
            .collect()
    }
}

/// Tells the players of the matches at `positions` where and when they play.
pub async fn scheduled(
    state: &State,
    tx: &mut agon_db::Tx,
    t: &Tournament,
    positions: &[usize],
) -> Result<(), Error> {
    if positions.is_empty() {
        return Ok(());
    }
    let scene = Scene::load(state, tx, t).await?;
    let now = Utc::now();
    for &position in positions {
        let Some((court, start)) = scene.place(position) else {
            continue;
        };
        for (user_id, opponent) in scene.players(position) {
            let event = MatchScheduled {
                tournament_id: t.id,
                tournament_name: t.name.clone(),
                position: position as i64,
                user_id,
                opponent,
                court: court.clone(),
                starts_at: start,
                local_time: local_time(&t.time_zone, start),
                at: now,
            };
            agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
        }
    }
    Ok(())
}

/// Each player's next match and who is in it, by seed: their first ready match by round (then place). Players
/// are told of this one only — a round robin's start makes every match ready, and nobody wants forty notices.
pub type NextMatches = HashMap<u32, (usize, [Side; 2])>;

/// Who plays what next in `bracket`.
pub fn next_matches(bracket: &Bracket) -> NextMatches {
    let mut ready: Vec<usize> = (0..bracket.matches.len())
        .filter(|&i| bracket.matches[i].ready())
        .collect();
    ready.sort_by_key(|&i| (bracket.matches[i].round, i));
    let mut next = NextMatches::new();
    for i in ready {
        let sides = bracket.matches[i].sides;
        for side in sides {
            if let Side::Seed(seed) = side {
                next.entry(seed).or_insert((i, sides));
            }
        }
    }
    next
}

/// Tells each player whose next match is not what it was (`before`) — a new one is ready, or a corrected result
/// changed who they face — where and when they play it.
pub async fn ready(
    state: &State,
    tx: &mut agon_db::Tx,
    t: &Tournament,
    before: &NextMatches,
) -> Result<(), Error> {
    let scene = Scene::load(state, tx, t).await?;
    let now = Utc::now();
    let mut changed: Vec<(usize, u32)> = (next_matches(&scene.bracket).into_iter())
        .filter(|(seed, next)| before.get(seed) != Some(next))
        .map(|(seed, (position, _))| (position, seed))
        .collect();
    changed.sort_unstable();
    for (position, seed) in changed {
        let sides = scene.sides(position);
        let Some(mine) =
            (0..2).find(|&i| sides[i].is_some_and(|p| p.seed == Some(i64::from(seed))))
        else {
            continue;
        };
        let (Some(user_id), Some(opponent)) =
            (sides[mine].and_then(|p| p.user_id), sides[1 - mine])
        else {
            continue;
        };
        let when = scene.place(position).map_or_else(
            || "time to be announced".to_owned(),
            |(court, start)| format!("on {court}, {}", local_time(&t.time_zone, start)),
        );
        let event = MatchReady {
            tournament_id: t.id,
            tournament_name: t.name.clone(),
            position: position as i64,
            user_id,
            opponent: opponent.name.clone(),
            when,
            at: now,
        };
        agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bracket::Elimination;

    #[test]
    fn a_round_robin_start_names_one_match_per_player_and_a_result_moves_it_on() {
        let mut bracket = Bracket::round_robin(6, 1, 1);
        assert!(bracket.matches.iter().all(|m| m.ready()));
        let next = next_matches(&bracket);
        assert_eq!(next.len(), 6, "every player, once");
        assert!(next.values().all(|(i, _)| bracket.matches[*i].round == 1));
        let (first, sides) = next[&1];
        bracket.record(first, 0).unwrap();
        let after = next_matches(&bracket);
        let changed: Vec<u32> = (after.iter())
            .filter(|(seed, n)| next.get(seed) != Some(n))
            .map(|(seed, _)| *seed)
            .collect();
        let mut players: Vec<u32> = (sides.iter())
            .filter_map(|s| match s {
                Side::Seed(seed) => Some(*seed),
                _ => None,
            })
            .collect();
        players.sort_unstable();
        let mut changed = changed;
        changed.sort_unstable();
        assert_eq!(changed, players, "only the two who played move on");
    }

    #[test]
    fn a_winner_is_told_of_the_next_round_and_the_waiting_opponent_too() {
        let mut bracket = Bracket::new(Elimination::Single { third_place: false }, 4);
        let before = next_matches(&bracket);
        bracket.record(0, 0).unwrap();
        bracket.record(1, 0).unwrap();
        let after = next_matches(&bracket);
        let final_ = after.values().map(|(i, _)| *i).max().unwrap();
        assert_eq!(after.len(), 2);
        assert!(
            after
                .iter()
                .all(|(seed, n)| n.0 == final_ && before.get(seed) != Some(n))
        );
    }
}
