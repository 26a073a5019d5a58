//! The SQL of the club leaderboard.

use agon_db::query_as;
use uuid::Uuid;

use super::Store;
use crate::error::Error;

/// A member's line on the club leaderboard.
#[derive(Debug, sqlx::FromRow)]
pub struct LeaderRow {
    /// The line's place in the order (1, 2, 3 …): the cursor.
    pub place: i64,
    pub rank: i64,
    #[sqlx(try_from = "String")]
    pub user_id: Uuid,
    /// The name of the member's newest entry.
    pub name: String,
    pub tournaments_played: i64,
    pub tournaments_won: i64,
    pub matches_won: i64,
    pub matches_lost: i64,
    pub points: i64,
    /// Members on the whole leaderboard.
    pub total: i64,
}

/// Every member's record across the club's tournaments, best first: 100 points for a tournament won, 10 for a
/// match won. A tournament counts once drawn; a match once played (walkovers and draws win nothing), for each
/// of the member's approved entries; guests entered by name have no line.
const LEADERBOARD: &str = "
with played as (
    select tournament_id, side0 as seed, case when winner = 0 then 1 else 0 end as won,
           case when winner = 1 then 1 else 0 end as lost
    from matches where played_at is not null and winner is not null and drawn = 0
    union all
    select tournament_id, side1, case when winner = 1 then 1 else 0 end, case when winner = 0 then 1 else 0 end
    from matches where played_at is not null and winner is not null and drawn = 0
), entries as (
    select p.id, p.user_id, p.tournament_id, p.seed, case when t.champion_id = p.id then 1 else 0 end as champion
    from participants p join tournaments t on t.id = p.tournament_id
    where p.user_id is not null and p.status = 'approved' and p.seed is not null
      and t.status in ('seeded', 'running', 'paused', 'completed')
), per_entry as (
    select e.user_id, e.champion, cast(coalesce(sum(pl.won), 0) as bigint) as won,
           cast(coalesce(sum(pl.lost), 0) as bigint) as lost
    from entries e left join played pl on pl.tournament_id = e.tournament_id and pl.seed = e.seed
    group by e.id, e.user_id, e.champion
), board as (
    select user_id, cast(count(*) as bigint) as tournaments_played,
           cast(sum(champion) as bigint) as tournaments_won, cast(sum(won) as bigint) as matches_won,
           cast(sum(lost) as bigint) as matches_lost, cast(100 * sum(champion) + 10 * sum(won) as bigint) as points
    from per_entry group by user_id
), ranked as (
    select board.*,
           cast(row_number() over (order by points desc, tournaments_won desc, matches_won desc, user_id) as bigint)
               as place,
           cast(rank() over (order by points desc, tournaments_won desc, matches_won desc) as bigint) as rank,
           cast(count(*) over () as bigint) as total
    from board
)
select place, rank, user_id, tournaments_played, tournaments_won, matches_won, matches_lost, points, total,
       (select q.name from participants q where q.user_id = ranked.user_id order by q.created_at desc, q.id desc
        limit 1) as name
from ranked where place > $1 order by place limit $2";

impl Store {
    /// A page of the club leaderboard: the lines after `after` (a place).
    pub async fn leaderboard(&self, after: i64, limit: i64) -> Result<Vec<LeaderRow>, Error> {
        Ok(query_as(LEADERBOARD, (after, limit))
            .fetch_all(self.db.pool())
            .await?)
    }
}
