use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::bracket::{Elimination, GrandFinal};

fn at(h: u32, m: u32) -> Instant {
    Utc.with_ymd_and_hms(2027, 1, 16, h, m, 0).unwrap()
}

fn rules(length: i64, rest: i64) -> Rules {
    Rules {
        length: Duration::minutes(length),
        rest: Duration::minutes(rest),
    }
}

fn day() -> Vec<Window> {
    vec![Window {
        start: at(9, 0),
        end: at(21, 0),
    }]
}

#[test]
fn eight_on_two_courts_wait_for_their_feeders_and_the_rest() {
    let bracket = Bracket::new(Elimination::Single { third_place: false }, 8);
    let jobs = jobs(&bracket);
    let places = plan(&jobs, 2, &day(), rules(30, 15), at(9, 0)).unwrap();
    let starts: Vec<(usize, Instant)> = places
        .iter()
        .map(|p| p.map(|p| (p.court, p.start)).unwrap())
        .collect();
    // Four quarter-finals in two slots, each semi-final 45 minutes after its later feeder began (30 + 15 rest,
    // on the next slot), the final after both.
    assert_eq!(
        starts,
        vec![
            (0, at(9, 0)),
            (1, at(9, 0)),
            (0, at(9, 30)),
            (1, at(9, 30)),
            (0, at(10, 0)),
            (0, at(10, 30)),
            (0, at(11, 30)),
        ]
    );
}

#[test]
fn a_match_placed_by_hand_is_checked_against_courts_players_and_feeders() {
    let bracket = Bracket::new(Elimination::Single { third_place: false }, 4);
    let jobs = jobs(&bracket);
    let r = rules(30, 10);
    let mut places = vec![None; 3];
    places[0] = Some(Place {
        court: 0,
        start: at(9, 0),
    });
    places[1] = Some(Place {
        court: 1,
        start: at(9, 0),
    });
    assert_eq!(
        check(
            &jobs,
            &places,
            2,
            r,
            (
                2,
                Place {
                    court: 0,
                    start: at(9, 20)
                }
            )
        ),
        Err(Conflict::Court(0))
    );
    assert_eq!(
        check(
            &jobs,
            &places,
            2,
            r,
            (
                2,
                Place {
                    court: 0,
                    start: at(9, 35)
                }
            )
        ),
        Err(Conflict::Feeder(0))
    );
    assert_eq!(
        check(
            &jobs,
            &places,
            2,
            r,
            (
                2,
                Place {
                    court: 0,
                    start: at(9, 40)
                }
            )
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &jobs,
            &places,
            2,
            r,
            (
                2,
                Place {
                    court: 2,
                    start: at(9, 40)
                }
            )
        ),
        Err(Conflict::NoCourt)
    );
    // Moving a semi-final past its final is refused the other way round.
    places[2] = Some(Place {
        court: 0,
        start: at(10, 0),
    });
    assert_eq!(
        check(
            &jobs,
            &places,
            2,
            r,
            (
                0,
                Place {
                    court: 0,
                    start: at(9, 30)
                }
            )
        ),
        Err(Conflict::Dependent(2))
    );
    // Seeds 1 and 4 meet in match 0: seed 1 cannot also be in a match beside it.
    let mut two = jobs.clone();
    two[1].players = vec![1, 2];
    assert_eq!(
        check(
            &two,
            &places,
            2,
            r,
            (
                1,
                Place {
                    court: 1,
                    start: at(9, 35)
                }
            )
        ),
        Err(Conflict::Player(0))
    );
}

#[test]
fn what_does_not_fit_plans_nothing() {
    let bracket = Bracket::new(Elimination::Single { third_place: false }, 16);
    let short = [Window {
        start: at(9, 0),
        end: at(10, 0),
    }];
    assert_eq!(
        plan(&jobs(&bracket), 2, &short, rules(30, 0), at(9, 0)),
        Err(NoRoom { unplaced: 11 })
    );
}

