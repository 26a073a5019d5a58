//! Play: the draw (seeding and the bracket), the matches, and results with their corrections.

use std::collections::HashMap;

use agon_kit::{AuthUser, Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{TournamentView, organised, schedule::CourtView, visible};
use crate::{
    State,
    bracket::{Bracket, Side, Stage},
    domain::Format,
    error::Error,
    lifecycle::{self, Action, Entrant, Seeding},
    standings::{self, Played, TieBreak},
    store::{Court, MatchRow, Participant, Report, Store, Tournament},
};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(draw))
        .routes(routes!(matches))
        .routes(routes!(one_match))
        .routes(routes!(standings))
}

/// How to seed the draw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draw {
    /// `rating` (default: highest first, the unrated last in the order they entered), `random` or `manual`.
    pub seeding: Option<String>,
    /// `manual`: every approved participant's id, top seed first.
    #[serde(default)]
    pub order: Vec<Uuid>,
    /// `random`: the draw's seed, to replay a draw (one is chosen and recorded when absent).
    pub seed: Option<u32>,
}

/// A side of a match: the participant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SideView {
    /// The participant's id.
    pub id: Uuid,
    /// The member, for an entry that is one.
    pub user_id: Option<Uuid>,
    pub name: String,
    pub seed: i64,
}

/// A match.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchView {
    /// The match's place in the bracket: what a result names.
    pub position: usize,
    /// `winners`, `losers`, `grand_final`, `third_place` or `group` (round robin).
    pub stage: String,
    /// Round robin: the group, from 1.
    pub group: u32,
    /// Round robin: a drawn match.
    pub drawn: bool,
    pub round: u32,
    pub number: u32,
    /// Each side: a participant, or none — a bye (`bye` true) or still to be decided.
    pub sides: [Option<SideView>; 2],
    pub byes: [bool; 2],
    pub winner_id: Option<Uuid>,
    /// The winning side, once decided.
    pub winner: Option<SideView>,
    /// Both players known and no result yet.
    pub ready: bool,
    /// Never played: two byes, or a grand final reset that was not needed.
    pub void: bool,
    /// Decided without play, against a bye.
    pub walkover: bool,
    #[schema(value_type = Vec<Vec<u32>>)]
    pub games: serde_json::Value,
    pub score: String,
    pub played_at: Option<String>,
    /// Where and when it is played, once scheduled.
    pub court: Option<CourtView>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Placed by hand: planning again leaves it there.
    pub pinned: bool,
    /// Where players report results: the reports waiting for the other side's, and whether two disagree.
    pub reports: Vec<ReportView>,
    pub disputed: bool,
}

/// A player's report of a match, waiting for the other side's.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// The reporting side's participant.
    pub participant_id: Uuid,
    pub winner_id: Option<Uuid>,
    pub draw: bool,
    #[schema(value_type = Vec<Vec<u32>>)]
    pub games: serde_json::Value,
    pub score: String,
    pub reported_at: String,
}

impl From<&Report> for ReportView {
    fn from(r: &Report) -> Self {
        Self {
            participant_id: r.participant_id,
            winner_id: r.winner_id,
            draw: r.drawn,
            games: serde_json::from_str(&r.games).unwrap_or_default(),
            score: r.score.clone(),
            reported_at: r.reported_at.clone(),
        }
    }
}

/// A result: the winner (or, in a round robin, a draw), and optionally the games (from side 0's point of view) and
/// the score as text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchResult {
    pub winner_id: Option<Uuid>,
    /// Round robin: the match was drawn (no `winner_id` then).
    #[serde(default)]
    pub draw: bool,
    #[serde(default)]
    pub games: Vec<[u32; 2]>,
    #[serde(default)]
    pub score: String,
}

/// The tournament after a draw, with the shape of what was drawn.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawView {
    #[serde(flatten)]
    pub tournament: TournamentView,
    pub bracket: BracketSummary,
}

