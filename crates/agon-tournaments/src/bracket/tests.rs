use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const FORMATS: [Elimination; 5] = [
    Elimination::Single { third_place: false },
    Elimination::Single { third_place: true },
    Elimination::Double {
        grand_final: GrandFinal::None,
    },
    Elimination::Double {
        grand_final: GrandFinal::Single,
    },
    Elimination::Double {
        grand_final: GrandFinal::Reset,
    },
];

/// Plays every ready match, the winner chosen by `pick`, until nothing is ready; returns the losses by play of
/// each seed.
fn play_out(b: &mut Bracket, mut pick: impl FnMut(usize) -> usize) -> HashMap<u32, u32> {
    let mut losses = HashMap::new();
    while let Some(id) = b.matches.iter().position(Match::ready) {
        let winner = pick(id);
        let Side::Seed(loser) = b.matches[id].sides[1 - winner] else {
            unreachable!("a ready match has two players")
        };
        b.record(id, winner).unwrap();
        *losses.entry(loser).or_insert(0) += 1;
    }
    losses
}

#[test]
fn seeds_meet_in_the_standard_order() {
    assert_eq!(seed_order(2), [1, 2]);
    assert_eq!(seed_order(4), [1, 4, 2, 3]);
    assert_eq!(seed_order(8), [1, 8, 4, 5, 2, 7, 3, 6]);
}

#[test]
fn a_field_of_six_gives_the_top_two_seeds_byes_that_advance() {
    let b = Bracket::new(Elimination::Single { third_place: false }, 6);
    let first: Vec<[Side; 2]> = b.matches[..4].iter().map(|m| m.sides).collect();
    use Side::{Bye, Seed};
    assert_eq!(
        first,
        [
            [Seed(1), Bye],
            [Seed(4), Seed(5)],
            [Seed(2), Bye],
            [Seed(3), Seed(6)]
        ]
    );
    // The byes' players already wait in round 2.
    assert_eq!(b.matches[4].sides, [Seed(1), Side::Pending]);
    assert_eq!(b.matches[5].sides, [Seed(2), Side::Pending]);
}

#[test]
fn the_grand_final_reset_is_played_only_when_the_losers_champion_wins() {
    for (first_winner, reset_played) in [(0, false), (1, true)] {
        let mut b = Bracket::new(
            Elimination::Double {
                grand_final: GrandFinal::Reset,
            },
            4,
        );
        play_out(&mut b, |id| {
            if b_is_first_final(id) {
                first_winner
            } else {
                0
            }
        });
        let reset = b.matches.last().unwrap();
        assert_eq!(!reset.void, reset_played);
        assert!(b.champion().is_some());
    }
}

/// In a field of four with a reset, the first grand final is the second-to-last match.
fn b_is_first_final(id: usize) -> bool {
    // 3 winners' matches, 2 losers' matches, then the first grand final.
    id == 5
}

#[test]
fn a_result_is_corrected_only_while_nothing_after_it_is_played() {
    let mut b = Bracket::new(Elimination::Single { third_place: false }, 4);
    b.record(0, 0).unwrap();
    b.record(0, 1).unwrap(); // corrected: the final is not played yet
    assert_eq!(b.matches[2].sides[0], Side::Seed(4));
    b.record(1, 0).unwrap();
    b.record(2, 0).unwrap();
    let before = b.clone();
    assert_eq!(b.record(0, 0), Err(ResultError::DependentPlayed));
    assert_eq!(b, before, "a refused correction changes nothing");
    assert_eq!(b.champion(), Some(4));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every format and field size: each participant appears exactly once in the first round, byes only face
    /// players, and playing every match out gives exactly one champion.
    #[test]
    fn every_elimination_plays_out_to_one_champion(field in 2u32..=128, format in 0usize..5, picks in any::<u64>()) {
        let format = FORMATS[format];
        let mut b = Bracket::new(format, field);
        let first: Vec<&Match> = b.matches.iter().filter(|m| m.stage == Stage::Winners && m.round == 1).collect();
        let mut seen: Vec<u32> = first.iter().flat_map(|m| m.sides).filter_map(|s| match s {
            Side::Seed(s) => Some(s),
            _ => None,
        }).collect();
        seen.sort_unstable();
        prop_assert_eq!(seen, (1..=field).collect::<Vec<_>>());
        for m in &first {
            prop_assert!(matches!(m.sides, [Side::Seed(_), _]) || matches!(m.sides, [_, Side::Seed(_)]),
                "a bye never meets a bye in the first round");
        }
        let mut bits = picks;
        let losses = play_out(&mut b, |_| { bits = bits.rotate_left(1); (bits & 1) as usize });
        let champion = b.champion();
        prop_assert!(champion.is_some(), "{:?}", b.matches);
        let champion = champion.unwrap();
        // Nothing is left undecided.
        prop_assert!(b.finished());
        let out: Vec<u32> = (1..=field).filter(|s| *s != champion).collect();
        match format {
            Elimination::Single { .. } => {
                prop_assert_eq!(losses.get(&champion), None);
                // Everyone else lost their way out once in the main draw (plus, maybe, the third-place match).
                for s in out { prop_assert!(losses.get(&s).copied().unwrap_or(0) >= 1); }
            }
            Elimination::Double { grand_final } => {
                // Without a grand final the winners' champion wins unbeaten; with one, the champion may have lost once.
                let allowed = u32::from(grand_final != GrandFinal::None);
                prop_assert!(losses.get(&champion).copied().unwrap_or(0) <= allowed);
                for s in out {
                    let l = losses.get(&s).copied().unwrap_or(0);
                    prop_assert!(l <= 2, "seed {} lost {} times", s, l);
                }
            }
        }
    }

    /// A correction is accepted exactly while no match after it was played, and a refused one changes nothing.
    #[test]
    fn corrections_never_touch_played_matches(field in 2u32..=64, format in 0usize..5, stop in 0usize..200, picks in any::<u64>()) {
        let mut b = Bracket::new(FORMATS[format], field);
        let mut bits = picks;
        for _ in 0..stop {
            let Some(id) = b.matches.iter().position(Match::ready) else { break };
            bits = bits.rotate_left(1);
            b.record(id, (bits & 1) as usize).unwrap();
        }
        let played: Vec<usize> = (0..b.matches.len())
            .filter(|&i| b.matches[i].winner.is_some() && !b.matches[i].walkover())
            .collect();
        for id in played {
            let before = b.clone();
            let other = 1 - b.matches[id].winner.unwrap();
            match b.record(id, other) {
                Ok(()) => {
                    // Every other match decided by play before is still decided the same way.
                    for (i, (then, now)) in before.matches.iter().zip(&b.matches).enumerate() {
                        if i != id && then.winner.is_some() && !then.walkover() {
                            prop_assert_eq!(then, now);
                        }
                    }
                    b = before;
                }
                Err(ResultError::DependentPlayed) => prop_assert_eq!(&b, &before),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
