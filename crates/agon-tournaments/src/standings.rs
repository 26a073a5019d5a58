//! Standings of round robins and Swiss rounds: points for each result and tie-breakers, pure and ordered the same
//! way every time.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Points for a result. Defaults: 3 for a win, 1 for a draw, 0 for a loss, 3 for a bye (a bye is a win without
/// an opponent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Points {
    pub win: i64,
    pub draw: i64,
    pub loss: i64,
    pub bye: i64,
}

impl Default for Points {
    fn default() -> Self {
        Self {
            win: 3,
            draw: 1,
            loss: 0,
            bye: 3,
        }
    }
}

/// What separates players level on points, applied in the order given; the seed decides last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    /// Points in the matches among the players level on points.
    HeadToHead,
    /// Games won minus games lost.
    GameDifference,
    GamesWon,
    /// The sum of the opponents' points (Swiss).
    Buchholz,
}

/// The result of one played match between seeds `a` and `b`, with the games each won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    pub a: u32,
    pub b: u32,
    /// `Some(true)`: `a` won; `Some(false)`: `b` won; `None`: a draw.
    pub a_won: Option<bool>,
    pub games: (u32, u32),
}

/// One line of the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Line {
    pub seed: u32,
    /// 1 for the first line.
    pub rank: u32,
    pub played: u32,
    pub won: u32,
    pub drawn: u32,
    pub lost: u32,
    pub byes: u32,
    pub points: i64,
    pub games_won: i64,
    pub games_lost: i64,
    pub buchholz: i64,
}

/// The table of `players` after `results` and `byes` (seeds that rested), ordered by points, then `tie_breaks`,
/// then seed.
pub fn table(
    players: &[u32],
    results: &[Played],
    byes: &[u32],
    points: Points,
    tie_breaks: &[TieBreak],
) -> Vec<Line> {
    let mut lines: HashMap<u32, Line> = players
        .iter()
        .map(|&seed| {
            (
                seed,
                Line {
                    seed,
                    ..Line::default()
                },
            )
        })
        .collect();
    for r in results {
        for (me, mine, theirs, won) in [
            (r.a, r.games.0, r.games.1, r.a_won),
            (r.b, r.games.1, r.games.0, r.a_won.map(|w| !w)),
        ] {
            let Some(line) = lines.get_mut(&me) else {
                continue;
            };
            line.played += 1;
            line.games_won += i64::from(mine);
            line.games_lost += i64::from(theirs);
            match won {
                Some(true) => (line.won, line.points) = (line.won + 1, line.points + points.win),
                Some(false) => {
                    (line.lost, line.points) = (line.lost + 1, line.points + points.loss)
                }
                None => (line.drawn, line.points) = (line.drawn + 1, line.points + points.draw),
            }
        }
    }
    for seed in byes {
        if let Some(line) = lines.get_mut(seed) {
            line.byes += 1;
            line.points += points.bye;
        }
    }
    let total: HashMap<u32, i64> = lines.iter().map(|(s, l)| (*s, l.points)).collect();
    for r in results {
        for (me, opponent) in [(r.a, r.b), (r.b, r.a)] {
            if let Some(line) = lines.get_mut(&me) {
                line.buchholz += total.get(&opponent).copied().unwrap_or(0);
            }
        }
    }
    let head_to_head = head_to_head(&lines, results, points);
    let mut ordered: Vec<Line> = lines.into_values().collect();
    ordered.sort_by(|x, y| {
        let mut order = y.points.cmp(&x.points);
        for tb in tie_breaks {
            order = order.then_with(|| match tb {
                TieBreak::HeadToHead => head_to_head[&y.seed].cmp(&head_to_head[&x.seed]),
                TieBreak::GameDifference => {
                    (y.games_won - y.games_lost).cmp(&(x.games_won - x.games_lost))
                }
                TieBreak::GamesWon => y.games_won.cmp(&x.games_won),
                TieBreak::Buchholz => y.buchholz.cmp(&x.buchholz),
            });
        }
        order.then(x.seed.cmp(&y.seed))
    });
    for (rank, line) in (1..).zip(ordered.iter_mut()) {
        line.rank = rank;
    }
    ordered
}

