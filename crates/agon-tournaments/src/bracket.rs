//! Elimination brackets — who meets whom, and where winners and losers go — with byes that advance by
//! themselves: pure rules, no I/O.
//!
//! A field of `n` is drawn into the next power of two `P` in the standard seeded order (1 and 2 can only meet in
//! the final; byes go to the top seeds, so a bye never faces a bye in the first round). A match whose one side is a
//! bye is a walkover: its player advances at once. In double elimination the losers' bracket takes the first
//! round's losers, then, round by round, the survivors against the players dropping from the winners' bracket; a
//! bye that drops meets its opponent as a walkover too, and two byes make a void match that advances a bye.

use serde::{Deserialize, Serialize};

/// How the winners' and losers' champions settle a double elimination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrandFinal {
    /// No grand final: the winners' bracket champion wins; the losers' bracket champion is second.
    None,
    /// One match between the two champions.
    Single,
    /// One match, and a second when the losers' bracket champion wins the first (both then have lost once).
    Reset,
}

/// The elimination formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elimination {
    Single { third_place: bool },
    Double { grand_final: GrandFinal },
}

/// Which part of a bracket a match belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Winners,
    Losers,
    GrandFinal,
    ThirdPlace,
    /// A round robin's group: `Match::group` says which.
    Group,
    /// A Swiss round (`Match::round`); group 1.
    Swiss,
}

impl Stage {
    /// The stage's name as stored and shown (`grand_final`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Winners => "winners",
            Stage::Losers => "losers",
            Stage::GrandFinal => "grand_final",
            Stage::ThirdPlace => "third_place",
            Stage::Group => "group",
            Stage::Swiss => "swiss",
        }
    }
}

/// One side of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Waiting for the match it comes from.
    Pending,
    /// Nobody: the opponent advances without playing.
    Bye,
    /// A participant, by seed (1 is the top seed).
    Seed(u32),
}

/// Where a match's winner or loser goes: a match (by index) and its side (0 or 1).
pub type Target = Option<(usize, usize)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub stage: Stage,
    /// From 1, within the stage.
    pub round: u32,
    /// From 1, within the round.
    pub number: u32,
    pub sides: [Side; 2],
    pub winner_to: Target,
    pub loser_to: Target,
    /// The winning side, once decided (by a result, or a walkover against a bye).
    pub winner: Option<usize>,
    /// A void match: both sides byes, or a grand final reset that was not needed. Never played.
    pub void: bool,
    /// Round robin: the group (from 1); 0 in elimination.
    pub group: u32,
    /// Round robin: decided as a draw.
    pub drawn: bool,
}

impl Match {
    fn new(stage: Stage, round: u32, number: u32) -> Self {
        Self {
            stage,
            round,
            number,
            sides: [Side::Pending; 2],
            winner_to: None,
            loser_to: None,
            winner: None,
            void: false,
            group: 0,
            drawn: false,
        }
    }

    /// Both sides are players and the match is undecided: it can be played now.
    pub fn ready(&self) -> bool {
        self.winner.is_none()
            && !self.drawn
            && !self.void
            && matches!(self.sides, [Side::Seed(_), Side::Seed(_)])
    }

    /// A walkover: one side a player, the other a bye.
    pub fn walkover(&self) -> bool {
        matches!(
            self.sides,
            [Side::Seed(_), Side::Bye] | [Side::Bye, Side::Seed(_)]
        )
    }
}

/// Why a result is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    #[error("no such match")]
    NoMatch,
    #[error("the match is not ready: a side is still to be decided, or it is a walkover")]
    NotReady,
    #[error("the winner must be side 0 or 1")]
    BadSide,
    #[error("a match that depends on this result has been played")]
    DependentPlayed,
    #[error("an elimination match has a winner: no draw")]
    NoDraw,
}

/// A bracket being played: an elimination, or a round robin's matches (no match feeds another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bracket {
    /// None for a round robin.
    pub format: Option<Elimination>,
    pub field: u32,
    pub matches: Vec<Match>,
}

