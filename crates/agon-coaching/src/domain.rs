//! Coaching's rules, pure: a coach's weekly availability in their own time zone and its exceptions, the bookable
//! slots they give, the time cells a booking claims (which make a double booking impossible in the database),
//! and who may cancel until when.
//!
//! Availability is written as local wall-clock times in the coach's IANA zone ("Mondays 09:00–12:00 in
//! Europe/Paris") and stays so across changes of clocks; slots are real intervals of `session_minutes` laid end to
//! end from each window's start. A local time the clocks skip (spring forward) is read as the moment after the
//! gap, and a time they pass twice (fall back) as the first: a window across a change of clocks is as long as it
//! really is, so a 01:00–04:00 window on the spring-forward night in New York gives two one-hour slots, not three.

use jiff::{
    SignedDuration, Timestamp, ToSpan,
    civil::{Date, Weekday},
    tz::TimeZone,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Times of day, session lengths and booking bounds are multiples of this (minutes): the database's cell.
pub const CELL_MINUTES: i64 = 5;
/// Minutes in a day: a window may end at 24:00.
pub const DAY_MINUTES: i64 = 24 * 60;
/// The longest stretch slots are computed over at once.
pub const MAX_SLOT_DAYS: i64 = 92;
/// Most weekly rules, and most exceptions a coach keeps.
pub const MAX_RULES: usize = 100;

/// One weekly window: on `weekday` from `start` to `end`, local times ("09:00", "24:00" for midnight after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// 1 (Monday) to 7 (Sunday), as ISO 8601 numbers them.
    pub weekday: i8,
    pub start: String,
    pub end: String,
}

/// A date's change to the weekly rules: time off (all day when no times are given), or extra hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionDraft {
    /// The local date, `2027-03-14`.
    pub date: String,
    /// `off` or `extra`.
    pub kind: String,
    pub start: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// An exception, checked: minutes of its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    pub date: Date,
    pub extra: bool,
    pub minutes: (i64, i64),
}

/// A weekly rule, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub weekday: Weekday,
    pub minutes: (i64, i64),
}

/// What a coach's slots are computed from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub zone: TimeZone,
    pub session_minutes: i64,
    pub windows: Vec<Window>,
    pub exceptions: Vec<Exception>,
}

/// An interval of real time, `[start, end)`.
pub type Span = (Timestamp, Timestamp);

/// Minutes since midnight of "HH:MM" (a multiple of five; "24:00" is the end of the day).
pub fn minutes_of(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a time of day HH:MM");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = h * 60 + m;
    if !(0..60).contains(&m) || !(0..=DAY_MINUTES).contains(&minutes) {
        return Err(bad());
    }
    if minutes % CELL_MINUTES != 0 {
        return Err(format!("`{text}` is not on a {CELL_MINUTES}-minute mark"));
    }
    Ok(minutes)
}

fn window_minutes(start: &str, end: &str) -> Result<(i64, i64), String> {
    let (start, end) = (minutes_of(start)?, minutes_of(end)?);
    if end <= start {
        return Err("must end after it starts".into());
    }
    Ok((start, end))
}

/// The weekly rules checked; errors name the rule (`rules[2].end`).
pub fn check_rules(rules: &[Rule]) -> Result<Vec<Window>, Vec<(String, String)>> {
    if rules.len() > MAX_RULES {
        return Err(vec![("rules".into(), format!("at most {MAX_RULES}"))]);
    }
    let mut errors = Vec::new();
    let mut windows = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let weekday = Weekday::from_monday_one_offset(r.weekday).ok();
        if weekday.is_none() {
            errors.push((
                format!("rules[{i}].weekday"),
                "must be 1 (Monday) to 7".into(),
            ));
        }
        match window_minutes(&r.start, &r.end) {
            Ok(minutes) => windows.extend(weekday.map(|weekday| Window { weekday, minutes })),
            Err(e) => errors.push((format!("rules[{i}].end"), e)),
        }
    }
    if errors.is_empty() {
        Ok(windows)
    } else {
        Err(errors)
    }
}

/// An exception checked.
pub fn check_exception(e: &ExceptionDraft) -> Result<Exception, (String, String)> {
    let date: Date = (e.date.parse())
        .map_err(|_| ("date".to_owned(), "must be a date YYYY-MM-DD".to_owned()))?;
    let extra = match e.kind.as_str() {
        "off" => false,
        "extra" => true,
        _ => return Err(("kind".into(), "must be off or extra".into())),
    };
    let minutes = match (&e.start, &e.end, extra) {
        (None, None, false) => (0, DAY_MINUTES),
        (Some(start), Some(end), _) => {
            window_minutes(start, end).map_err(|m| ("end".to_owned(), m))?
        }
        _ => {
            return Err((
                "start".into(),
                "give both start and end (only time off may be all day)".into(),
            ));
        }
    };
    if e.reason.chars().count() > 500 {
        return Err(("reason".into(), "at most 500 characters".into()));
    }
    Ok(Exception {
        date,
        extra,
        minutes,
    })
}