/// The shape of a drawn bracket.
#[derive(Debug, Serialize, ToSchema)]
pub struct BracketSummary {
    /// Rounds of play: of the winners' bracket, of a group's schedule, or a Swiss tournament's rounds.
    pub rounds: u32,
    /// Matches in the bracket (Swiss: paired so far), byes and void matches left out.
    pub matches: usize,
    /// Matches to play in the first round.
    pub first_round: usize,
}

impl BracketSummary {
    fn of(t: &Tournament, bracket: &Bracket) -> Self {
        let main = |m: &&crate::bracket::Match| {
            matches!(m.stage, Stage::Winners | Stage::Group | Stage::Swiss)
        };
        let played = |m: &&crate::bracket::Match| !m.void && !m.sides.contains(&Side::Bye);
        let rounds = match t.format() {
            Format::Swiss { rounds } => rounds,
            _ => bracket
                .matches
                .iter()
                .filter(main)
                .map(|m| m.round)
                .max()
                .unwrap_or(0),
        };
        Self {
            rounds,
            matches: bracket.matches.iter().filter(played).count(),
            first_round: bracket
                .matches
                .iter()
                .filter(main)
                .filter(|m| m.round == 1)
                .filter(played)
                .count(),
        }
    }
}

/// Draws the bracket from the approved entries (organisers): the tournament becomes `seeded`. Drawing again
/// reseeds, until the tournament starts.
#[utoipa::path(post, path = "/tournaments/{id}/draw", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Draw,
    responses((status = 200, body = DrawView), (status = 403), (status = 404), (status = 409),
        (status = 422)))]
async fn draw(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
    Json(body): Json<Draw>,
) -> Result<axum::Json<DrawView>, Error> {
    organised(&state, &auth, id).await?;
    let now = agon_db::now_text();
    let mut tx = state.store.db().begin().await?;
    let t = state.store.lock(&mut tx, id).await?;
    let next = t.status().then(Action::Draw)?;
    let approved: Vec<Participant> = state
        .store
        .participants(Some(&mut tx), id)
        .await?
        .into_iter()
        .filter(|p| p.status == "approved")
        .collect();
    let entrants: Vec<Entrant<Uuid>> = approved
        .iter()
        .map(|p| Entrant {
            id: p.id,
            rating: p.rating,
        })
        .collect();
    let (seeding, name, recorded) = match body.seeding.as_deref().unwrap_or("rating") {
        "rating" => (Seeding::Rating, "rating", None),
        "manual" => (Seeding::Manual(body.order), "manual", None),
        "random" => {
            let seed = body.seed.unwrap_or_else(rand::random);
            (
                Seeding::Random(u64::from(seed)),
                "random",
                Some(i64::from(seed)),
            )
        }
        _ => {
            return Err(Error::invalid(
                "seeding",
                "must be rating, random or manual",
            ));
        }
    };
    let seeds = lifecycle::seeded(&entrants, &seeding)?;
    let field = seeds.len() as u32;
    let bracket = match t.format() {
        Format::Elimination(format) => Bracket::new(format, field),
        // Every group needs two players at least.
        Format::RoundRobin { groups, .. } if field < 2 * groups => {
            return Err(lifecycle::Refused::TooFew.into());
        }
        Format::RoundRobin { legs, groups } => Bracket::round_robin(field, groups, legs),
        Format::Swiss { rounds } if field <= rounds => {
            return Err(lifecycle::Refused::TooFew.into());
        }
        Format::Swiss { .. } => super::swiss::first_round(field),
    };
    state
        .store
        .save_draw(&mut tx, id, &seeds, &bracket, (name, recorded))
        .await?;
    state.store.set_status(&mut tx, id, next, &now).await?;
    tx.commit().await?;
    let t = state
        .store
        .tournament(id)
        .await?
        .ok_or(Error::NotFound(id))?;
    let summary = BracketSummary::of(&t, &bracket);
    Ok(axum::Json(DrawView {
        tournament: t.into(),
        bracket: summary,
    }))
}

