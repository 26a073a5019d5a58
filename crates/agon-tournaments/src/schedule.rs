//! Scheduling: a tournament's matches onto courts and times. Pure rules, no I/O.
//!
//! Play happens inside the organisers' windows; a court hosts one match at a time; every match lasts the
//! tournament's match length; a player rests at least the minimum rest between two matches; and a match starts
//! only once the matches that decide its players have ended, plus the rest (their winner — or loser — plays on).
//! Planning is list scheduling: matches in the order results reach them, each at the earliest slot (a window's
//! start plus a whole number of match lengths) on the first free court that breaks no rule. Fixed matches — played, or placed by hand — stay
//! where they are and the others plan around them.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};

use crate::bracket::{Bracket, Side};

pub type Instant = DateTime<Utc>;

/// A time the venue is open for play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

/// How long a match lasts, and the least time a player rests between two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub length: Duration,
    pub rest: Duration,
}

/// Where and when a match is played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub court: usize,
    pub start: Instant,
}

/// A match as the planner sees it.
#[derive(Debug, Clone, Default)]
pub struct Job {
    /// The players known now (seeds).
    pub players: Vec<u32>,
    /// The matches (by index) whose results decide a player of this one.
    pub feeders: Vec<usize>,
    /// A match that does not move: played, or placed by hand.
    pub fixed: Option<Place>,
    /// Never played here (void, or decided against a bye): not scheduled, and no constraint on others.
    pub skip: bool,
}

/// Why a match cannot stand where it was asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("the court has match {0} then")]
    Court(usize),
    #[error("a player of this match plays match {0} then, or rests from it too little")]
    Player(usize),
    #[error("match {0}, which decides a player of this one, has not ended by then (with the rest)")]
    Feeder(usize),
    #[error("match {0}, which this one decides a player of, starts too soon after it")]
    Dependent(usize),
    #[error("there is no such court")]
    NoCourt,
}

/// Matches that did not fit into the windows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{unplaced} matches do not fit into the play windows: add courts or windows, or shorten the matches"
)]
pub struct NoRoom {
    pub unplaced: usize,
}

/// A local time that a window cannot start or end at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("{0} does not exist in {1}: the clocks skip it")]
    Skipped(String, String),
    #[error("a window ends after it starts, on the same day")]
    Backwards,
    #[error("{0}")]
    Zone(String),
}

/// The window from `from` to `to` on `date`, local times in `zone`. A time the clocks skip (spring forward) is
/// refused; a time they pass twice (fall back) is the first. A window over a change of clocks is as long as it
/// really is: 01:00–05:00 is three hours on the spring-forward night in Europe/Madrid.
pub fn local_window(
    zone: &str,
    date: jiff::civil::Date,
    (from, to): (jiff::civil::Time, jiff::civil::Time),
) -> Result<Window, LocalTimeError> {
    let tz = jiff::tz::TimeZone::get(zone).map_err(|e| LocalTimeError::Zone(e.to_string()))?;
    let instant = |time: jiff::civil::Time| {
        let local = date.to_datetime(time);
        let ambiguous = tz.to_ambiguous_timestamp(local);
        if matches!(ambiguous.offset(), jiff::tz::AmbiguousOffset::Gap { .. }) {
            return Err(LocalTimeError::Skipped(local.to_string(), zone.to_owned()));
        }
        let ts = ambiguous
            .earlier()
            .map_err(|e| LocalTimeError::Zone(e.to_string()))?;
        DateTime::from_timestamp(ts.as_second(), 0)
            .ok_or_else(|| LocalTimeError::Zone("out of range".into()))
    };
    if to <= from {
        return Err(LocalTimeError::Backwards);
    }
    Ok(Window {
        start: instant(from)?,
        end: instant(to)?,
    })
}

