//! Results: recorded by organisers, or reported by both players where the tournament says so; corrected while no
//! match after them has been played, even once the tournament is completed; and the tournament's completion kept
//! in line with its bracket (the champion named once, and named again when a correction changes them).

use agon_kit::{AuthUser, Json, Path};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    announce, organised,
    play::{self, MatchResult, MatchView},
    visible,
};
use crate::{
    State,
    bracket::{Bracket, ResultError, Side, Stage},
    domain::{self, Format, Reporting},
    error::Error,
    lifecycle::{Refused, Status},
    store::{MatchRow, Participant, Report, Store, Tournament},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(result))
        .routes(routes!(report))
}

/// A tournament's play as it stands, read in the transaction that changes it.
pub(super) struct Play {
    pub t: Tournament,
    pub rows: Vec<MatchRow>,
    pub bracket: Bracket,
    pub people: Vec<Participant>,
}

impl Play {
    pub async fn load(state: &State, tx: &mut agon_db::Tx, t: Tournament) -> Result<Self, Error> {
        let rows = state.store.matches(Some(&mut *tx), t.id).await?;
        let people = state.store.participants(Some(&mut *tx), t.id).await?;
        let bracket = Store::bracket(&t, &rows);
        Ok(Self {
            t,
            rows,
            bracket,
            people,
        })
    }

    fn seeded(&self, seed: u32) -> Option<&Participant> {
        let seed = Some(i64::from(seed));
        self.people.iter().find(|p| p.seed == seed)
    }
}

/// A result checked against its match.
struct Outcome {
    /// The winning side (0 or 1); none for a draw.
    winner: Option<usize>,
    winner_id: Option<Uuid>,
    /// As stored: `[[6, 4], …]` from side 0's point of view.
    games: String,
    score: String,
}

/// Checks `body` as match `position`'s result: both players known, the winner one of them (or a draw where the
/// format has draws), the games those of a best-of-N won by the winner. A Swiss match's result is settled once
/// the next round has been paired from it.
fn checked(play: &Play, position: usize, body: MatchResult) -> Result<Outcome, Error> {
    if body.score.chars().count() > domain::SCORE_MAX_CHARS {
        return Err(Error::invalid("score", "must be at most 50 characters"));
    }
    let m = (play.bracket.matches.get(position)).ok_or(Error::MatchNotFound(position as i64))?;
    if !matches!(m.sides, [Side::Seed(_), Side::Seed(_)]) || m.void {
        return Err(ResultError::NotReady.into());
    }
    if m.stage == Stage::Swiss && play.bracket.matches.iter().any(|n| n.round > m.round) {
        return Err(ResultError::DependentPlayed.into());
    }
    let best_of = play.t.best_of;
    let winner = match (body.winner_id, body.draw) {
        (None, true) if matches!(m.stage, Stage::Group | Stage::Swiss) => {
            domain::check_draw_games(&body.games, best_of)
                .map_err(|e| Error::invalid_fields(vec![e]))?;
            None
        }
        (None, true) => return Err(ResultError::NoDraw.into()),
        (Some(winner_id), false) => {
            let side = (0..2)
                .find(|&i| {
                    let Side::Seed(seed) = m.sides[i] else {
                        return false;
                    };
                    play.seeded(seed).is_some_and(|p| p.id == winner_id)
                })
                .ok_or_else(|| {
                    Error::invalid("winner_id", "must be one of the match's two players")
                })?;
            domain::check_games(&body.games, best_of, side)
                .map_err(|e| Error::invalid_fields(vec![e]))?;
            Some(side)
        }
        _ => {
            return Err(Error::invalid(
                "winner_id",
                "name the winner, or set draw (and no winner)",
            ));
        }
    };
    Ok(Outcome {
        winner,
        winner_id: body.winner_id,
        games: serde_json::to_string(&body.games).unwrap_or_else(|_| "[]".into()),
        score: body.score.trim().to_owned(),
    })
}

