//! What a tournament tells its players, through the outbox in the transaction that made it so: a match
//! scheduled or moved, a match ready to play.

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

/// Tells both players of every match that is ready now and was not (`was_ready`, by position) that they play.
pub async fn ready(
    state: &State,
    tx: &mut agon_db::Tx,
    t: &Tournament,
    was_ready: &[bool],
) -> Result<(), Error> {
    let scene = Scene::load(state, tx, t).await?;
    let now = Utc::now();
    for (position, m) in scene.bracket.matches.iter().enumerate() {
        if !m.ready() || was_ready.get(position).copied().unwrap_or(false) {
            continue;
        }
        let when = scene.place(position).map_or_else(
            || "time to be announced".to_owned(),
            |(court, start)| format!("on {court}, {}", local_time(&t.time_zone, start)),
        );
        for (user_id, opponent) in scene.players(position) {
            let event = MatchReady {
                tournament_id: t.id,
                tournament_name: t.name.clone(),
                position: position as i64,
                user_id,
                opponent,
                when: when.clone(),
                at: now,
            };
            agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
        }
    }
    Ok(())
}

/// Which matches of `bracket` are ready now, by position.
pub fn readiness(bracket: &Bracket) -> Vec<bool> {
    bracket.matches.iter().map(|m| m.ready()).collect()
}