/// The planner's view of a bracket: each match's known players, the matches deciding its players, and whether it
/// is played at all (void matches and walkovers against a bye are not).
pub fn jobs(bracket: &Bracket) -> Vec<Job> {
    let mut jobs: Vec<Job> = (bracket.matches.iter())
        .map(|m| Job {
            players: (m.sides.iter())
                .filter_map(|s| match s {
                    Side::Seed(seed) => Some(*seed),
                    _ => None,
                })
                .collect(),
            skip: m.void || m.sides.contains(&Side::Bye),
            ..Job::default()
        })
        .collect();
    for (i, m) in bracket.matches.iter().enumerate() {
        for (to, _) in [m.winner_to, m.loser_to].into_iter().flatten() {
            if let Some(job) = jobs.get_mut(to) {
                job.feeders.push(i);
            }
        }
    }
    jobs
}

/// The slot starts of `windows`, in time order: each window from its start, every `length`, while a whole match
/// fits before its end.
pub fn slots(windows: &[Window], length: Duration) -> Vec<Instant> {
    let mut starts = Vec::new();
    if length <= Duration::zero() {
        return starts;
    }
    for w in windows {
        let mut t = w.start;
        while t + length <= w.end {
            starts.push(t);
            t += length;
        }
    }
    starts.sort();
    starts.dedup();
    starts
}

/// The order results reach the matches: every match after those feeding it (then by index).
fn order(jobs: &[Job]) -> Vec<usize> {
    fn depth(i: usize, jobs: &[Job], memo: &mut [Option<usize>], guard: usize) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        // Brackets feed forward; the guard only stops a malformed input from recursing for ever.
        let d = if guard == 0 {
            0
        } else {
            (jobs[i].feeders.iter())
                .map(|&f| depth(f, jobs, memo, guard - 1) + 1)
                .max()
                .unwrap_or(0)
        };
        memo[i] = Some(d);
        d
    }
    let mut memo = vec![None; jobs.len()];
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    let depths: Vec<usize> = (0..jobs.len())
        .map(|i| depth(i, jobs, &mut memo, jobs.len()))
        .collect();
    order.sort_by_key(|&i| (depths[i], i));
    order
}

/// The placed matches by start time, each once: a court's, or a player's.
type Timeline = BTreeSet<(Instant, usize)>;

/// Who plays and which courts are taken, as matches are placed. Each court and each player has a timeline, so a
/// candidate place is checked against the few matches near it in time, not against every match: planning 2,047
/// matches (1,024 players, double elimination) takes milliseconds, not the cube of the field.
struct Board<'a> {
    jobs: &'a [Job],
    rules: Rules,
    places: Vec<Option<Place>>,
    /// The matches each match decides a player of.
    dependents: Vec<Vec<usize>>,
    courts: HashMap<usize, Timeline>,
    players: HashMap<u32, Timeline>,
}

impl<'a> Board<'a> {
    fn new(jobs: &'a [Job], rules: Rules, places: Vec<Option<Place>>) -> Self {
        let mut dependents = vec![Vec::new(); jobs.len()];
        for (i, job) in jobs.iter().enumerate() {
            for &f in &job.feeders {
                if let Some(d) = dependents.get_mut(f) {
                    d.push(i);
                }
            }
        }
        let mut board = Board {
            jobs,
            rules,
            places: vec![None; jobs.len()],
            dependents,
            courts: HashMap::new(),
            players: HashMap::new(),
        };
        for (i, place) in places.into_iter().enumerate() {
            if let Some(place) = place {
                board.set(i, place);
            }
        }
        board
    }

    /// Puts match `i` at `place` (a skipped match is not on any timeline: it holds nothing).
    fn set(&mut self, i: usize, place: Place) {
        self.places[i] = Some(place);
        if self.jobs[i].skip {
            return;
        }
        let entry = (place.start, i);
        self.courts.entry(place.court).or_default().insert(entry);
        for &p in &self.jobs[i].players {
            self.players.entry(p).or_default().insert(entry);
        }
    }

