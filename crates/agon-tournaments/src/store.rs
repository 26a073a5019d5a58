//! All SQL of the tournaments service.

use agon_db::{Db, Flag, JsonText, ResultExt, Row, Tx, query, query_as};
use uuid::Uuid;

use crate::{
    bracket::{Bracket, Elimination, GrandFinal, Side},
    domain::{Draft, Format},
    error::Error,
    lifecycle::Status,
    standings::Points,
};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// A tournament as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct Tournament {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub format: String,
    #[sqlx(try_from = "Flag")]
    pub third_place: bool,
    pub grand_final: String,
    pub best_of: i64,
    pub status: String,
    pub capacity: i64,
    #[sqlx(try_from = "Flag")]
    pub open_entry: bool,
    pub registration_deadline: Option<String>,
    pub starts_at: String,
    pub time_zone: String,
    pub seeding: Option<String>,
    pub draw_seed: Option<i64>,
    pub field: i64,
    pub legs: i64,
    pub group_count: i64,
    pub rounds: i64,
    #[sqlx(try_from = "JsonText")]
    pub points: serde_json::Value,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub champion_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub created_by: Uuid,
    pub created_at: String,
    pub updated_at: String,
    /// Approved entries.
    pub participant_count: i64,
    /// Scheduling: how long a match takes, and the least rest of a player between two.
    pub match_minutes: i64,
    pub rest_minutes: i64,
    /// `organisers` or `players`.
    pub reporting: String,
}

impl Tournament {
    pub fn status(&self) -> Status {
        serde_json::from_value(serde_json::Value::String(self.status.clone()))
            .unwrap_or(Status::Cancelled)
    }

    pub fn format(&self) -> Format {
        match self.format.as_str() {
            "swiss" => Format::Swiss {
                rounds: u32::try_from(self.rounds).unwrap_or(1),
            },
            "round_robin" => Format::RoundRobin {
                legs: u32::try_from(self.legs).unwrap_or(1),
                groups: u32::try_from(self.group_count).unwrap_or(1),
            },
            "double_elimination" => {
                let grand_final =
                    serde_json::from_value(serde_json::Value::String(self.grand_final.clone()))
                        .unwrap_or(GrandFinal::Reset);
                Format::Elimination(Elimination::Double { grand_final })
            }
            _ => Format::Elimination(Elimination::Single {
                third_place: self.third_place,
            }),
        }
    }

    pub fn reporting(&self) -> crate::domain::Reporting {
        serde_json::from_value(serde_json::Value::String(self.reporting.clone()))
            .unwrap_or_default()
    }

