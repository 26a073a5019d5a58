//! The club leaderboard: every member's record across the club's tournaments.

use agon_kit::{AuthUser, Json, PageParams, Query};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{State, error::Error, store::LeaderRow};

pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::new().routes(routes!(leaderboard))
}

/// A member's line.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderView {
    /// 1 for the best; members level on points, tournaments won and matches won share a rank.
    pub rank: i64,
    pub user_id: Uuid,
    /// The name the member last entered a tournament with.
    pub name: String,
    /// Tournaments drawn with the member in them.
    pub tournaments_played: i64,
    pub tournaments_won: i64,
    /// Matches played and won or lost (walkovers and draws left out).
    pub matches_won: i64,
    pub matches_lost: i64,
    /// Matches won as a percentage of matches played, to one decimal (0 before any).
    pub win_rate: f64,
    /// 100 for each tournament won, 10 for each match won.
    pub points: i64,
}

impl From<LeaderRow> for LeaderView {
    fn from(r: LeaderRow) -> Self {
        let played = r.matches_won + r.matches_lost;
        let win_rate = if played == 0 {
            0.0
        } else {
            (r.matches_won as f64 * 1000.0 / played as f64).round() / 10.0
        };
        Self {
            rank: r.rank,
            user_id: r.user_id,
            name: r.name,
            tournaments_played: r.tournaments_played,
            tournaments_won: r.tournaments_won,
            matches_won: r.matches_won,
            matches_lost: r.matches_lost,
            win_rate,
            points: r.points,
        }
    }
}

/// A page of the leaderboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct Leaderboard {
    pub items: Vec<LeaderView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Members on the whole leaderboard.
    pub total: i64,
}

/// The club leaderboard across every tournament, best first (any member).
#[utoipa::path(get, path = "/tournaments/leaderboard", tag = "tournaments", security(("bearer" = [])),
    params(PageParams), responses((status = 200, body = Leaderboard), (status = 400), (status = 401)))]
async fn leaderboard(
    _auth: AuthUser,
    state: State,
    Query(page): Query<PageParams>,
) -> Result<Json<Leaderboard>, Error> {
    let after = page.after::<i64>()?.unwrap_or(0);
    let rows = state.store.leaderboard(after, page.fetch()).await?;
    let total = match rows.first() {
        Some(r) => r.total,
        // Past the last line: the size of the board still stands.
        None if after > 0 => (state.store.leaderboard(0, 1).await?.first()).map_or(0, |r| r.total),
        None => 0,
    };
    let page = page.page(rows, |r| r.place);
    Ok(Json(Leaderboard {
        items: page.items.into_iter().map(LeaderView::from).collect(),
        next_cursor: page.next_cursor,
        total,
    }))
}