    /// A match other than `i` on `timeline` starting strictly between `lo` and `hi`.
    fn near(timeline: Option<&Timeline>, (lo, hi): (Instant, Instant), i: usize) -> Option<usize> {
        let range = (Bound::Excluded((lo, usize::MAX)), Bound::Excluded((hi, 0)));
        (timeline?.range(range)).map(|&(_, j)| j).find(|&j| j != i)
    }

    /// The first rule that a start at `start` breaks for match `i` on any court: its players, the matches deciding
    /// them, the matches it decides.
    fn timing(&self, i: usize, start: Instant) -> Option<Conflict> {
        let Rules { length, rest } = self.rules;
        // A player's other match must not start within (start − rest − length, end + rest).
        let rested = (start - rest - length, start + length + rest);
        for p in &self.jobs[i].players {
            if let Some(j) = Self::near(self.players.get(p), rested, i) {
                return Some(Conflict::Player(j));
            }
        }
        let placed = |j: usize| self.places[j].filter(|_| !self.jobs[j].skip);
        for &f in &self.jobs[i].feeders {
            if placed(f).is_some_and(|p| p.start + length + rest > start) {
                return Some(Conflict::Feeder(f));
            }
        }
        for &d in &self.dependents[i] {
            if placed(d).is_some_and(|p| start + length + rest > p.start) {
                return Some(Conflict::Dependent(d));
            }
        }
        None
    }

    /// Whether another match holds `place`'s court while match `i` would be played there.
    fn court(&self, i: usize, place: Place) -> Option<Conflict> {
        let length = self.rules.length;
        let overlapping = (place.start - length, place.start + length);
        Self::near(self.courts.get(&place.court), overlapping, i).map(Conflict::Court)
    }
}

/// Checks that match `i` may stand at `place` among the others' `places` (a placement by hand).
pub fn check(
    jobs: &[Job],
    places: &[Option<Place>],
    courts: usize,
    rules: Rules,
    (i, place): (usize, Place),
) -> Result<(), Conflict> {
    if place.court >= courts {
        return Err(Conflict::NoCourt);
    }
    let others = (places.iter().enumerate())
        .map(|(j, p)| p.filter(|_| j != i))
        .collect();
    let board = Board::new(jobs, rules, others);
    match board
        .court(i, place)
        .or_else(|| board.timing(i, place.start))
    {
        Some(conflict) => Err(conflict),
        None => Ok(()),
    }
}

/// Places every match that is neither fixed nor skipped at the earliest slot from `from` on that breaks no rule.
/// All or nothing: when some match does not fit, nothing is planned.
pub fn plan(
    jobs: &[Job],
    courts: usize,
    windows: &[Window],
    rules: Rules,
    from: Instant,
) -> Result<Vec<Option<Place>>, NoRoom> {
    let starts = slots(windows, rules.length);
    let mut board = Board::new(jobs, rules, jobs.iter().map(|j| j.fixed).collect());
    let mut unplaced = 0;
    for i in order(jobs) {
        if jobs[i].skip || jobs[i].fixed.is_some() {
            continue;
        }
        // After the feeders (every one placed: one left out leaves this one out too).
        let mut earliest = from;
        let mut blocked = false;
        for &f in &jobs[i].feeders {
            match board.places[f] {
                _ if jobs[f].skip => {}
                Some(p) => earliest = earliest.max(p.start + rules.length + rules.rest),
                None => blocked = true,
            }
        }
        let first = starts.partition_point(|&t| t < earliest);
        let found = (starts[first..].iter())
            .filter(|_| !blocked)
            .filter(|&&start| board.timing(i, start).is_none())
            .find_map(|&start| {
                (0..courts)
                    .map(|court| Place { court, start })
                    .find(|&p| board.court(i, p).is_none())
            });
        match found {
            Some(place) => board.set(i, place),
            None => unplaced += 1,
        }
    }
    if unplaced > 0 {
        return Err(NoRoom { unplaced });
    }
    Ok(board.places)
}

#[cfg(test)]
mod tests;
