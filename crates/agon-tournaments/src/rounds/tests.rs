use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;

#[test]
fn snake_groups_share_the_strong_and_the_weak() {
    let seeds: Vec<u32> = (1..=8).collect();
    assert_eq!(
        groups(&seeds, 3),
        [vec![1, 6, 7], vec![2, 5, 8], vec![3, 4]]
    );
}

#[test]
fn a_recorded_draw_replays() {
    let seeds: Vec<u32> = (1..=32).collect();
    assert_eq!(shuffled(&seeds, 42), shuffled(&seeds, 42));
    assert_ne!(shuffled(&seeds, 42), shuffled(&seeds, 43));
    let mut again = shuffled(&seeds, 42);
    again.sort_unstable();
    assert_eq!(again, seeds);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every pair meets once per leg, nobody plays twice in a round, and the rounds are as few as possible.
    #[test]
    fn round_robin_pairs_everyone_the_right_number_of_times(n in 2u32..=128, legs in 1u32..=2, groups_of in 1usize..=4) {
        let seeds: Vec<u32> = (1..=n).collect();
        for group in groups(&seeds, groups_of.min(n as usize / 2).max(1)) {
            let rounds = round_robin(&group, legs);
            let size = group.len() as u32 + group.len() as u32 % 2;
            prop_assert_eq!(rounds.len() as u32, (size - 1) * legs);
            let mut met: HashMap<(u32, u32), u32> = HashMap::new();
            let mut sides: HashMap<(u32, u32), u32> = HashMap::new();
            for round in &rounds {
                let mut busy = HashSet::new();
                for &(a, b) in round {
                    prop_assert!(busy.insert(a) && busy.insert(b), "twice in one round");
                    *met.entry((a.min(b), a.max(b))).or_default() += 1;
                    *sides.entry((a, b)).or_default() += 1;
                }
            }
            let k = group.len();
            prop_assert_eq!(met.len(), k * (k - 1) / 2);
            prop_assert!(met.values().all(|&c| c == legs));
            if legs == 2 {
                // Each pair once on each side.
                prop_assert!(sides.values().all(|&c| c == 1));
            }
        }
    }

    /// Swiss rounds (as many as the field's log2, rounded up) never pair a rematch, and nobody rests twice.
    #[test]
    fn swiss_never_rematches(n in 2u32..=128, results in any::<u64>()) {
        let rounds = 32 - (n - 1).leading_zeros();
        let mut table: Vec<SwissStanding> = (1..=n)
            .map(|seed| SwissStanding { seed, points: 0, opponents: HashSet::new(), had_bye: false })
            .collect();
        let mut bits = results;
        for _ in 0..rounds {
            let SwissRound { pairs, bye } = swiss_round(&table).expect("a pairing without rematches");
            prop_assert_eq!(pairs.len() * 2 + usize::from(bye.is_some()), n as usize);
            if let Some(bye) = bye {
                let p = &mut table[bye as usize - 1];
                prop_assert!(!p.had_bye, "a second bye");
                p.had_bye = true;
                p.points += 2;
            }
            for (a, b) in pairs {
                prop_assert!(!table[a as usize - 1].opponents.contains(&b), "rematch {} v {}", a, b);
                table[a as usize - 1].opponents.insert(b);
                table[b as usize - 1].opponents.insert(a);
                bits = bits.rotate_left(1);
                let winner = if bits & 1 == 0 { a } else { b };
                table[winner as usize - 1].points += 2;
            }
        }
    }
}