/// A session's length checked: 15 minutes to 8 hours, on the five-minute mark.
pub fn check_session_minutes(minutes: i64) -> Result<i64, String> {
    if !(15..=480).contains(&minutes) || minutes % CELL_MINUTES != 0 {
        return Err(format!(
            "must be 15 to 480 minutes, a multiple of {CELL_MINUTES}"
        ));
    }
    Ok(minutes)
}

/// The local windows of `date`: its weekday's rules and extra hours, less its time off, merged and in order.
fn day_windows(plan: &Plan, date: Date) -> Vec<(i64, i64)> {
    let mut open: Vec<(i64, i64)> = (plan.windows.iter())
        .filter(|w| w.weekday == date.weekday())
        .map(|w| w.minutes)
        .chain(
            (plan.exceptions.iter())
                .filter(|e| e.extra && e.date == date)
                .map(|e| e.minutes),
        )
        .collect();
    open.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (s, e) in open {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    for off in (plan.exceptions.iter()).filter(|e| !e.extra && e.date == date) {
        let (os, oe) = off.minutes;
        merged = (merged.into_iter())
            .flat_map(|(s, e)| [(s, e.min(os)), (s.max(oe), e)])
            .filter(|(s, e)| s < e)
            .collect();
    }
    merged
}

/// The instant of local `date` plus `minutes` in `zone`: a skipped time is the moment after the gap, a time
/// passed twice the first.
fn instant(zone: &TimeZone, date: Date, minutes: i64) -> Option<Timestamp> {
    let midnight = date.to_datetime(jiff::civil::Time::midnight());
    let local = midnight.checked_add(minutes.minutes()).ok()?;
    let ambiguous = zone.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        jiff::tz::AmbiguousOffset::Fold { .. } => ambiguous.earlier().ok(),
        _ => ambiguous.compatible().ok(),
    }
}

/// The bookable slots starting in `[from, to)`: each window's real interval cut into sessions from its start,
/// less those overlapping `busy` (bookings, sorted or not). At most [`MAX_SLOT_DAYS`] days are looked at.
pub fn slots(plan: &Plan, (from, to): Span, busy: &[Span]) -> Vec<Span> {
    let to = to.min(
        from.saturating_add(SignedDuration::from_hours(24 * MAX_SLOT_DAYS))
            .unwrap_or(to),
    );
    let length = SignedDuration::from_mins(plan.session_minutes);
    // A day's windows reach into the day after (24:00, or a window later than the offset); one day either side.
    let (Ok(first), Ok(last)) = (
        from.to_zoned(plan.zone.clone()).date().yesterday(),
        to.to_zoned(plan.zone.clone()).date().tomorrow(),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for date in first.series(1.day()).take_while(|d| *d <= last) {
        for (s, e) in day_windows(plan, date) {
            let (Some(start), Some(end)) =
                (instant(&plan.zone, date, s), instant(&plan.zone, date, e))
            else {
                continue;
            };
            let mut slot = start;
            while let Ok(slot_end) = slot.checked_add(length) {
                if slot_end > end {
                    break;
                }
                let free = !busy.iter().any(|&(bs, be)| bs < slot_end && slot < be);
                if slot >= from && slot < to && free {
                    out.push((slot, slot_end));
                }
                slot = slot_end;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The database cells a booking of `span` claims: every five-minute cell it touches, numbered from the epoch.
/// Two bookings of one person overlap exactly when they claim a common cell (their times are on the five-minute
/// mark), which the cells' primary key refuses.
pub fn cells((start, end): Span) -> std::ops::Range<i64> {
    let cell = CELL_MINUTES * 60;
    let first = start.as_second().div_euclid(cell);
    let past = (end.as_second() + cell - 1).div_euclid(cell);
    first..past
}

/// Who is changing a booking, and so which deadline applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Athlete,
    Coach,
    Admin,
}

/// Whether `actor` may still cancel or move a booking starting at `start`, at `now`: the athlete until the
/// coach's cut-off before it, the coach and staff until it starts.
pub fn may_change(actor: Actor, start: Timestamp, now: Timestamp, cutoff_hours: i64) -> bool {
    match actor {
        Actor::Athlete => now
            .saturating_add(SignedDuration::from_hours(cutoff_hours))
            .is_ok_and(|t| t <= start),
        Actor::Coach | Actor::Admin => now < start,
    }
}

#[cfg(test)]
mod tests;