#[test]
fn windows_follow_the_clocks_of_their_zone() {
    use jiff::civil::{date, time};
    let madrid = "Europe/Madrid";
    let spring = local_window(
        madrid,
        date(2027, 3, 28),
        (time(1, 0, 0, 0), time(5, 0, 0, 0)),
    )
    .unwrap();
    assert_eq!(spring.end - spring.start, Duration::hours(3));
    assert_eq!(
        spring.start,
        Utc.with_ymd_and_hms(2027, 3, 28, 0, 0, 0).unwrap()
    );
    let autumn = local_window(
        madrid,
        date(2027, 10, 31),
        (time(1, 0, 0, 0), time(4, 0, 0, 0)),
    )
    .unwrap();
    assert_eq!(autumn.end - autumn.start, Duration::hours(4));
    // 02:30 never happens that night; 02:30 in October happens twice and is the first.
    let skipped = local_window(
        madrid,
        date(2027, 3, 28),
        (time(2, 30, 0, 0), time(5, 0, 0, 0)),
    );
    assert!(
        matches!(skipped, Err(LocalTimeError::Skipped(..))),
        "{skipped:?}"
    );
    let twice = local_window(
        madrid,
        date(2027, 10, 31),
        (time(2, 30, 0, 0), time(5, 0, 0, 0)),
    )
    .unwrap();
    assert_eq!(
        twice.start,
        Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap()
    );
    assert_eq!(
        local_window(
            madrid,
            date(2027, 1, 16),
            (time(18, 0, 0, 0), time(9, 0, 0, 0))
        ),
        Err(LocalTimeError::Backwards)
    );
    // The slots of the short spring night: 00:00, 00:45, 01:30, 02:15 UTC for 45-minute matches.
    assert_eq!(slots(&[spring], Duration::minutes(45)).len(), 4);
}

fn bracket_of(format: u8, field: u32) -> Bracket {
    match format {
        0 => Bracket::new(Elimination::Single { third_place: true }, field),
        1 => Bracket::new(
            Elimination::Double {
                grand_final: GrandFinal::Reset,
            },
            field,
        ),
        // A round robin grows as the square of its field: a dozen players make 66 matches.
        _ => Bracket::round_robin(field.min(12), 1, 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every planned match stands inside a window; no court holds two matches at once; no known player plays
    /// two matches within the rest of each other; every match starts after its feeders ended, plus the rest —
    /// checked pair by pair here, not by the planner's own check.
    #[test]
    fn a_plan_breaks_no_rule(
        format in 0u8..3, field in 2u32..40, courts in 1usize..5, length in 20i64..60, rest in 0i64..40,
    ) {
        let bracket = bracket_of(format, field);
        let jobs = jobs(&bracket);
        let r = rules(length, rest);
        let windows: Vec<Window> = (0..30)
            .map(|d| Window { start: at(8, 0) + Duration::days(d), end: at(22, 0) + Duration::days(d) })
            .collect();
        let places = plan(&jobs, courts, &windows, r, at(8, 0)).unwrap();
        for (i, job) in jobs.iter().enumerate() {
            let Some(p) = places[i] else {
                prop_assert!(job.skip);
                continue;
            };
            prop_assert!(!job.skip && p.court < courts);
            prop_assert!(windows.iter().any(|w| w.start <= p.start && p.start + r.length <= w.end));
            for (j, other) in jobs.iter().enumerate().filter(|&(j, _)| j != i) {
                let Some(q) = places[j] else { continue };
                let apart = |gap: Duration| p.start + r.length + gap <= q.start || q.start + r.length + gap <= p.start;
                if p.court == q.court {
                    prop_assert!(apart(Duration::zero()), "matches {} and {} share a court", i, j);
                }
                if job.players.iter().any(|x| other.players.contains(x)) {
                    prop_assert!(apart(r.rest), "matches {} and {} share a player without rest", i, j);
                }
            }
            for &f in &job.feeders {
                if let Some(fp) = places[f] {
                    prop_assert!(fp.start + r.length + r.rest <= p.start);
                }
            }
        }
    }
}