/// Records `outcome` as match `position`'s result: the bracket advances (the loser too, in double elimination),
/// what changed is stored, the players hear of their next matches, and the tournament's completion follows.
async fn apply(
    state: &State,
    tx: &mut agon_db::Tx,
    play: &mut Play,
    (position, outcome): (usize, Outcome),
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let before = announce::next_matches(&play.bracket);
    match outcome.winner {
        None => play.bracket.record_draw(position)?,
        Some(side) => play.bracket.record(position, side)?,
    }
    let at = agon_db::time_text(now);
    let bracket = (play.rows.as_slice(), &play.bracket);
    let played = (
        position,
        outcome.games.as_str(),
        outcome.score.as_str(),
        at.as_str(),
    );
    state
        .store
        .save_matches(tx, play.t.id, bracket, played)
        .await?;
    let recorded = agon_messages::tournaments::ResultRecorded {
        tournament_id: play.t.id,
        position: position as i64,
        winner_id: outcome.winner_id,
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &recorded).await?;
    announce::ready(state, tx, &play.t, &before).await?;
    settle(state, tx, play, now).await
}

/// After a result: the tournament completes when nothing is left to play (a Swiss tournament after its last
/// round); a correction to a completed tournament names its champion again, or reopens play when the bracket is
/// no longer finished (a grand final's reset now needed).
async fn settle(
    state: &State,
    tx: &mut agon_db::Tx,
    play: &Play,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let completed = play.t.status() == Status::Completed;
    let last = play.bracket.matches.iter().map(|m| m.round).max();
    let rounds_left = matches!(play.t.format(), Format::Swiss { rounds } if last < Some(rounds));
    if play.bracket.finished() && (completed || !rounds_left) {
        return conclude(state, tx, play, now).await;
    }
    if completed {
        let at = agon_db::time_text(now);
        state.store.set_champion(tx, play.t.id, None, &at).await?;
        (state.store)
            .set_status(tx, play.t.id, Status::Running, &at)
            .await?;
    }
    Ok(())
}

