//! A tournament's life — which status follows which, and what each allows — and how its field is seeded: pure
//! rules, no I/O.

use serde::{Deserialize, Serialize};

/// Where a tournament stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being set up by its organisers; invisible to members.
    Draft,
    /// Taking entries until its deadline or capacity.
    Registration,
    /// Drawn: the bracket or the rounds exist; reseeding is still allowed, as no match has been played.
    Seeded,
    Running,
    Paused,
    Completed,
    Cancelled,
}

/// What organisers do to a tournament.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    OpenRegistration,
    Draw,
    Start,
    Pause,
    Resume,
    Complete,
    Cancel,
}

/// Why something is refused in the tournament's present state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a tournament that is {} does not take {}", name(.0), name(.1))]
    Transition(Status, Action),
    #[error("registration is not open")]
    RegistrationClosed,
    #[error("the registration deadline has passed")]
    DeadlinePassed,
    #[error("the tournament is full")]
    Full,
    #[error("at least two approved participants are needed")]
    TooFew,
    #[error("the order must name every approved participant exactly once")]
    NotAPermutation,
    #[error("results are recorded while the tournament runs (and corrected once it is completed)")]
    NotRunning,
    #[error("play has begun: entries no longer change")]
    PlayBegun,
}

/// A status's or an action's name as the API writes it (`open_registration`).
pub(crate) fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Status {
    /// The status after `action`, or why it is refused.
    pub fn then(self, action: Action) -> Result<Status, Refused> {
        use Action as A;
        use Status as S;
        Ok(match (self, action) {
            (S::Draft, A::OpenRegistration) => S::Registration,
            // Drawing again reseeds, until the first match is played.
            (S::Registration | S::Seeded, A::Draw) => S::Seeded,
            (S::Seeded, A::Start) => S::Running,
            (S::Running, A::Pause) => S::Paused,
            (S::Paused, A::Resume) => S::Running,
            (S::Running, A::Complete) => S::Completed,
            (S::Draft | S::Registration | S::Seeded | S::Running | S::Paused, A::Cancel) => {
                S::Cancelled
            }
            (status, action) => return Err(Refused::Transition(status, action)),
        })
    }

    /// Results are recorded while the tournament runs, and only then.
    pub fn plays(self) -> bool {
        self == Status::Running
    }

    /// Organisers record results while the tournament runs, and correct them once it is completed (a corrected
    /// final names a new champion).
    pub fn takes_results(self) -> bool {
        matches!(self, Status::Running | Status::Completed)
    }

    /// Being played: the tournament must be cancelled before it is deleted.
    pub fn in_play(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }

    /// Entries may be withdrawn (or removed) until the draw is played.
    pub fn before_play(self) -> bool {
        matches!(self, Status::Draft | Status::Registration | Status::Seeded)
    }

    /// Finished one way or the other: nothing changes any more.
    pub fn closed(self) -> bool {
        matches!(self, Status::Completed | Status::Cancelled)
    }
}

/// Whether a member may ask to join now: registration open and its deadline (if any, in RFC 3339 UTC text, which
/// orders as time) not passed. Capacity is checked at approval.
pub fn may_join(status: Status, deadline: Option<&str>, now: &str) -> Result<(), Refused> {
    if status != Status::Registration {
        return Err(Refused::RegistrationClosed);
    }
    if deadline.is_some_and(|d| now > d) {
        return Err(Refused::DeadlinePassed);
    }
    Ok(())
}

/// Whether one more participant may be approved.
pub fn may_approve(approved: u32, capacity: u32) -> Result<(), Refused> {
    if approved >= capacity {
        return Err(Refused::Full);
    }
    Ok(())
}

/// An approved participant, as seeding sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entrant<Id> {
    pub id: Id,
    pub rating: Option<i64>,
}

/// How the field is ordered into seeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeding<Id> {
    /// The organisers' order, top seed first: every approved participant exactly once.
    Manual(Vec<Id>),
    /// Highest rating first; the unrated after the rated, in the order they joined.
    Rating,
    /// A shuffle replayable from its seed, which is recorded with the draw.
    Random(u64),
}

