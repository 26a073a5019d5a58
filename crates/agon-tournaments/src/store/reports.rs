//! Players' own reports of their matches' results, waiting for the other side's.

use agon_db::{Flag, Tx, query, query_as};
use uuid::Uuid;

use super::Store;
use crate::error::Error;

/// A side's report of a match.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Report {
    pub position: i64,
    #[sqlx(try_from = "String")]
    pub participant_id: Uuid,
    #[sqlx(try_from = "agon_db::OptionalId")]
    pub winner_id: Option<Uuid>,
    #[sqlx(try_from = "Flag")]
    pub drawn: bool,
    pub games: String,
    pub score: String,
    pub reported_at: String,
}

impl Report {
    /// Whether two reports tell the same result: the same winner (or both a draw) and the same games.
    pub fn agrees(&self, other: &Report) -> bool {
        (self.winner_id, self.drawn, &self.games) == (other.winner_id, other.drawn, &other.games)
    }
}

impl Store {
    /// A side's report of a match, in place of its earlier one.
    pub async fn put_report(&self, tx: &mut Tx, tournament: Uuid, r: &Report) -> Result<(), Error> {
        query(
            "insert into reports (tournament_id, position, participant_id, winner_id, drawn, games, score, \
             reported_at) values ($1, $2, $3, $4, $5, $6, $7, $8) \
             on conflict (tournament_id, position, participant_id) do update set winner_id = excluded.winner_id, \
             drawn = excluded.drawn, games = excluded.games, score = excluded.score, \
             reported_at = excluded.reported_at",
            (
                tournament.to_string(),
                r.position,
                r.participant_id.to_string(),
                r.winner_id.map(|w| w.to_string()),
                i64::from(r.drawn),
                &r.games,
                &r.score,
                &r.reported_at,
            ),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The reports waiting in a tournament, by match; read inside `tx` when one is held.
    pub async fn reports(
        &self,
        tx: Option<&mut Tx>,
        tournament: Uuid,
    ) -> Result<Vec<Report>, Error> {
        let q = query_as(
            "select position, participant_id, winner_id, drawn, games, score, reported_at from reports \
             where tournament_id = $1 order by position, reported_at",
            (tournament.to_string(),),
        );
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// A match changed (a result, a side): the reports of it go.
    pub(super) async fn drop_reports(
        tx: &mut Tx,
        tournament: Uuid,
        position: usize,
    ) -> Result<(), Error> {
        query(
            "delete from reports where tournament_id = $1 and position = $2",
            (tournament.to_string(), position as i64),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