/// Completes the tournament with its champion — the bracket's winner, or the top of its only table (a round robin
/// in several groups has none: each group has its winner) — and says so, once: a completed tournament whose
/// champion stays the same is left as it is.
pub(super) async fn conclude(
    state: &State,
    tx: &mut agon_db::Tx,
    play: &Play,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    // The games just recorded are in the rows now, for the tables' tie-breaks.
    let rows = state.store.matches(Some(&mut *tx), play.t.id).await?;
    let seed = match play.t.format() {
        Format::Elimination(_) => play.bracket.champion(),
        Format::RoundRobin { groups, .. } if groups > 1 => None,
        Format::RoundRobin { .. } | Format::Swiss { .. } => {
            let tables = play::tables(&play.t, &play.bracket, &rows);
            tables
                .first()
                .and_then(|(_, lines)| lines.first())
                .map(|l| l.seed)
        }
    };
    let champion = seed.and_then(|s| play.seeded(s));
    let champion_id = champion.map(|c| c.id);
    if play.t.status() == Status::Completed && champion_id == play.t.champion_id {
        return Ok(());
    }
    let at = agon_db::time_text(now);
    (state.store)
        .set_champion(tx, play.t.id, champion_id, &at)
        .await?;
    (state.store)
        .set_status(tx, play.t.id, Status::Completed, &at)
        .await?;
    let event = agon_messages::tournaments::TournamentCompleted {
        tournament_id: play.t.id,
        name: play.t.name.clone(),
        champion_id,
        champion_user_id: champion.and_then(|c| c.user_id),
        champion_name: champion.map(|c| c.name.clone()),
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    Ok(())
}

/// Records a match's result, or corrects it while no match it fed has been played (organisers, while the
/// tournament runs, and once it is completed). The winner advances — the loser too, in double elimination — and
/// the tournament completes with its champion; a correction that changes the champion says so again.
#[utoipa::path(put, path = "/tournaments/{id}/matches/{position}/result", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("position" = usize, Path)), request_body = MatchResult,
    responses((status = 200, body = Vec<MatchView>), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn result(
    auth: AuthUser,
    state: State,
    Path((id, position)): Path<(Uuid, usize)>,
    Json(body): Json<MatchResult>,
) -> Result<axum::Json<Vec<MatchView>>, Error> {
    organised(&state, &auth, id).await?;
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if !t.status().takes_results() {
        return Err(Refused::NotRunning.into());
    }
    let mut play = Play::load(&state, &mut tx, t).await?;
    let outcome = checked(&play, position, body)?;
    let now = chrono::Utc::now();
    apply(&state, &mut tx, &mut play, (position, outcome), now).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(axum::Json(play::match_views(&state, &play.t).await?))
}

/// Tells the organiser that match `position`'s players reported different results.
async fn disputed(
    tx: &mut agon_db::Tx,
    play: &Play,
    position: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Error> {
    let name = |side: Side| match side {
        Side::Seed(seed) => play.seeded(seed).map_or("?", |p| p.name.as_str()),
        _ => "?",
    };
    let sides = play.bracket.matches[position].sides;
    let event = agon_messages::tournaments::ResultDisputed {
        tournament_id: play.t.id,
        tournament_name: play.t.name.clone(),
        position: position as i64,
        organiser_id: play.t.created_by,
        players: format!("{} v {}", name(sides[0]), name(sides[1])),
        at: now,
    };
    agon_bus::enqueue(tx, crate::SERVICE, &event).await?;
    Ok(())
}

/// Where a player's report leaves the match.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// The other player has not reported yet.
    Waiting,
    /// Both reports agree: the result is recorded.
    Recorded,
    /// The reports disagree: the organisers decide (`PUT …/result`).
    Disputed,
}

/// A report's outcome, with the match as it now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reported {
    pub status: ReportStatus,
    #[serde(rename = "match")]
    pub the_match: MatchView,
}

/// Reports a match's result as one of its two players, in a tournament whose results its players report. When the
/// other player's report agrees, the result is recorded as an organiser's would be; reports that disagree wait,
/// `disputed`, for the organisers (who are told), whose result settles any match. Reporting again replaces one's
/// own report.
#[utoipa::path(post, path = "/tournaments/{id}/matches/{position}/reports", tag = "tournaments",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("position" = usize, Path)), request_body = MatchResult,
    responses((status = 200, body = Reported), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn report(
    auth: AuthUser,
    state: State,
    Path((id, position)): Path<(Uuid, usize)>,
    Json(body): Json<MatchResult>,
) -> Result<axum::Json<Reported>, Error> {
    if visible(&state, &auth, id).await?.reporting() != Reporting::Players {
        return Err(Error::OrganisersReport);
    }
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    if !t.status().plays() {
        return Err(Refused::NotRunning.into());
    }
    let mut play = Play::load(&state, &mut tx, t).await?;
    let m = (play.bracket.matches.get(position)).ok_or(Error::MatchNotFound(position as i64))?;
    let mine = |p: &&Participant| {
        let seed = p.seed.and_then(|s| u32::try_from(s).ok());
        p.user_id == Some(auth.user_id) && seed.is_some_and(|s| m.sides.contains(&Side::Seed(s)))
    };
    let me = play.people.iter().find(mine).ok_or(Error::NotYourMatch)?.id;
    // A decided match is corrected by the organisers only.
    if !m.ready() {
        return Err(ResultError::NotReady.into());
    }
    let outcome = checked(&play, position, body)?;
    let now = chrono::Utc::now();
    let report = Report {
        position: position as i64,
        participant_id: me,
        winner_id: outcome.winner_id,
        drawn: outcome.winner.is_none(),
        games: outcome.games.clone(),
        score: outcome.score.clone(),
        reported_at: agon_db::time_text(now),
    };
    state.store.put_report(&mut tx, id, &report).await?;
    let reports = state.store.reports(Some(&mut tx), id).await?;
    let other = (reports.iter()).find(|r| r.position == report.position && r.participant_id != me);
    let status = match other {
        None => ReportStatus::Waiting,
        Some(other) if other.agrees(&report) => {
            apply(&state, &mut tx, &mut play, (position, outcome), now).await?;
            ReportStatus::Recorded
        }
        Some(_) => {
            disputed(&mut tx, &play, position, now).await?;
            ReportStatus::Disputed
        }
    };
    tx.commit().await?;
    state.outbox.wake();
    let views = play::match_views(&state, &play.t).await?;
    let the_match = views
        .into_iter()
        .nth(position)
        .ok_or(Error::MatchNotFound(position as i64))?;
    Ok(axum::Json(Reported { status, the_match }))
}