/// The seeds in bracket order for a draw of `size` (a power of two): seed `s` meets seed `size + 1 - s` in the
/// first round, and the halves are arranged so that the top seeds meet as late as possible.
pub fn seed_order(size: u32) -> Vec<u32> {
    let mut order = vec![1];
    while (order.len() as u32) < size {
        let next = 2 * order.len() as u32 + 1;
        order = order.iter().flat_map(|&s| [s, next - s]).collect();
    }
    order
}

impl Bracket {
    /// The bracket of a field of `field` participants (seeds 1…field), at least 2, byes already walked over.
    pub fn new(format: Elimination, field: u32) -> Self {
        let size = field.max(2).next_power_of_two();
        let rounds = size.trailing_zeros();
        let mut b = Bracket {
            format: Some(format),
            field,
            matches: Vec::new(),
        };
        let winners = b.winners_bracket(size, rounds);
        match format {
            Elimination::Single { third_place } => {
                if third_place && rounds >= 2 {
                    let third = b.push(Match::new(Stage::ThirdPlace, 1, 1));
                    for (side, semi) in winners[rounds as usize - 2].iter().enumerate() {
                        b.matches[*semi].loser_to = Some((third, side));
                    }
                }
            }
            Elimination::Double { grand_final } => b.losers_bracket(&winners, grand_final),
        }
        b.settle();
        b
    }

    /// The matches of a round robin of `field` seeds in `groups` snake-seeded groups, `legs` times each pairing.
    pub fn round_robin(field: u32, groups: u32, legs: u32) -> Self {
        let seeds: Vec<u32> = (1..=field).collect();
        let mut matches = Vec::new();
        for (g, group) in (1..).zip(crate::rounds::groups(&seeds, groups as usize)) {
            for (round, pairs) in (1..).zip(crate::rounds::round_robin(&group, legs)) {
                for (number, (a, b)) in (1..).zip(pairs) {
                    let mut m = Match::new(Stage::Group, round, number);
                    m.sides = [Side::Seed(a), Side::Seed(b)];
                    m.group = g;
                    matches.push(m);
                }
            }
        }
        Bracket {
            format: None,
            field,
            matches,
        }
    }

    /// A Swiss match of `round`: `a` against `b`, or `a` resting (a bye, won without play).
    pub fn swiss_match(round: u32, number: u32, a: u32, b: Option<u32>) -> Match {
        let mut m = Match::new(Stage::Swiss, round, number);
        m.group = 1;
        m.sides = [Side::Seed(a), b.map_or(Side::Bye, Side::Seed)];
        if b.is_none() {
            m.winner = Some(0);
        }
        m
    }

    /// Records a round robin's match as drawn (or corrects it to a draw).
    pub fn record_draw(&mut self, id: usize) -> Result<(), ResultError> {
        let m = self.matches.get_mut(id).ok_or(ResultError::NoMatch)?;
        if !matches!(m.stage, Stage::Group | Stage::Swiss) {
            return Err(ResultError::NoDraw);
        }
        m.winner = None;
        m.drawn = true;
        Ok(())
    }

    fn push(&mut self, m: Match) -> usize {
        self.matches.push(m);
        self.matches.len() - 1
    }

    /// The winners' bracket, round by round (match indexes), its first round drawn in seed order.
    fn winners_bracket(&mut self, size: u32, rounds: u32) -> Vec<Vec<usize>> {
        let order = seed_order(size);
        let mut all: Vec<Vec<usize>> = Vec::new();
        for round in 1..=rounds {
            let count = size >> round;
            let ids: Vec<usize> = (1..=count)
                .map(|n| self.push(Match::new(Stage::Winners, round, n)))
                .collect();
            if round == 1 {
                for (i, &id) in ids.iter().enumerate() {
                    let seed = |s: u32| {
                        if s <= self.field {
                            Side::Seed(s)
                        } else {
                            Side::Bye
                        }
                    };
                    self.matches[id].sides = [seed(order[2 * i]), seed(order[2 * i + 1])];
                }
            } else {
                for (i, &from) in all[round as usize - 2].iter().enumerate() {
                    self.matches[from].winner_to = Some((ids[i / 2], i % 2));
                }
            }
            all.push(ids);
        }
        all
    }