/// The matches in bracket order, with their players.
#[utoipa::path(get, path = "/tournaments/{id}/matches", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<MatchView>), (status = 404)))]
async fn matches(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<MatchView>>, Error> {
    let t = visible(&state, &auth, id).await?;
    Ok(axum::Json(match_views(&state, &t).await?))
}

/// The tournament's matches as they stand, with their players and places.
pub(super) async fn match_views(state: &State, t: &Tournament) -> Result<Vec<MatchView>, Error> {
    let rows = state.store.matches(None, t.id).await?;
    let people = state.store.participants(None, t.id).await?;
    let courts = state.store.courts(None, t.id).await?;
    let reports = state.store.reports(None, t.id).await?;
    let bracket = Store::bracket(t, &rows);
    Ok(views(t, &bracket, &rows, (&people, &courts, &reports)))
}

fn views(
    t: &Tournament,
    bracket: &Bracket,
    rows: &[MatchRow],
    (people, courts, reports): (&[Participant], &[Court], &[Report]),
) -> Vec<MatchView> {
    let length = chrono::Duration::minutes(t.match_minutes);
    let by_seed: HashMap<i64, &Participant> =
        people.iter().filter_map(|p| Some((p.seed?, p))).collect();
    let side = |s: Side| match s {
        Side::Seed(seed) => by_seed.get(&i64::from(seed)).map(|p| SideView {
            id: p.id,
            user_id: p.user_id,
            name: p.name.clone(),
            seed: i64::from(seed),
        }),
        _ => None,
    };
    bracket
        .matches
        .iter()
        .zip(rows)
        .enumerate()
        .map(|(position, (m, row))| {
            let winner = m.winner.and_then(|w| side(m.sides[w]));
            let (court, starts_at, ends_at) = place_of(row, courts, length);
            let reports: Vec<ReportView> = (reports.iter())
                .filter(|r| r.position == position as i64)
                .map(ReportView::from)
                .collect();
            MatchView {
                position,
                stage: m.stage.name().into(),
                group: m.group,
                drawn: m.drawn,
                round: m.round,
                number: m.number,
                winner_id: winner.as_ref().map(|s| s.id),
                winner,
                sides: [side(m.sides[0]), side(m.sides[1])],
                byes: [m.sides[0] == Side::Bye, m.sides[1] == Side::Bye],
                ready: m.ready(),
                void: m.void,
                walkover: m.winner.is_some() && m.walkover(),
                games: serde_json::from_str(&row.games).unwrap_or_default(),
                score: row.score.clone(),
                played_at: row.played_at.clone(),
                court,
                starts_at,
                ends_at,
                pinned: row.pinned,
                disputed: reports.len() == 2,
                reports,
            }
        })
        .collect()
}

/// Where and when a match is played: its court, start and end.
fn place_of(
    row: &MatchRow,
    courts: &[Court],
    length: chrono::Duration,
) -> (Option<CourtView>, Option<String>, Option<String>) {
    let court = (row.court_id)
        .and_then(|id| courts.iter().find(|c| c.id == id))
        .map(|c| CourtView {
            id: c.id,
            name: c.name.clone(),
        });
    let ends_at = (row.starts_at.as_deref())
        .and_then(|s| agon_db::parse_time(s).ok())
        .map(|start| agon_db::time_text(start + length));
    (court, row.starts_at.clone(), ends_at)
}

/// One match, by its place in the bracket.
#[utoipa::path(get, path = "/tournaments/{id}/matches/{position}", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("position" = usize, Path)),
    responses((status = 200, body = MatchView), (status = 404)))]
async fn one_match(
    auth: AuthUser,
    state: State,
    Path((id, position)): Path<(Uuid, usize)>,
) -> Result<axum::Json<MatchView>, Error> {
    let t = visible(&state, &auth, id).await?;
    match_views(&state, &t)
        .await?
        .into_iter()
        .nth(position)
        .map(axum::Json)
        .ok_or(Error::MatchNotFound(position as i64))
}

/// The games each side won in a match, from its stored games (side 0's point of view).
fn games_won(row: Option<&MatchRow>) -> (u32, u32) {
    let games: Vec<[u32; 2]> = row
        .and_then(|r| serde_json::from_str(&r.games).ok())
        .unwrap_or_default();
    games.iter().fold((0, 0), |(a, b), [x, y]| {
        (a + u32::from(x > y), b + u32::from(y > x))
    })
}