    pub fn points(&self) -> Points {
        serde_json::from_value(self.points.clone()).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, name, description, format, third_place, grand_final, best_of, status, capacity, \
                       open_entry, registration_deadline, starts_at, time_zone, seeding, draw_seed, field, legs, \
                       group_count, points, rounds, champion_id, created_by, created_at, updated_at, \
                       match_minutes, rest_minutes, reporting, \
                       (select count(*) from participants p where p.tournament_id = tournaments.id \
                        and p.status = 'approved') as participant_count";

/// An entry.
#[derive(Debug, sqlx::FromRow)]
pub struct Participant {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub tournament_id: Uuid,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub user_id: Option<Uuid>,
    pub name: String,
    pub rating: Option<i64>,
    pub status: String,
    pub seed: Option<i64>,
    pub created_at: String,
}

const PARTICIPANT_COLUMNS: &str =
    "id, tournament_id, user_id, name, rating, status, seed, created_at";

/// A match's stored state.
#[derive(Debug, sqlx::FromRow)]
pub struct MatchRow {
    pub round: i64,
    pub number: i64,
    #[sqlx(try_from = "Flag")]
    pub drawn: bool,
    pub side0: Option<i64>,
    pub side1: Option<i64>,
    pub winner: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub void: bool,
    pub games: String,
    pub score: String,
    pub played_at: Option<String>,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub court_id: Option<Uuid>,
    pub starts_at: Option<String>,
    #[sqlx(try_from = "Flag")]
    pub pinned: bool,
}

fn side_value(side: Side) -> Option<i64> {
    match side {
        Side::Pending => None,
        Side::Bye => Some(0),
        Side::Seed(s) => Some(i64::from(s)),
    }
}

fn side_of(value: Option<i64>) -> Side {
    match value {
        None => Side::Pending,
        Some(0) => Side::Bye,
        Some(s) => Side::Seed(u32::try_from(s).unwrap_or(0)),
    }
}

mod leaderboard;
mod reports;
mod schedule;

pub use leaderboard::LeaderRow;
pub use reports::Report;
pub use schedule::{Court, Placement};

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn insert(
        &self,
        tx: &mut Tx,
        id: Uuid,
        by: Uuid,
        d: &Draft,
        now: &str,
    ) -> Result<(), Error> {
        let rounds = match d.format {
            Format::Swiss { rounds } => rounds,
            _ => 0,
        };
        let (third_place, grand_final, legs, groups) = match d.format {
            Format::Elimination(Elimination::Single { third_place }) => (third_place, "none", 1, 1),
            Format::Elimination(Elimination::Double { grand_final }) => (
                false,
                match grand_final {
                    GrandFinal::None => "none",
                    GrandFinal::Single => "single",
                    GrandFinal::Reset => "reset",
                },
                1,
                1,
            ),
            Format::RoundRobin { legs, groups } => (false, "none", legs, groups),
            Format::Swiss { .. } => (false, "none", 1, 1),
        };
        let format = crate::domain::format_name(d.format);
        query(
            "insert into tournaments (id, name, description, format, third_place, grand_final, best_of, status, \
             capacity, open_entry, registration_deadline, starts_at, time_zone, created_by, created_at, updated_at, \
             legs, group_count, points, rounds, reporting) \
             values ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17, $18, \
             $19)",
            (
                id.to_string(),
                &d.name,
                &d.description,
                format,
                i64::from(third_place),
                grand_final,
                d.best_of,
                d.capacity,
                i64::from(d.open_entry),
                d.registration_deadline.as_deref(),
                &d.starts_at,
                &d.time_zone,
                by.to_string(),
                now,
                i64::from(legs),
                i64::from(groups),
                serde_json::to_string(&d.points).unwrap_or_default(),
                i64::from(rounds),
                crate::lifecycle::name(&d.reporting),
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn tournament(&self, id: Uuid) -> Result<Option<Tournament>, Error> {
        let sql = format!("select {COLUMNS} from tournaments where id = $1");
        Ok(query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// The tournament, its row held for the rest of the transaction (entries, draws and results queue).
    pub async fn lock(&self, tx: &mut Tx, id: Uuid) -> Result<Tournament, Error> {
        query(
            "update tournaments set updated_at = updated_at where id = $1",
            (id.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        let sql = format!("select {COLUMNS} from tournaments where id = $1");
        query_as(sqlx::AssertSqlSafe(sql), (id.to_string(),))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(Error::NotFound(id))
    }

    /// A page of tournaments, newest first; drafts only for `organiser` (none: every draft, for administrators).
    pub async fn tournaments(
        &self,
        status: Option<&str>,
        (viewer, admin): (Uuid, bool),
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Tournament>, Error> {
        let sql = format!(
            "select {COLUMNS} from tournaments where ($1 = '' or id < $1) and ($2 = '' or status = $2) \
             and (status <> 'draft' or created_by = $3 or $4 = 1) order by id desc limit $5"
        );
        let before = before.map(|b| b.to_string()).unwrap_or_default();
        let params = (
            before,
            status.unwrap_or(""),
            viewer.to_string(),
            i64::from(admin),
            limit,
        );
        Ok(query_as(sqlx::AssertSqlSafe(sql), params)
            .fetch_all(self.db.pool())
            .await?)
    }

    pub async fn set_status(
        &self,
        tx: &mut Tx,
        id: Uuid,
        status: Status,
        now: &str,
    ) -> Result<(), Error> {
        let name = crate::lifecycle::name(&status);
        query(
            "update tournaments set status = $2, updated_at = $3 where id = $1",
            (id.to_string(), name, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn delete(&self, tx: &mut Tx, id: Uuid) -> Result<(), Error> {
        query("delete from tournaments where id = $1", (id.to_string(),))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The tournament's entries in the order they came; read inside `tx` when one is held.
    pub async fn participants(
        &self,
        tx: Option<&mut Tx>,
        tournament: Uuid,
    ) -> Result<Vec<Participant>, Error> {
        let sql = format!(
            "select {PARTICIPANT_COLUMNS} from participants where tournament_id = $1 order by created_at, id"
        );
        let q = query_as(sqlx::AssertSqlSafe(sql), (tournament.to_string(),));
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// One entry; read inside `tx` when one is held.
    pub async fn participant(
        &self,
        tx: Option<&mut Tx>,
        tournament: Uuid,
        id: Uuid,
    ) -> Result<Option<Participant>, Error> {
        let sql = format!(
            "select {PARTICIPANT_COLUMNS} from participants where tournament_id = $1 and id = $2"
        );
        let q = query_as(
            sqlx::AssertSqlSafe(sql),
            (tournament.to_string(), id.to_string()),
        );
        Ok(match tx {
            Some(tx) => q.fetch_optional(&mut **tx).await?,
            None => q.fetch_optional(self.db.pool()).await?,
        })
    }

    /// A member's entry in the tournament, whatever its status.
    pub async fn entry_of(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        user: Uuid,
    ) -> Result<Option<Participant>, Error> {
        let sql = format!(
            "select {PARTICIPANT_COLUMNS} from participants where tournament_id = $1 and user_id = $2"
        );
        Ok(query_as(
            sqlx::AssertSqlSafe(sql),
            (tournament.to_string(), user.to_string()),
        )
        .fetch_optional(&mut **tx)
        .await?)
    }

    /// A withdrawn entry comes back, with the name and rating given now.
    pub async fn reenter(
        &self,
        tx: &mut Tx,
        id: Uuid,
        (name, rating): (&str, Option<i64>),
        status: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update participants set name = $2, rating = $3, status = $4, seed = null, updated_at = $5 where id = $1",
            (id.to_string(), name, rating, status, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn approved_count(&self, tx: &mut Tx, tournament: Uuid) -> Result<i64, Error> {
        let row = query(
            "select count(*) as n from participants where tournament_id = $1 and status = 'approved'",
            (tournament.to_string(),),
        )
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn insert_participant(
        &self,
        tx: &mut Tx,
        (id, tournament): (Uuid, Uuid),
        (user, name, rating): (Option<Uuid>, &str, Option<i64>),
        status: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "insert into participants (id, tournament_id, user_id, name, rating, status, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
            (
                id.to_string(),
                tournament.to_string(),
                user.map(|u| u.to_string()),
                name,
                rating,
                status,
                now,
            ),
        )
        .execute(&mut **tx)
        .await
        .on_unique(|| Error::AlreadyEntered)?;
        Ok(())
    }

    pub async fn set_participant_status(
        &self,
        tx: &mut Tx,
        id: Uuid,
        status: &str,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update participants set status = $2, seed = null, updated_at = $3 where id = $1",
            (id.to_string(), status, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes a draw: the seeds of the approved participants (in order), the bracket's matches, and how it was
    /// made — replacing any earlier draw.
    pub async fn save_draw(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        seeds: &[Uuid],
        bracket: &Bracket,
        (seeding, draw_seed): (&str, Option<i64>),
    ) -> Result<(), Error> {
        let t = tournament.to_string();
        query(
            "update participants set seed = null where tournament_id = $1",
            (t.as_str(),),
        )
        .execute(&mut **tx)
        .await?;
        for (i, id) in seeds.iter().enumerate() {
            query(
                "update participants set seed = $2 where id = $1",
                (id.to_string(), i as i64 + 1),
            )
            .execute(&mut **tx)
            .await?;
        }
        query(
            "delete from matches where tournament_id = $1",
            (t.as_str(),),
        )
        .execute(&mut **tx)
        .await?;
        self.insert_matches(tx, tournament, 0, &bracket.matches)
            .await?;
        query(
            "update tournaments set seeding = $2, draw_seed = $3, field = $4 where id = $1",
            (t.as_str(), seeding, draw_seed, seeds.len() as i64),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds matches from `first` on (a draw's, or a new Swiss round's).
    pub async fn insert_matches(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        first: usize,
        matches: &[crate::bracket::Match],
    ) -> Result<(), Error> {
        let t = tournament.to_string();
        for (position, m) in (first..).zip(matches) {
            query(
                "insert into matches (id, tournament_id, position, stage, round, number, side0, side1, winner, \
                 void, group_no, games, score) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '[]', '')",
                (
                    Uuid::now_v7().to_string(),
                    t.as_str(),
                    position as i64,
                    m.stage.name(),
                    i64::from(m.round),
                    i64::from(m.number),
                    side_value(m.sides[0]),
                    side_value(m.sides[1]),
                    m.winner.map(|w| w as i64),
                    i64::from(m.void),
                    i64::from(m.group),
                ),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Takes a draw back: no seeds, no matches, taking entries again.
    pub async fn undo_draw(&self, tx: &mut Tx, tournament: Uuid, now: &str) -> Result<(), Error> {
        let t = tournament.to_string();
        for sql in [
            "update participants set seed = null where tournament_id = $1",
            "delete from matches where tournament_id = $1",
        ] {
            query(sql, (t.as_str(),)).execute(&mut **tx).await?;
        }
        query(
            "update tournaments set status = 'registration', seeding = null, draw_seed = null, field = 0, \
             updated_at = $2 where id = $1",
            (t.as_str(), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn matches(
        &self,
        tx: Option<&mut Tx>,
        tournament: Uuid,
    ) -> Result<Vec<MatchRow>, Error> {
        let q = query_as(
            "select round, number, drawn, side0, side1, winner, void, games, score, played_at, court_id, \
             starts_at, pinned from matches where tournament_id = $1 order by position",
            (tournament.to_string(),),
        );
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// The bracket as stored: its structure from the format and field, each match's state from its row.
    pub fn bracket(t: &Tournament, rows: &[MatchRow]) -> Bracket {
        let field = u32::try_from(t.field).unwrap_or(2);
        let mut bracket = match t.format() {
            Format::Elimination(format) => Bracket::new(format, field),
            Format::RoundRobin { legs, groups } => Bracket::round_robin(field, groups, legs),
            // Each Swiss round was paired from the standings of the ones before: the rows are the structure.
            Format::Swiss { .. } => Bracket {
                format: None,
                field,
                matches: rows
                    .iter()
                    .map(|r| {
                        let (round, number) = (r.round.max(1) as u32, r.number.max(1) as u32);
                        Bracket::swiss_match(round, number, 1, None)
                    })
                    .collect(),
            },
        };
        for (m, row) in bracket.matches.iter_mut().zip(rows) {
            m.sides = [side_of(row.side0), side_of(row.side1)];
            m.winner = row.winner.and_then(|w| usize::try_from(w).ok());
            m.void = row.void;
            m.drawn = row.drawn;
        }
        bracket
    }

    /// Writes the matches whose state differs from `rows`; the one at `played` gets its games and score.
    pub async fn save_matches(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        (rows, bracket): (&[MatchRow], &Bracket),
        played: (usize, &str, &str, &str),
    ) -> Result<(), Error> {
        let (at, games, score, now) = played;
        for (position, (m, row)) in bracket.matches.iter().zip(rows).enumerate() {
            let state = (
                side_value(m.sides[0]),
                side_value(m.sides[1]),
                m.winner.map(|w| w as i64),
                m.void,
            );
            let changed = state != (row.side0, row.side1, row.winner, row.void);
            if !changed && position != at {
                continue;
            }
            let (games, score, played_at) = if position == at {
                (games, score, Some(now))
            } else if m.winner.is_none() && !m.drawn {
                ("[]", "", None)
            } else {
                (
                    row.games.as_str(),
                    row.score.as_str(),
                    row.played_at.as_deref(),
                )
            };
            query(
                "update matches set side0 = $3, side1 = $4, winner = $5, void = $6, games = $7, score = $8, \
                 played_at = $9, drawn = $10 where tournament_id = $1 and position = $2",
                (
                    tournament.to_string(),
                    position as i64,
                    state.0,
                    state.1,
                    state.2,
                    i64::from(state.3),
                    games,
                    score,
                    played_at,
                    i64::from(m.drawn),
                ),
            )
            .execute(&mut **tx)
            .await?;
            Self::drop_reports(tx, tournament, position).await?;
        }
        Ok(())
    }

    pub async fn set_champion(
        &self,
        tx: &mut Tx,
        id: Uuid,
        champion: Option<Uuid>,
        now: &str,
    ) -> Result<(), Error> {
        query(
            "update tournaments set champion_id = $2, updated_at = $3 where id = $1",
            (id.to_string(), champion.map(|c| c.to_string()), now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
