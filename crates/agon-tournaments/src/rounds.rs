//! Round robin, groups, Swiss pairings and seeding: pure rules, no I/O. Players are seeds (1 is the top seed).

use std::collections::HashSet;

use rand::{SeedableRng, seq::SliceRandom};

/// The rounds of a round robin among `players` by the circle method: everyone meets everyone once per leg, nobody
/// plays twice in a round; with an odd field one player rests each round. The second leg swaps the sides.
pub fn round_robin(players: &[u32], legs: u32) -> Vec<Vec<(u32, u32)>> {
    let mut circle: Vec<Option<u32>> = players.iter().copied().map(Some).collect();
    if circle.len() % 2 == 1 {
        circle.push(None);
    }
    let size = circle.len();
    let mut first_leg = Vec::with_capacity(size.saturating_sub(1));
    for round in 0..size.saturating_sub(1) {
        let pairs: Vec<(u32, u32)> = (0..size / 2)
            .filter_map(|i| match (circle[i], circle[size - 1 - i]) {
                // The fixed player alternates sides, so sides even out over the rounds.
                (Some(a), Some(b)) if i == 0 && round % 2 == 1 => Some((b, a)),
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            })
            .collect();
        first_leg.push(pairs);
        circle[1..].rotate_right(1);
    }
    let mut all = Vec::with_capacity(first_leg.len() * legs as usize);
    for leg in 0..legs {
        for round in &first_leg {
            let swap = |&(a, b): &(u32, u32)| if leg % 2 == 1 { (b, a) } else { (a, b) };
            all.push(round.iter().map(swap).collect());
        }
    }
    all
}

/// `seeds` (in seed order) into `count` groups, snaking (1–2–3–3–2–1…), so every group gets a fair share of the
/// strong and the weak.
pub fn groups(seeds: &[u32], count: usize) -> Vec<Vec<u32>> {
    let count = count.max(1);
    let mut groups = vec![Vec::new(); count];
    for (i, &seed) in seeds.iter().enumerate() {
        let (lap, at) = (i / count, i % count);
        let group = if lap % 2 == 0 { at } else { count - 1 - at };
        groups[group].push(seed);
    }
    groups
}

/// Where a player stands before a Swiss round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwissStanding {
    pub seed: u32,
    /// Points so far, in whatever unit the tournament counts (only their order matters).
    pub points: i64,
    pub opponents: HashSet<u32>,
    pub had_bye: bool,
}

/// A Swiss round: its pairings, and the player who rests (an odd field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwissRound {
    pub pairs: Vec<(u32, u32)>,
    pub bye: Option<u32>,
}

/// The pairings of the next Swiss round: players ordered by points (then seed) meet the nearest player in that
/// order they have not met yet; with an odd field the lowest-placed player without a bye yet rests. `None` when
/// no pairing without a rematch exists (or none is found within a bounded search).
pub fn swiss_round(standings: &[SwissStanding]) -> Option<SwissRound> {
    let mut order: Vec<&SwissStanding> = standings.iter().collect();
    order.sort_by(|a, b| b.points.cmp(&a.points).then(a.seed.cmp(&b.seed)));
    let mut byes: Vec<Option<usize>> = vec![None];
    if order.len() % 2 == 1 {
        // From the bottom up, those without a bye first; when everyone has had one, anyone may rest again.
        let (fresh, rested): (Vec<usize>, Vec<usize>) =
            (0..order.len()).rev().partition(|&i| !order[i].had_bye);
        byes = fresh.into_iter().chain(rested).map(Some).collect();
    }
    // One budget for the whole search, whichever player rests.
    let mut budget = 200_000_u32;
    for bye in byes {
        let players: Vec<&SwissStanding> = order
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != bye)
            .map(|(_, p)| *p)
            .collect();
        let mut paired = vec![false; players.len()];
        let mut pairs = Vec::with_capacity(players.len() / 2);
        if pair(&players, &mut paired, &mut pairs, &mut budget) {
            return Some(SwissRound {
                pairs,
                bye: bye.map(|i| order[i].seed),
            });
        }
    }
    None
}

/// Depth-first: the first unpaired player meets the first unpaired player below them they have not met.
fn pair(
    players: &[&SwissStanding],
    paired: &mut [bool],
    pairs: &mut Vec<(u32, u32)>,
    budget: &mut u32,
) -> bool {
    let Some(a) = paired.iter().position(|p| !p) else {
        return true;
    };
    paired[a] = true;
    for b in a + 1..players.len() {
        if paired[b] || players[a].opponents.contains(&players[b].seed) {
            continue;
        }
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        paired[b] = true;
        pairs.push((players[a].seed, players[b].seed));
        if pair(players, paired, pairs, budget) {
            return true;
        }
        pairs.pop();
        paired[b] = false;
    }
    paired[a] = false;
    false
}

/// `items` in a random order that `seed` fixes: the same seed draws the same order, so a random draw can be
/// recorded and replayed (ChaCha8, whose stream is specified, not an implementation detail).
pub fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = items.to_vec();
    out.shuffle(&mut rng);
    out
}

#[cfg(test)]
mod tests;