pub(super) fn tables(
    t: &Tournament,
    bracket: &Bracket,
    rows: &[MatchRow],
) -> Vec<(u32, Vec<standings::Line>)> {
    let groups = bracket.matches.iter().map(|m| m.group).max().unwrap_or(0);
    (1..=groups)
        .map(|g| {
            let in_group: Vec<(usize, &crate::bracket::Match)> = bracket
                .matches
                .iter()
                .enumerate()
                .filter(|(_, m)| m.group == g)
                .collect();
            let mut players: Vec<u32> = in_group
                .iter()
                .flat_map(|(_, m)| m.sides)
                .filter_map(|s| match s {
                    Side::Seed(s) => Some(s),
                    _ => None,
                })
                .collect();
            players.sort_unstable();
            players.dedup();
            let results: Vec<Played> = in_group
                .iter()
                .filter(|(_, m)| m.winner.is_some() || m.drawn)
                .filter_map(|&(i, m)| match m.sides {
                    [Side::Seed(a), Side::Seed(b)] => Some(Played {
                        a,
                        b,
                        a_won: m.winner.map(|w| w == 0),
                        games: games_won(rows.get(i)),
                    }),
                    _ => None,
                })
                .collect();
            // A bye: a Swiss player resting, won without play.
            let byes: Vec<u32> = in_group
                .iter()
                .filter_map(|(_, m)| match m.sides {
                    [Side::Seed(a), Side::Bye] => Some(a),
                    _ => None,
                })
                .collect();
            let tie_breaks: &[TieBreak] = match t.format() {
                Format::Swiss { .. } => &[TieBreak::Buchholz, TieBreak::GameDifference],
                _ => &[
                    TieBreak::HeadToHead,
                    TieBreak::GameDifference,
                    TieBreak::GamesWon,
                ],
            };
            (
                g,
                standings::table(&players, &results, &byes, t.points(), tie_breaks),
            )
        })
        .collect()
}

/// A line of a group's table.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandingView {
    pub rank: u32,
    pub participant_id: Option<Uuid>,
    pub name: String,
    pub seed: u32,
    pub played: u32,
    pub won: u32,
    pub drawn: u32,
    pub lost: u32,
    pub points: i64,
}

/// A group's table.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupTable {
    pub group: u32,
    pub lines: Vec<StandingView>,
}

/// The round robin's tables (one per group): points for each result, then head to head among those level, then
/// game difference and games won, then seed.
#[utoipa::path(get, path = "/tournaments/{id}/standings", tag = "tournaments", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Vec<GroupTable>), (status = 404)))]
async fn standings(
    auth: AuthUser,
    state: State,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<GroupTable>>, Error> {
    let t = visible(&state, &auth, id).await?;
    let rows = state.store.matches(None, id).await?;
    let people = state.store.participants(None, id).await?;
    let bracket = Store::bracket(&t, &rows);
    let by_seed: HashMap<i64, &Participant> =
        people.iter().filter_map(|p| Some((p.seed?, p))).collect();
    let tables = match t.format() {
        Format::RoundRobin { .. } | Format::Swiss { .. } => tables(&t, &bracket, &rows),
        Format::Elimination(_) => Vec::new(),
    };
    Ok(axum::Json(
        tables
            .into_iter()
            .map(|(group, lines)| GroupTable {
                group,
                lines: lines
                    .into_iter()
                    .map(|l| {
                        let who = by_seed.get(&i64::from(l.seed));
                        StandingView {
                            rank: l.rank,
                            participant_id: who.map(|p| p.id),
                            name: who.map(|p| p.name.clone()).unwrap_or_default(),
                            seed: l.seed,
                            played: l.played,
                            won: l.won,
                            drawn: l.drawn,
                            lost: l.lost,
                            points: l.points,
                        }
                    })
                    .collect(),
            })
            .collect(),
    ))
}