/// The field in seed order (`entrants` in the order they joined).
pub fn seeded<Id: Clone + PartialEq>(
    entrants: &[Entrant<Id>],
    seeding: &Seeding<Id>,
) -> Result<Vec<Id>, Refused> {
    if entrants.len() < 2 {
        return Err(Refused::TooFew);
    }
    Ok(match seeding {
        Seeding::Manual(order) => {
            let complete = order.len() == entrants.len()
                && entrants
                    .iter()
                    .all(|e| order.iter().filter(|o| **o == e.id).count() == 1);
            if !complete {
                return Err(Refused::NotAPermutation);
            }
            order.clone()
        }
        Seeding::Rating => {
            let mut ranked: Vec<(usize, &Entrant<Id>)> = entrants.iter().enumerate().collect();
            // Stable: equal ratings keep the order they joined in.
            ranked.sort_by_key(|(joined, e)| {
                (e.rating.is_none(), std::cmp::Reverse(e.rating), *joined)
            });
            ranked.into_iter().map(|(_, e)| e.id.clone()).collect()
        }
        Seeding::Random(seed) => {
            let ids: Vec<Id> = entrants.iter().map(|e| e.id.clone()).collect();
            crate::rounds::shuffled(&ids, *seed)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tournament_goes_from_draft_to_completed_and_nowhere_it_should_not() {
        use Action as A;
        let mut s = Status::Draft;
        for action in [
            A::OpenRegistration,
            A::Draw,
            A::Draw,
            A::Start,
            A::Pause,
            A::Resume,
            A::Complete,
        ] {
            s = s.then(action).unwrap();
        }
        assert_eq!(s, Status::Completed);
        assert!(
            s.then(A::Cancel).is_err(),
            "a completed tournament stays completed"
        );
        assert!(
            Status::Running.then(A::Draw).is_err(),
            "no reseeding once play began"
        );
        assert!(Status::Draft.then(A::Start).is_err());
        assert_eq!(Status::Paused.then(A::Cancel), Ok(Status::Cancelled));
        assert!(!Status::Paused.plays() && Status::Running.plays());
        assert!(Status::Seeded.before_play() && !Status::Running.before_play());
    }

    #[test]
    fn joining_needs_open_registration_before_its_deadline_and_approval_room() {
        let deadline = Some("2026-12-10T18:00:00.000000Z");
        assert_eq!(
            may_join(
                Status::Registration,
                deadline,
                "2026-12-10T17:59:59.000000Z"
            ),
            Ok(())
        );
        assert_eq!(
            may_join(
                Status::Registration,
                deadline,
                "2026-12-10T18:00:00.000001Z"
            ),
            Err(Refused::DeadlinePassed)
        );
        assert_eq!(
            may_join(Status::Seeded, None, "2026-01-01T00:00:00.000000Z"),
            Err(Refused::RegistrationClosed)
        );
        assert_eq!(may_approve(7, 8), Ok(()));
        assert_eq!(may_approve(8, 8), Err(Refused::Full));
    }

    fn field(ratings: &[Option<i64>]) -> Vec<Entrant<u32>> {
        (1..)
            .zip(ratings)
            .map(|(id, &rating)| Entrant { id, rating })
            .collect()
    }

    #[test]
    fn seeding_by_rating_manual_or_a_replayable_draw() {
        let f = field(&[Some(1200), None, Some(1500), Some(1200), None]);
        assert_eq!(seeded(&f, &Seeding::Rating), Ok(vec![3, 1, 4, 2, 5]));
        assert_eq!(
            seeded(&f, &Seeding::Manual(vec![5, 4, 3, 2, 1])),
            Ok(vec![5, 4, 3, 2, 1])
        );
        assert_eq!(
            seeded(&f, &Seeding::Manual(vec![5, 4, 3, 2, 2])),
            Err(Refused::NotAPermutation)
        );
        assert_eq!(
            seeded(&f, &Seeding::Manual(vec![5, 4, 3, 2])),
            Err(Refused::NotAPermutation)
        );
        let drawn = seeded(&f, &Seeding::Random(7)).unwrap();
        assert_eq!(seeded(&f, &Seeding::Random(7)).unwrap(), drawn);
        let mut sorted = drawn.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [1, 2, 3, 4, 5]);
        assert_eq!(
            seeded(&field(&[None]), &Seeding::Rating),
            Err(Refused::TooFew)
        );
    }
}