    /// The losers' bracket fed by `winners`, and the grand final.
    fn losers_bracket(&mut self, winners: &[Vec<usize>], grand_final: GrandFinal) {
        let mut round = 0;
        // Survivors of the losers' bracket so far, as (match, or the loser of a winners' match).
        let mut survivors: Vec<usize> = Vec::new();
        for (r, dropping) in winners.iter().enumerate() {
            if r == 0 {
                if dropping.len() == 1 {
                    // A field of two: the final's loser is the losers' bracket champion.
                    survivors = Vec::new();
                    break;
                }
                round += 1;
                let ids: Vec<usize> = (1..=dropping.len() as u32 / 2)
                    .map(|n| self.push(Match::new(Stage::Losers, round, n)))
                    .collect();
                for (i, &from) in dropping.iter().enumerate() {
                    self.matches[from].loser_to = Some((ids[i / 2], i % 2));
                }
                survivors = ids;
                continue;
            }
            // Survivors against the players dropping from this winners' round (in reverse order, which keeps
            // players who met in the winners' bracket apart for a round longer).
            round += 1;
            let ids: Vec<usize> = (1..=dropping.len() as u32)
                .map(|n| self.push(Match::new(Stage::Losers, round, n)))
                .collect();
            for (i, &from) in survivors.iter().enumerate() {
                self.matches[from].winner_to = Some((ids[i], 0));
            }
            for (i, &from) in dropping.iter().rev().enumerate() {
                self.matches[from].loser_to = Some((ids[i], 1));
            }
            survivors = ids;
            if survivors.len() > 1 {
                round += 1;
                let ids: Vec<usize> = (1..=survivors.len() as u32 / 2)
                    .map(|n| self.push(Match::new(Stage::Losers, round, n)))
                    .collect();
                for (i, &from) in survivors.iter().enumerate() {
                    self.matches[from].winner_to = Some((ids[i / 2], i % 2));
                }
                survivors = ids;
            }
        }
        if grand_final == GrandFinal::None {
            return;
        }
        let final_match = *winners.last().and_then(|r| r.first()).unwrap_or(&0);
        let gf = self.push(Match::new(Stage::GrandFinal, 1, 1));
        self.matches[final_match].winner_to = Some((gf, 0));
        match survivors.first() {
            Some(&lb_final) => self.matches[lb_final].winner_to = Some((gf, 1)),
            None => self.matches[final_match].loser_to = Some((gf, 1)),
        }
        if grand_final == GrandFinal::Reset {
            self.push(Match::new(Stage::GrandFinal, 2, 1));
        }
    }

    /// Advances what needs no play: walkovers against byes, and void matches that pass a bye on.
    fn settle(&mut self) {
        loop {
            let mut changed = false;
            for id in 0..self.matches.len() {
                let m = &self.matches[id];
                if m.winner.is_some() || m.void {
                    continue;
                }
                match m.sides {
                    [Side::Seed(_), Side::Bye] => self.decide(id, 0),
                    [Side::Bye, Side::Seed(_)] => self.decide(id, 1),
                    [Side::Bye, Side::Bye] => {
                        self.matches[id].void = true;
                        self.send(id, Side::Bye, Side::Bye);
                    }
                    _ => continue,
                }
                changed = true;
            }
            if !changed {
                return;
            }
        }
    }

    fn decide(&mut self, id: usize, winner: usize) {
        self.matches[id].winner = Some(winner);
        let sides = self.matches[id].sides;
        self.send(id, sides[winner], sides[1 - winner]);
        if self.matches[id].stage == Stage::GrandFinal && self.matches[id].round == 1 {
            self.after_grand_final(id, winner);
        }
    }

    /// The reset is played only when the losers' champion (side 1) won the first grand final.
    fn after_grand_final(&mut self, id: usize, winner: usize) {
        let sides = self.matches[id].sides;
        if let Some(reset) = self.matches.get_mut(id + 1)
            && reset.stage == Stage::GrandFinal
        {
            if winner == 1 {
                reset.sides = sides;
                reset.void = false;
            } else {
                reset.sides = [Side::Pending; 2];
                reset.void = true;
            }
        }
    }

