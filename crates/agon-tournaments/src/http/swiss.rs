//! Swiss rounds: the first paired by seed (top half against bottom half), each next one from the standings once
//! the round before is complete — nearest in points, never a rematch, the bye to the lowest-placed player without
//! one.

use std::collections::{HashMap, HashSet};

use agon_kit::{AuthUser, Path};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{TournamentView, organised};
use crate::{
    State,
    bracket::{Bracket, Side},
    domain::Format,
    error::Error,
    lifecycle,
    rounds::{SwissStanding, swiss_round},
    store::{MatchRow, Store, Tournament},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new().routes(routes!(next_round))
}

/// Round 1 of a Swiss field: seed `i` meets seed `i + n/2`; with an odd field the last seed rests.
pub fn first_round(field: u32) -> Bracket {
    let half = field / 2;
    let mut matches: Vec<_> = (1..=half)
        .map(|i| Bracket::swiss_match(1, i, i, Some(i + half)))
        .collect();
    if field % 2 == 1 {
        matches.push(Bracket::swiss_match(1, half + 1, field, None));
    }
    Bracket {
        format: None,
        field,
        matches,
    }
}

/// Pairs the next Swiss round (organisers), once every match of the round before has its result.
#[utoipa::path(post, path = "/tournaments/{id}/rounds", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TournamentView), (status = 403), (status = 404), (status = 409)))]
async fn next_round(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<TournamentView>, Error> {
    organised(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    let Format::Swiss { rounds } = t.format() else {
        return Err(Error::NotSwiss);
    };
    if !t.status().plays() {
        return Err(lifecycle::Refused::NotRunning.into());
    }
    let rows = state.store.matches(Some(&mut tx), id).await?;
    let bracket = Store::bracket(&t, &rows);
    let last = bracket.matches.iter().map(|m| m.round).max().unwrap_or(0);
    if !bracket.finished() {
        return Err(Error::RoundUnfinished);
    }
    if last >= rounds {
        return Err(Error::RoundsDone);
    }
    let players = standings(&t, &bracket, &rows);
    let paired = swiss_round(&players).ok_or(Error::NoPairing)?;
    let round = last + 1;
    let mut matches: Vec<_> = (1..)
        .zip(&paired.pairs)
        .map(|(n, &(a, b))| Bracket::swiss_match(round, n, a, Some(b)))
        .collect();
    if let Some(rest) = paired.bye {
        matches.push(Bracket::swiss_match(
            round,
            matches.len() as u32 + 1,
            rest,
            None,
        ));
    }
    state
        .store
        .insert_matches(&mut tx, id, rows.len(), &matches)
        .await?;
    // Every match of the round before is played: nobody had a next match.
    super::announce::ready(&state, &mut tx, &t, &Default::default()).await?;
    tx.commit().await?;
    state.outbox.wake();
    let t = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    Ok(axum::Json(t.into()))
}

/// Each player as the next pairing sees them: points so far, the opponents met, and whether they had a bye.
fn standings(t: &Tournament, bracket: &Bracket, rows: &[MatchRow]) -> Vec<SwissStanding> {
    let table = super::play::tables(t, bracket, rows);
    let points: HashMap<u32, i64> = table
        .first()
        .map(|(_, lines)| lines.iter().map(|l| (l.seed, l.points)).collect())
        .unwrap_or_default();
    let mut standing: HashMap<u32, SwissStanding> = (1..=bracket.field)
        .map(|seed| {
            let s = SwissStanding {
                seed,
                points: points.get(&seed).copied().unwrap_or(0),
                opponents: HashSet::new(),
                had_bye: false,
            };
            (seed, s)
        })
        .collect();
    for m in &bracket.matches {
        match m.sides {
            [Side::Seed(a), Side::Seed(b)] => {
                standing.entry(a).and_modify(|s| _ = s.opponents.insert(b));
                standing.entry(b).and_modify(|s| _ = s.opponents.insert(a));
            }
            [Side::Seed(a), Side::Bye] => {
                standing.entry(a).and_modify(|s| s.had_bye = true);
            }
            _ => {}
        }
    }
    standing.into_values().collect()
}