/// For each player, the points they took from the players level with them on points.
fn head_to_head(
    lines: &HashMap<u32, Line>,
    results: &[Played],
    points: Points,
) -> HashMap<u32, i64> {
    let mut h2h: HashMap<u32, i64> = lines.keys().map(|s| (*s, 0)).collect();
    for r in results {
        let level = lines
            .get(&r.a)
            .zip(lines.get(&r.b))
            .is_some_and(|(a, b)| a.points == b.points);
        if !level {
            continue;
        }
        let (a, b) = match r.a_won {
            Some(true) => (points.win, points.loss),
            Some(false) => (points.loss, points.win),
            None => (points.draw, points.draw),
        };
        *h2h.entry(r.a).or_default() += a;
        *h2h.entry(r.b).or_default() += b;
    }
    h2h
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn won(a: u32, b: u32, games: (u32, u32)) -> Played {
        Played {
            a,
            b,
            a_won: Some(games.0 > games.1),
            games,
        }
    }

    #[test]
    fn points_then_head_to_head_then_game_difference() {
        // 1 beats 2, 2 beats 3, 3 beats 1: level on 3 points each, and on head to head. Game difference decides.
        let results = [
            won(1, 2, (2, 1)),
            won(2, 3, (2, 0)),
            won(3, 1, (2, 1)),
            won(4, 1, (0, 2)),
        ];
        let tie_breaks = [TieBreak::HeadToHead, TieBreak::GameDifference];
        let t = table(&[1, 2, 3, 4], &results, &[], Points::default(), &tie_breaks);
        let order: Vec<u32> = t.iter().map(|l| l.seed).collect();
        // 1: 6 points (beat 2 and 4). 2 and 3: 3 points each; 2 beat 3 head to head.
        assert_eq!(order, [1, 2, 3, 4]);
        assert_eq!((t[0].points, t[0].won, t[0].lost), (6, 2, 1));
        assert_eq!(t.iter().map(|l| l.rank).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn draws_byes_and_buchholz() {
        let results = [
            Played {
                a: 1,
                b: 2,
                a_won: None,
                games: (1, 1),
            },
            won(3, 4, (1, 0)),
        ];
        let t = table(
            &[1, 2, 3, 4, 5],
            &results,
            &[5],
            Points::default(),
            &[TieBreak::Buchholz],
        );
        let by_seed = |s: u32| t.iter().find(|l| l.seed == s).unwrap().clone();
        assert_eq!((by_seed(1).points, by_seed(1).drawn), (1, 1));
        assert_eq!(
            (by_seed(5).points, by_seed(5).byes, by_seed(5).played),
            (3, 1, 0)
        );
        assert_eq!(by_seed(4).buchholz, 3, "its opponent's points");
        // 3 and 5 have 3 points; 3's opponent has 0, 5 had no opponent: 3 and 5 level on Buchholz, seed decides.
        assert_eq!(t[0].seed, 3);
    }

    proptest! {
        /// Points add up: every result gives out win+loss (or two draws), every bye its points; the table is in
        /// order of points and holds every player once.
        #[test]
        fn the_table_accounts_for_every_result(n in 2u32..=32, outcomes in proptest::collection::vec(0u8..3, 0..200)) {
            let players: Vec<u32> = (1..=n).collect();
            let rounds = crate::rounds::round_robin(&players, 1);
            let mut results = Vec::new();
            for (pair, outcome) in rounds.iter().flatten().zip(&outcomes) {
                let a_won = match outcome { 0 => Some(true), 1 => Some(false), _ => None };
                results.push(Played { a: pair.0, b: pair.1, a_won, games: (0, 0) });
            }
            let p = Points::default();
            let t = table(&players, &results, &[], p, &[TieBreak::HeadToHead, TieBreak::GameDifference]);
            prop_assert_eq!(t.len(), n as usize);
            let expected: i64 = results.iter().map(|r| if r.a_won.is_some() { p.win + p.loss } else { 2 * p.draw }).sum();
            prop_assert_eq!(t.iter().map(|l| l.points).sum::<i64>(), expected);
            prop_assert!(t.windows(2).all(|w| w[0].points >= w[1].points));
        }
    }
}