    fn send(&mut self, id: usize, winner: Side, loser: Side) {
        let (to_w, to_l) = (self.matches[id].winner_to, self.matches[id].loser_to);
        if let Some((m, side)) = to_w {
            self.matches[m].sides[side] = winner;
        }
        if let Some((m, side)) = to_l {
            self.matches[m].sides[side] = loser;
        }
    }

    /// Records that `winner` (side 0 or 1) won match `id`, or corrects an earlier result while no match fed by it
    /// has been decided by play.
    pub fn record(&mut self, id: usize, winner: usize) -> Result<(), ResultError> {
        let m = self.matches.get(id).ok_or(ResultError::NoMatch)?;
        if winner > 1 {
            return Err(ResultError::BadSide);
        }
        if m.void || m.walkover() || !matches!(m.sides, [Side::Seed(_), Side::Seed(_)]) {
            return Err(ResultError::NotReady);
        }
        if self.matches[id].drawn {
            self.matches[id].drawn = false;
        } else if self.matches[id].winner.is_some() {
            if self.dependents_played(id) {
                return Err(ResultError::DependentPlayed);
            }
            self.undo(id);
        }
        self.decide(id, winner);
        self.settle();
        Ok(())
    }

    /// Whether a match fed by `id` has a result by play (walkovers it caused do not count: they are redone).
    fn dependents_played(&self, id: usize) -> bool {
        let m = &self.matches[id];
        let fed = [m.winner_to, m.loser_to]
            .into_iter()
            .flatten()
            .map(|(t, _)| t)
            .chain(self.reset_of(id));
        fed.into_iter().any(|t| {
            let next = &self.matches[t];
            (next.winner.is_some() && !next.walkover()) || self.dependents_played_by_walkover(t)
        })
    }

    fn dependents_played_by_walkover(&self, id: usize) -> bool {
        let m = &self.matches[id];
        m.winner.is_some() && m.walkover() && self.dependents_played(id)
    }

    /// The reset match of a first grand final.
    fn reset_of(&self, id: usize) -> Option<usize> {
        let m = &self.matches[id];
        let next = self.matches.get(id + 1)?;
        (m.stage == Stage::GrandFinal && m.round == 1 && next.stage == Stage::GrandFinal)
            .then_some(id + 1)
    }

    /// Takes a result back, with what it advanced (walkovers and void matches it caused included).
    fn undo(&mut self, id: usize) {
        let m = self.matches[id].clone();
        for (target, side) in [m.winner_to, m.loser_to].into_iter().flatten() {
            if self.matches[target].winner.is_some() || self.matches[target].void {
                self.undo(target);
            }
            self.matches[target].sides[side] = Side::Pending;
        }
        if let Some(reset) = self.reset_of(id) {
            self.matches[reset].winner = None;
            self.matches[reset].sides = [Side::Pending; 2];
            self.matches[reset].void = false;
        }
        self.matches[id].winner = None;
        self.matches[id].void = false;
    }

    /// Every match decided or void: nothing is left to play (a third-place match included).
    pub fn finished(&self) -> bool {
        self.matches
            .iter()
            .all(|m| m.winner.is_some() || m.void || m.drawn)
    }

    /// The champion, once the bracket is decided.
    pub fn champion(&self) -> Option<u32> {
        let decisive = match self.format? {
            Elimination::Single { .. } => {
                self.matches.iter().rfind(|m| m.stage == Stage::Winners)?
            }
            Elimination::Double {
                grand_final: GrandFinal::None,
            } => self.matches.iter().rfind(|m| m.stage == Stage::Winners)?,
            Elimination::Double { .. } => {
                let finals: Vec<&Match> = self
                    .matches
                    .iter()
                    .filter(|m| m.stage == Stage::GrandFinal && !m.void)
                    .collect();
                finals.last().copied()?
            }
        };
        match decisive.sides[decisive.winner?] {
            Side::Seed(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
