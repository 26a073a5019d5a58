//! The SQL of scheduling: courts, play windows, where each match stands, and members' calendar keys.

use agon_db::{Row, Tx, query, query_as};
use uuid::Uuid;

use super::Store;
use crate::error::Error;

/// A court of a tournament.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Court {
    #[sqlx(try_from = "String")]
    pub id: Uuid,
    pub name: String,
}

/// A time the venue is open, as stored (fixed-width RFC 3339 UTC).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowRow {
    pub starts_at: String,
    pub ends_at: String,
}

/// A match on a member's calendar.
#[derive(Debug, sqlx::FromRow)]
pub struct CalendarRow {
    #[sqlx(try_from = "String")]
    pub tournament_id: Uuid,
    pub tournament_name: String,
    pub match_minutes: i64,
    pub position: i64,
    pub round: i64,
    pub number: i64,
    pub starts_at: String,
    pub court: Option<String>,
    pub opponent: Option<String>,
}

/// Where a match goes: its court and start, and whether it was placed by hand.
pub struct Placement<'a> {
    pub position: usize,
    pub court: Option<Uuid>,
    pub starts_at: Option<&'a str>,
    pub pinned: bool,
}

impl Store {
    pub async fn courts(&self, tx: Option<&mut Tx>, tournament: Uuid) -> Result<Vec<Court>, Error> {
        let q = query_as(
            "select id, name from courts where tournament_id = $1 order by number",
            (tournament.to_string(),),
        );
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    pub async fn windows(
        &self,
        tx: Option<&mut Tx>,
        tournament: Uuid,
    ) -> Result<Vec<WindowRow>, Error> {
        let q = query_as(
            "select starts_at, ends_at from play_windows where tournament_id = $1 order by starts_at",
            (tournament.to_string(),),
        );
        Ok(match tx {
            Some(tx) => q.fetch_all(&mut **tx).await?,
            None => q.fetch_all(self.db.pool()).await?,
        })
    }

    /// Replaces the schedule's settings. Courts are kept by name (their matches stay on them); a court that is
    /// gone must hold no match.
    pub async fn set_schedule(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        (match_minutes, rest_minutes): (i64, i64),
        courts: &[String],
        windows: &[(String, String)],
        now: &str,
    ) -> Result<(), Error> {
        let t = tournament.to_string();
        let existing = self.courts(Some(&mut *tx), tournament).await?;
        for gone in existing.iter().filter(|c| !courts.contains(&c.name)) {
            let used = query(
                "select count(*) as n from matches where tournament_id = $1 and court_id = $2",
                (t.as_str(), gone.id.to_string()),
            )
            .fetch_one(&mut **tx)
            .await?;
            if used.try_get::<i64, _>("n")? > 0 {
                return Err(Error::CourtInUse(gone.name.clone()));
            }
            query("delete from courts where id = $1", (gone.id.to_string(),))
                .execute(&mut **tx)
                .await?;
        }
        for (number, name) in courts.iter().enumerate() {
            match existing.iter().find(|c| &c.name == name) {
                Some(court) => {
                    query(
                        "update courts set number = $2 where id = $1",
                        (court.id.to_string(), number as i64),
                    )
                    .execute(&mut **tx)
                    .await?;
                }
                None => {
                    query(
                        "insert into courts (id, tournament_id, name, number, created_at) values ($1, $2, $3, $4, $5)",
                        (Uuid::now_v7().to_string(), t.as_str(), name.as_str(), number as i64, now),
                    )
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        query(
            "delete from play_windows where tournament_id = $1",
            (t.as_str(),),
        )
        .execute(&mut **tx)
        .await?;
        for (starts_at, ends_at) in windows {
            query(
                "insert into play_windows (tournament_id, starts_at, ends_at) values ($1, $2, $3)",
                (t.as_str(), starts_at.as_str(), ends_at.as_str()),
            )
            .execute(&mut **tx)
            .await?;
        }
        query(
            "update tournaments set match_minutes = $2, rest_minutes = $3, updated_at = $4 where id = $1",
            (t.as_str(), match_minutes, rest_minutes, now),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes where matches stand.
    pub async fn place(
        &self,
        tx: &mut Tx,
        tournament: Uuid,
        placements: &[Placement<'_>],
    ) -> Result<(), Error> {
        for p in placements {
            query(
                "update matches set court_id = $3, starts_at = $4, pinned = $5 where tournament_id = $1 and position = $2",
                (
                    tournament.to_string(),
                    p.position as i64,
                    p.court.map(|c| c.to_string()),
                    p.starts_at,
                    i64::from(p.pinned),
                ),
            )
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// The member whose calendar key hashes to `key_hash`.
    pub async fn calendar_owner(&self, key_hash: &str) -> Result<Option<Uuid>, Error> {
        let row = query(
            "select user_id from calendar_keys where key_hash = $1",
            (key_hash,),
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row
            .map(|r| r.try_get::<String, _>("user_id"))
            .transpose()?
            .and_then(|id| Uuid::parse_str(&id).ok()))
    }

    /// Gives the member a new calendar key, ending the old one.
    pub async fn set_calendar_key(
        &self,
        user: Uuid,
        key_hash: &str,
        now: &str,
    ) -> Result<(), Error> {
        // One statement: two concurrent requests leave one key, never a failure on the primary key.
        query(
            "insert into calendar_keys (user_id, key_hash, created_at) values ($1, $2, $3) \
             on conflict (user_id) do update set key_hash = excluded.key_hash, created_at = excluded.created_at",
            (user.to_string(), key_hash, now),
        )
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Ends the member's calendar key (the account is deleted or banned): its feeds answer 404 from now on.
    pub async fn end_calendar_key(tx: &mut Tx, user: Uuid) -> Result<(), Error> {
        query(
            "delete from calendar_keys where user_id = $1",
            (user.to_string(),),
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The member's scheduled matches from `since` on, soonest first (at most `limit`), in every tournament that
    /// is not cancelled.
    pub async fn member_calendar(
        &self,
        user: Uuid,
        since: &str,
        limit: i64,
    ) -> Result<Vec<CalendarRow>, Error> {
        Ok(query_as(
            "select t.id as tournament_id, t.name as tournament_name, t.match_minutes, m.position, m.round, \
             m.number, m.starts_at, c.name as court, o.name as opponent \
             from participants p join tournaments t on t.id = p.tournament_id \
             join matches m on m.tournament_id = p.tournament_id and (m.side0 = p.seed or m.side1 = p.seed) \
             left join courts c on c.id = m.court_id \
             left join participants o on o.tournament_id = m.tournament_id and o.seed > 0 \
                  and o.seed = case when m.side0 = p.seed then m.side1 else m.side0 end \
             where p.user_id = $1 and p.status = 'approved' and p.seed is not null and m.starts_at is not null \
               and m.starts_at >= $2 and t.status <> 'cancelled' and m.void = 0 \
             order by m.starts_at, m.position limit $3",
            (user.to_string(), since, limit),
        )
        .fetch_all(self.db.pool())
        .await?)
    }
}
