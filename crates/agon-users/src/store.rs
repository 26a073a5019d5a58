//! All SQL of the users service, written once for SQLite and PostgreSQL.

use agon_db::{AnyRow, Db, Row, Tx};
use uuid::Uuid;

use crate::{domain::Profile, error::Error};

#[derive(Clone)]
pub struct Store {
    db: Db,
}

const COLUMNS: &str = "user_id, email, display_name, bio, city, country, avatar_url, roles, status, created_at, updated_at";

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates the profile unless it exists (the event may be delivered again).
    pub async fn insert_profile(&self, tx: &mut Tx, p: &Profile) -> anyhow::Result<()> {
        sqlx::query(
            "insert into profiles (user_id, email, display_name, bio, roles, status, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $7) on conflict (user_id) do nothing",
        )
        .bind(p.user_id.to_string())
        .bind(&p.email)
        .bind(&p.display_name)
        .bind(&p.bio)
        .bind(p.roles.join(","))
        .bind(&p.status)
        .bind(&p.created_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub async fn profile(&self, user_id: Uuid) -> Result<Option<Profile>, Error> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from profiles where user_id = $1"
        )))
        .bind(user_id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(profile).transpose()
    }

    pub async fn update_profile(&self, p: &Profile) -> Result<(), Error> {
        sqlx::query(
            "update profiles set display_name = $2, bio = $3, city = $4, country = $5, avatar_url = $6, \
             updated_at = $7 where user_id = $1",
        )
        .bind(p.user_id.to_string())
        .bind(&p.display_name)
        .bind(&p.bio)
        .bind(p.city.clone())
        .bind(p.country.clone())
        .bind(p.avatar_url.clone())
        .bind(&p.updated_at)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

fn profile(row: &AnyRow) -> Result<Profile, Error> {
    let id: String = row.try_get("user_id")?;
    let roles: String = row.try_get("roles")?;
    Ok(Profile {
        user_id: id
            .parse()
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored id {id:?}: {e}")))?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        bio: row.try_get("bio")?,
        city: row.try_get("city")?,
        country: row.try_get("country")?,
        avatar_url: row.try_get("avatar_url")?,
        roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Filters of a user listing.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// Case-insensitive substring of the display name.
    pub name: Option<&'a str>,
    /// Case-insensitive city.
    pub city: Option<&'a str>,
    pub status: Option<&'a str>,
}

impl Store {
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Profiles matching `filter`, in id (creation) order after `after`.
    pub async fn search(
        &self,
        filter: &Filter<'_>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Profile>, Error> {
        let like = |v: Option<&str>| {
            v.map(|v| format!("%{}%", v.to_lowercase().replace(['%', '_'], "")))
                .unwrap_or_default()
        };
        let sql = format!(
            "select {COLUMNS} from profiles where user_id > $1 \
             and ($2 = '' or lower(display_name) like $2) and ($3 = '' or lower(coalesce(city, '')) = $3) \
             and ($4 = '' or status = $4) order by user_id limit $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after)
            .bind(like(filter.name))
            .bind(filter.city.map(str::to_lowercase).unwrap_or_default())
            .bind(filter.status.unwrap_or_default())
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter().map(profile).collect()
    }

    /// Writes the account-state columns of `p` inside `tx`.
    pub async fn save_state(
        &self,
        tx: &mut Tx,
        p: &Profile,
        ban_reason: Option<&str>,
    ) -> Result<(), Error> {
        sqlx::query("update profiles set status = $2, roles = $3, ban_reason = $4, updated_at = $5 where user_id = $1")
            .bind(p.user_id.to_string())
            .bind(&p.status)
            .bind(p.roles.join(","))
            .bind(ban_reason.map(str::to_owned))
            .bind(&p.updated_at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn delete_profile(&self, tx: &mut Tx, user_id: Uuid) -> Result<bool, Error> {
        let done = sqlx::query("delete from profiles where user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
